"""Lesson section 3: is attention an explanation? Jain & Wallace (2019) live, and Wiegreffe & Pinter's reply."""
from __future__ import annotations

import streamlit as st

from lessonkit.analysis import InputError, check_text
from lessonkit.explanation_stats import ExplanationStats, ExplanationStatsError, load_explanation_stats
from lessonkit.jain_wallace import MAX_TOKENS, OUTPUT_TOLERANCE
from ui import jain_wallace_lab as lab
from ui import models, presenter, session_keys
from ui.app_guard import require_app_navigation
from ui.charts import jain_wallace as charts
from ui.charts.common import show_chart
from ui.check_yourself import check_yourself
from ui.markdown import md_escape
from ui.summary_numbers import remember
from ui.url_state import link_to_this_view

require_app_navigation()

PAGE = "pages/not_explanation.py"
st.title("⚖️ Is attention an explanation?")

loaded = models.get_model()
model_name = loaded.facts.name if loaded is not None else "the transformer"
n_layers = loaded.facts.n_layers if loaded is not None else 1
n_heads = loaded.facts.n_heads if loaded is not None else 1
lab.apply_url_once(n_layers, n_heads)
stats: ExplanationStats | None = None
stats_problem = ""
try:
    stats = load_explanation_stats()
except ExplanationStatsError as error:  # the rest of the page works without it
    stats_problem = str(error)
CHOICE_NAMES = {
    lab.BILSTM: "BiLSTM + one additive attention (Jain & Wallace's setting)",
    lab.TRANSFORMER: f"{model_name} + sentiment head (a transformer)",
}


def claim_and_try_this() -> None:
    st.markdown(
        "**The claim.** An attention map shows where a model looked, not *why* it decided. Jain & Wallace "
        "(2019) found that you can often shuffle the attention, or swap in very different weights, and the "
        "prediction barely moves."
    )
    default = lab.bilstm_lab(lab.DEFAULT_TEXT, show_error=False)
    with st.container(border=True):
        st.markdown("**Try this**")
        if default is not None:
            result = default[0]
            st.markdown(
                f"1. Keep the default review and the BiLSTM: it predicts **{lab.label_of(result.base_output)}** "
                f"(P(positive) = {result.base_output:.3f}). 100 shuffles of its attention move that by a median of "
                f"only **{result.permutation.median_change:.3f}**, and an adversary finds attention "
                f"**{result.adversarial.jsd:.2f} nats** away (ln 2 ≈ 0.69 is the most) that moves it by at most "
                f"{OUTPUT_TOLERANCE}.\n"
                "2. Pick a held-out tweet: do the numbers change?\n"
                f"3. Switch to {md_escape(model_name)} and count the shuffles that flip the label (BiLSTM: "
                f"{result.permutation.flips} of 100); then try layer 1. Read why they differ before concluding."
            )
            remember("jain_wallace_permutation",
                     f"Shuffling the BiLSTM's attention moved P(positive) by a median of "
                     f"{result.permutation.median_change:.3f}; an adversary found attention "
                     f"{result.adversarial.jsd:.2f} nats away with the same prediction.", PAGE)
        else:
            st.markdown(f"Pick the transformer below ({md_escape(model_name)}) and shuffle its attention.")


def controls() -> tuple[str, str, int, tuple[int, ...]]:
    tweets = lab.held_out_tweets()
    if tweets:
        st.selectbox("Start from a held-out tweet (optional)", [t for t, _ in tweets], index=None,
                     key=session_keys.NE_EXAMPLE, placeholder="choose one, or type your own below",
                     on_change=lab.use_example)
    st.session_state.setdefault(session_keys.NE_TEXT, lab.DEFAULT_TEXT)
    text = st.text_area("Sentence or tweet", key=session_keys.NE_TEXT, height=80, on_change=lab.text_edited)
    choice = st.radio("Classifier", list(CHOICE_NAMES), format_func=CHOICE_NAMES.get,
                      key=session_keys.NE_MODEL, horizontal=True)
    layer, heads = n_layers, tuple(range(1, n_heads + 1))
    # Streamlit forgets a hidden widget's value: the last layer and every head again when it comes back
    st.session_state.setdefault(session_keys.NE_LAYER, n_layers)
    st.session_state.setdefault(session_keys.NE_HEADS, list(heads))
    if choice == lab.TRANSFORMER and loaded is not None:
        left, right = st.columns([1, 3])
        layer = left.selectbox("Layer", list(range(1, n_layers + 1)), key=session_keys.NE_LAYER)
        heads = tuple(sorted(right.multiselect("Heads to perturb", list(range(1, n_heads + 1)),
                                               key=session_keys.NE_HEADS)))
    values = lab.write_url(n_layers, n_heads)
    link_to_this_view(lab.URL_PATH, values)
    return text, choice, int(layer), heads


