"""Which attention view is faithful? Measured against blank-out and input gradients (optional deep dive)."""
import pandas as pd
import streamlit as st

from lessonkit.faithfulness import (
    REFERENCE_NAMES,
    REFERENCES,
    ResultsFileError,
    agreement_by_layer,
    best_attention_view,
    last_layer,
    load_results,
    method_name,
    overall_agreement,
    published_table,
    relative_spread,
    sentence_correlations,
    sentence_methods,
    token_shares,
)
from ui import explanations as ex
from ui import session_keys as keys
from ui.app_guard import require_app_navigation
from ui.charts.common import position_labels, show_chart
from ui.charts.layer_lines import agreement_by_layer_chart
from ui.charts.token_bars import method_bars, token_bars
from ui.check_yourself import check_yourself
from ui.models import classifier_or_stop
from ui.url_state import link_to_this_view

require_app_navigation()
SOURCES = {"ours": "ours: MiniLM + our head, tweets (solid)",
           "Abnar & Zuidema": "Abnar & Zuidema: their agreement model (dashed)"}


def claim() -> None:
    st.title("🔬 Which view is faithful?")
    st.markdown(
        "**The claim:** no attention view is faithful by construction. Whether raw attention, rollout, flow or "
        "gradient × attention tracks what the model uses has to be *measured*, model by model. Here each view's "
        "token ranking is compared with two yardsticks: **blank-out** (hide one token, see how much the "
        "predicted probability moves) and **input gradients** (how sensitive the prediction is to each token's "
        "embedding), by Spearman's ρ: 1 = the same order, 0 = no relation."
    )
    st.caption("Optional deep dive. [CLS] and [SEP] are left out of every correlation; the classifier averages "
               "all token states, so attention, rollout and flow are read as the mean over output positions.")


def one_sentence():
    st.header("One sentence")
    loaded, head = classifier_or_stop()
    ex.seed_from_url(ex.FA_TEXT, keys.FA_TEXT)
    text = st.text_input("Sentence for the classifier", key=keys.FA_TEXT, max_chars=2000)
    checked = ex.check_page_text(loaded, text, limit=ex.FAITHFULNESS_TOKEN_LIMIT)
    if checked is None:  # the saved measurement below still shows
        return text, None
    importance = ex.sentence_importance(loaded, head, checked)
    ex.show_prediction(importance.probabilities, importance.predicted, checked, ex.FAITHFULNESS_EXAMPLES)
    n_layers = loaded.facts.n_layers
    methods = sentence_methods(n_layers)
    labels = position_labels(importance.tokens)
    show_chart(token_bars(pd.DataFrame(token_shares(importance, methods, labels)),
                               "Each view's token importance (scaled to sum to 1 over the words)",
                               value_title="share"), width="stretch", key="fa_tokens")
    rows = sentence_correlations(importance, methods)
    if rows:
        show_chart(method_bars(pd.DataFrame(rows), "Spearman ρ with each yardstick, this sentence",
                                    group="yardstick"), width="stretch", key="fa_sentence_corr")
    else:
        st.info("This sentence has too few words (or constant scores) for a rank correlation.", icon="ℹ️")
    spreads = {m: relative_spread(importance, m) for m in (f"raw_L{n_layers}", f"flow_L{n_layers}", "blank_out")}
    st.markdown(
        f"Look at how flat the views are: over the words, flow's largest score exceeds its smallest by "
        f"{spreads[f'flow_L{n_layers}']:.0%} of its mean, raw attention's by {spreads[f'raw_L{n_layers}']:.0%}, "
        f"blank-out's by {spreads['blank_out']:.0%}. A near-flat ranking is decided by small differences, which "
        "is one reason rollout and flow agree little with blank-out on this model."
    )
    return checked, rows


def try_this(rows) -> None:
    if not rows:  # no sentence scored: nothing live to point at
        return
    best = max(rows, key=lambda r: r["spearman"])
    st.info(
        f"**Try this.** On this sentence the closest match is **{best['method']}** with {best['yardstick']} "
        f"(ρ = {best['spearman']:+.2f}). Type another tweet and watch the winner change: one sentence is a "
        "noisy sample, which is why the section below averages hundreds.",
        icon="👉",
    )


def over_test_tweets():
    st.header("Over test tweets")
    try:
        saved = load_results()
    except ResultsFileError as error:
        st.info(str(error), icon="📭")
        return None
    ex.seed_from_url(ex.FA_REFERENCE, keys.FA_REFERENCE)
    reference = st.radio("Compare with", REFERENCES, format_func=REFERENCE_NAMES.get, key=keys.FA_REFERENCE,
                         horizontal=True)
    n_layers = last_layer(saved)
    st.markdown(f"**{saved.n_sentences} test tweets**, {saved.model}; the head is right on "
                f"{saved.accuracy_on_sample:.0%} of them. "
                f"Means of per-tweet Spearman correlations with {REFERENCE_NAMES[reference]}:")
    frame = pd.DataFrame(agreement_by_layer(saved, reference))
    published = reference == "blank_out"
    show_chart(agreement_by_layer_chart(frame, f"Agreement with {REFERENCE_NAMES[reference]} by layer",
                                             SOURCES if published else {"ours": SOURCES["ours"]}),
                    width="stretch", key="fa_by_layer")
    show_chart(method_bars(pd.DataFrame(overall_agreement(saved, reference, n_layers)),
                                f"Last layer and gradient methods vs {REFERENCE_NAMES[reference]} (ours)"),
                    width="stretch", key="fa_overall")
    best = best_attention_view(saved, reference)
    raw, roll, flow, gxa = (saved.summary.get(m, {}).get(reference) for m in
                            (f"raw_L{n_layers}", f"rollout_L{n_layers}", f"flow_L{n_layers}", "grad_x_attention"))
    if best is not None:
        st.markdown(
            f"**What we measured:** the attention-only view closest to {REFERENCE_NAMES[reference]} is "
            f"{method_name(best[0])} ({best[1].mean:+.2f}, spread ±{best[1].std:.2f} from tweet to tweet)."
            + (f" Gradient × attention reaches {gxa.mean:+.2f}." if gxa is not None and gxa.mean is not None else "")
        )
    if published and None not in (raw, roll, flow):
        st.markdown(
            f"**The surprise:** in Abnar & Zuidema's agreement model (dashed) rollout and flow beat raw attention. "
            f"Here layer {n_layers}'s raw attention ({raw.mean:+.2f}) beats rollout ({roll.mean:+.2f}) and flow "
            f"({flow.mean:+.2f}). Rollout and flow pile most of every row onto [CLS] and spread the rest almost "
            "evenly over the words, and they ignore what the classifier's head reads; blank-out measures exactly "
            "that. Their own DistilBERT numbers (table) were low for every view too."
        )
    elif not published:
        st.caption("Abnar & Zuidema report no input-gradient numbers, so only ours are drawn.")
    st.markdown("**Published (Abnar & Zuidema 2020), Spearman ρ with blank-out**")
    st.dataframe(pd.DataFrame(published_table()), hide_index=True, width="stretch", key="fa_published")
    st.caption(f"Measured by scripts/compute_faithfulness.py in {saved.seconds:.0f} s ({saved.data}).")
    return reference


claim()
guide = st.container()
text, rows = one_sentence()
with guide:
    try_this(rows)
reference = over_test_tweets()
view = {ex.FA_TEXT: text or ""} | ({ex.FA_REFERENCE: reference} if reference else {})
ex.write_url(view)
link_to_this_view("faithfulness", view)
check_yourself(section=8, key_prefix="faithfulness_check")