def live_lab() -> None:
    st.subheader("The lab: shuffle it, then let an adversary rewrite it")
    text, choice, layer, heads = controls()
    try:
        clean = check_text(text)
    except InputError as error:
        st.warning(str(error), icon="✏️")
        return
    if choice == lab.BILSTM:
        found = lab.bilstm_lab(clean)
        what, note = "attention weight", "the BiLSTM"
    elif loaded is None or (head := models.get_sentiment_head(loaded)) is None:
        st.info(f"The transformer part needs {md_escape(model_name)} and a sentiment head (see above); "
                "the BiLSTM still works.", icon="ℹ️")
        return
    elif not heads:
        st.warning("Pick at least one head to perturb.", icon="✏️")
        return
    else:
        found = lab.transformer_lab(loaded, head, clean, layer - 1, tuple(h - 1 for h in heads))
        what = f"attention received (layer {layer}, {len(heads)} head(s))"
        note = f"{md_escape(model_name)}, layer {layer}, {len(heads)} head(s)"
    if found is None:
        return
    result, truncated = found
    if truncated:
        st.warning(f"Long input: only the first {MAX_TOKENS} tokens are used here.", icon="✂️")
    if lab.all_unknown(result.tokens):
        st.info("The vocabulary knows none of these characters (they all became unknown tokens); "
                "try an English sentence.", icon="ℹ️")
    wrong = lab.wrong_prediction(result.base_output, clean)
    if wrong:
        st.warning(wrong, icon="❗")

    perm = result.permutation
    st.markdown("**1 · Shuffle the attention 100 times**")
    m1, m2, m3 = st.columns(3)
    m1.metric(f"P(positive) → {lab.label_of(result.base_output)}", f"{result.base_output:.3f}")
    m2.metric("Median |change|, 100 shuffles", f"{perm.median_change:.4f}")
    m3.metric("Shuffles flipping the label", f"{perm.flips} / {len(perm.outputs)}")
    show_chart(charts.permutation_histogram(perm.changes, perm.median_change), width="stretch")
    st.caption(f"Model: {note}. Each shuffle keeps the same weights and moves them to other tokens; "
               "the red line is the median.")
    if choice == lab.TRANSFORMER:
        st.caption(f"{perm.flips} of 100 shuffles flipped the label. One shuffle here scrambles every row of "
                   f"{len(heads)} head(s) of layer {layer} at once, not one attention vector: see below.")
        with st.expander(f"Why shuffles can flip {md_escape(model_name)}'s label (up to 100 of 100), and what "
                         "that does and does not show"):
            st.markdown(
                "**What is shuffled.** Jain & Wallace shuffle *one* attention vector: the BiLSTM's single "
                "additive attention, which mixes encoder states that already carry their context. Here, "
                f"\"the attention\" is every query row of the chosen heads in one layer of a "
                f"{n_layers}-layer transformer: each token's row is scrambled, so every token gathers "
                "unrelated information, and the layers above (and the mean pooling) build on that.\n\n"
                "**What it shows.** The transformer's output depends on *which* token gets which weight: "
                "its attention is not interchangeable in the way J&W found for BiLSTMs.\n\n"
                "**What it does not show.** That the weights are an explanation. The adversary below still "
                "finds very different attention with the same output, and a shuffle this large is "
                "not J&W's test: it breaks the whole layer, not one summary of importance."
            )

    adv = result.adversarial
    st.markdown("**2 · An adversary rewrites the attention**")
    m1, m2, m3 = st.columns(3)
    m1.metric("JSD from the learned attention", f"{adv.jsd:.3f}",
              help="Jensen-Shannon divergence in nats; ln 2 ≈ 0.693 means no overlap at all.")
    m2.metric(f"P(positive), adversarial → {lab.label_of(adv.output)}", f"{adv.output:.3f}")
    m3.metric("|change in P(positive)|", f"{adv.change:.4f}", help=f"Allowed: at most {OUTPUT_TOLERANCE}.")
    show_chart(charts.learned_vs_adversarial(result.tokens, result.learned, result.adversarial_received, what),
               width="stretch")
    with st.expander("How the adversary searches"):
        st.markdown(
            "Several starting points (half near the learned attention, half random) are optimised together "
            "with Adam to push the attention as far (in JSD) from the learned one as possible, with a steep "
            f"penalty once the output moves by more than {OUTPUT_TOLERANCE}. The farthest candidate that "
            f"never broke that limit is kept. This run: {adv.steps_run} steps in {adv.seconds:.1f} s; best "
            f"JSD per start {', '.join(f'{j:.2f}' for j in adv.restart_jsds)}."
        )

    st.markdown("**3 · Two blunt contrasts**")
    st.dataframe(lab.contrasts_table(result), hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.4f")
                                for c in ("P(positive)", "|change|", "JSD from learned")})
    st.caption("Removing a token sets its attention to zero and renormalises; the token stays in the input.")


def reply() -> None:
    st.subheader("Wiegreffe & Pinter's reply: “attention is not not explanation”")
    if stats is None:
        st.info(stats_problem, icon="ℹ️")
        return
    b = stats.bilstm
    seed_jsd = b.summary.median_seed_jsd or float("nan")
    m1, m2, m3 = st.columns(3)
    m1.metric("BiLSTM, learned attention", f"{b.held_out_accuracy:.1%}")
    m2.metric("Attention frozen uniform", f"{b.uniform_held_out_accuracy:.1%}",
              f"{(b.uniform_held_out_accuracy - b.held_out_accuracy) * 100:+.1f} points")
    m3.metric("Second training seed", f"{b.seed2_held_out_accuracy:.1%}")
    st.markdown(
        "- **Uniform baseline.** If equal weights do as well, attention is doing little, and there is little "
        "for it to explain (held-out accuracy above).\n"
        f"- **Seed variance.** Two seeds of the same BiLSTM already differ by a median JSD of {seed_jsd:.2f}; "
        f"the adversary reaches {b.summary.median_adversarial_jsd:.2f}. “Different” must beat that spread.\n"
        "- **An adversary is not a model.** It tunes one sentence's attention with the network fixed. The fair "
        "test is a whole model trained to keep the predictions with different attention. So the adversary "
        "shows attention is not the *only* route to the output, not that it is meaningless."
    )
    st.markdown(
        "**Both are right:** attention alone is not a faithful account; check what it suggests with a second "
        "method (gradients, leave-one-out, ablation) before calling it an explanation."
    )
    show_chart(charts.jsd_histograms(lab.seed_vs_adversary_frame(stats)), width="stretch")


def test_set() -> None:
    with st.expander("Optional deep dive: the same tests over held-out tweets"):
        if stats is None:
            st.info(stats_problem, icon="ℹ️")
            return
        t = stats.transformer
        st.markdown(
            f"{stats.bilstm.summary.n_sentences} held-out tweets for the BiLSTM, {t.summary.n_sentences} for "
            f"MiniLM (layer {t.layer + 1}, all {len(t.heads)} heads; attention per token = attention received). "
            "Importance of a token: its attention, |gradient · embedding|, and the change when it is left out. "
            "Kendall tau: mean ± std (share of sentences significant at p ≤ 0.05)."
        )
        st.dataframe(lab.tau_table(stats, "MiniLM"), hide_index=True, width="stretch")
        frame = lab.sentence_frame(stats)
        show_chart(charts.against_largest_weight(frame, "adversarial_jsd", "largest JSD within the tolerance"),
                   width="stretch")
        show_chart(charts.against_largest_weight(frame, "permutation_median_change", "median |change|, 100 shuffles"),
                   width="stretch")
        st.caption("Jain & Wallace plot the same two things for their BiLSTMs: where attention is peaked (right), "
                   "does the adversary still get far, and do shuffles start to matter?")
        n_sample = st.slider("Recompute on the first tweets (sentences)", 3, 20, 5, key=session_keys.NE_SAMPLE_N)
        if st.button("Recompute now", key=session_keys.NE_RECOMPUTE):
            summaries = lab.recompute_sample(loaded, n_sample)
            st.dataframe(lab.sample_table(summaries, model_name), hide_index=True, width="stretch")
            st.caption(f"The first {n_sample} held-out tweets only: expect these to wander around the saved values.")


def check() -> None:
    st.caption("Sources: Jain & Wallace, “Attention is not Explanation”, NAACL 2019; Wiegreffe & Pinter, "
               "“Attention is not not Explanation”, EMNLP 2019. “Ours” = models trained in this repository on tweets.")
    check_yourself(section=3, key_prefix="not_explanation_check")


presenter.reveal("not_explanation", [claim_and_try_this, live_lab, reply, test_set, check])
