"""Which attention view is faithful? Measured against blank-out and input gradients."""
import json
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from lessonkit.faithfulness import (
    PUBLISHED_DISTILBERT_SST2,
    PUBLISHED_SVA,
    REFERENCES,
    method_family,
    token_importance,
)
from lessonkit.gradient_attention import encode_text
from lessonkit.transformer_classifier import LABELS
from ui.app_guard import require_app_navigation
from ui.charts.common import position_labels
from ui.charts.token_bars import token_bars
from ui.classifier_cache import check_page_text, classifier_or_stop, head_key

require_app_navigation()

RESULT_FILE = Path(__file__).resolve().parent.parent / "results" / "faithfulness.json"
PAGE_TOKEN_LIMIT = 40  # flow to every position is n^2 max-flows
DEFAULT_TEXT = "ugh my flight got cancelled again, worst airline ever"
REFERENCE_NAMES = {"blank_out": "blank-out", "input_gradient": "input gradients"}
OURS = "ours: MiniLM + our head, tweets"
THEIRS = "Abnar & Zuidema: subject-verb agreement model"


@st.cache_data(show_spinner=False)
def load_result(path: str, modified: float) -> dict:
    return json.loads(Path(path).read_text())


@st.cache_data(max_entries=32, show_spinner="Scoring every token six ways…")
def cached_importance(_loaded, _head, model_source: str, head_id: str, text: str):
    encoded, tokens, _ = encode_text(_loaded, text)
    return token_importance(_loaded, _head, encoded, tokens)


def layer_of(method: str) -> int | None:
    return int(method.split("_L")[1]) if "_L" in method else None


st.title("⚖️ Which view is faithful?")
st.markdown(
    "Attention maps, rollout, flow and gradient × attention all promise to say which input tokens mattered. "
    "Here they are put to a test instead of being taken on trust. Two yardsticks stand in for the truth: "
    "**blank-out** (hide one token from the classifier and see how much the predicted probability moves) and "
    "**input gradients** (how sensitive the loss is to each token's embedding). For each method we rank the "
    "tokens and compute Spearman's correlation with each yardstick: 1 means the same order, 0 no relation."
)
st.caption(
    "Blank-out here masks the token with the attention mask: no position can attend to it and the classifier's "
    "average over tokens skips it. The classifier reads the average of all token states, so attention, rollout "
    "and flow are read as the average over all output positions, not only the [CLS] row. [CLS] and [SEP] are "
    "left out of every correlation."
)

st.header("Over test tweets")
if not RESULT_FILE.is_file():
    st.info(
        "No saved measurement yet. Create it with `python -m scripts.compute_faithfulness` "
        f"(it writes {RESULT_FILE.name} under results/).",
        icon="📭",
    )
else:
    result = load_result(str(RESULT_FILE), RESULT_FILE.stat().st_mtime)
    reference = st.radio(
        "Compare with", REFERENCES, format_func=REFERENCE_NAMES.get, key="fa_reference", horizontal=True
    )
    summary = result["summary"]
    st.markdown(
        f"**{result['n_sentences']} test tweets**, model {result['model']}; the head's accuracy on these tweets: "
        f"{result['accuracy_on_sample']:.0%}. Means of per-tweet Spearman correlations with "
        f"{REFERENCE_NAMES[reference]}:"
    )
    rows = []
    for method, by_reference in summary.items():
        cell = by_reference[reference]
        if cell["mean"] is None or layer_of(method) is None:
            continue
        rows.append({"family": method_family(method), "layer": layer_of(method), "spearman": cell["mean"],
                     "std": cell["std"], "tweets": cell["n"], "source": OURS})
    if reference == "blank_out":
        for family, by_layer in PUBLISHED_SVA.items():
            rows += [{"family": family, "layer": layer, "spearman": value, "std": None, "tweets": 2000,
                      "source": THEIRS} for layer, value in by_layer.items()]
    by_layer = pd.DataFrame(rows)
    chart = (
        alt.Chart(by_layer, title=f"Agreement with {REFERENCE_NAMES[reference]} by layer")
        .mark_line(point=True)
        .encode(
            x=alt.X("layer:O", title="layer"),
            y=alt.Y("spearman:Q", title="mean Spearman ρ", scale=alt.Scale(domain=[-0.2, 1])),
            color=alt.Color(
                "family:N", title="method",
                scale=alt.Scale(domain=["raw attention", "rollout", "flow"], range=["#e6550d", "#756bb1", "#31a354"]),
            ),
            strokeDash=alt.StrokeDash(
                "source:N", title="model", scale=alt.Scale(domain=[OURS, THEIRS], range=[[1, 0], [6, 4]])
            ),
            tooltip=["source:N", "family:N", "layer:O", alt.Tooltip("spearman:Q", format="+.3f"),
                     alt.Tooltip("std:Q", format=".3f"), "tweets:Q"],
        )
        .properties(height=340)
    )
    st.altair_chart(chart, width="stretch", key="fa_by_layer")

    others = [
        {"method": REFERENCE_NAMES.get(m, m.replace("_", " ")), "spearman": summary[m][reference]["mean"],
         "std": summary[m][reference]["std"], "tweets": summary[m][reference]["n"]}
        for m in ["grad_x_attention", "raw_L6", "rollout_L6", "flow_L6", *REFERENCES]
        if m in summary and m != reference and summary[m][reference]["mean"] is not None
    ]
    overall = pd.DataFrame(others)
    bars = (
        alt.Chart(overall, title=f"Last layer and gradient methods vs {REFERENCE_NAMES[reference]} (ours)")
        .mark_bar()
        .encode(
            x=alt.X("spearman:Q", title="mean Spearman ρ"),
            y=alt.Y("method:N", sort="-x", title=None),
            tooltip=["method:N", alt.Tooltip("spearman:Q", format="+.3f"), alt.Tooltip("std:Q", format=".3f"), "tweets:Q"],
        )
        .properties(height=40 * len(overall) + 40)
    )
    st.altair_chart(bars, width="stretch", key="fa_overall")
    published = pd.DataFrame(
        [
            {"model": "A&Z subject-verb agreement", "method": family,
             "L1 / L3 / L5 / L6": " / ".join(f"{by_layer_values[l]:+.2f}" for l in (1, 3, 5, 6))}
            for family, by_layer_values in PUBLISHED_SVA.items()
        ]
        + [
            {"model": "A&Z DistilBERT on SST-2", "method": family, "L1 / L3 / L5 / L6": f"{low:.2f} to {high:.2f}"}
            for family, (low, high) in PUBLISHED_DISTILBERT_SST2.items()
        ]
    )
    st.markdown("**Published (Abnar & Zuidema 2020), Spearman correlation with blank-out**")
    st.dataframe(published, hide_index=True, width="stretch", key="fa_published")
    st.caption(
        "Their first model is a small subject-verb agreement model (2,000 examples); on DistilBERT fine-tuned on "
        "SST-2 (100 examples) every method stayed low. The numbers are theirs, for their models."
    )
    attention_methods = [m for m in summary if layer_of(m) is not None and summary[m][reference]["mean"] is not None]
    best = max(attention_methods, key=lambda m: summary[m][reference]["mean"])
    gradient_line = ""
    if reference == "blank_out" and summary.get("grad_x_attention", {}).get(reference, {}).get("mean") is not None:
        gradient_line = (
            f" Gradient × attention reaches {summary['grad_x_attention'][reference]['mean']:+.2f} and input "
            f"gradients {summary['input_gradient'][reference]['mean']:+.2f}."
        )
    st.markdown(
        f"**What we measured:** on our classifier the attention-only view that agrees best with "
        f"{REFERENCE_NAMES[reference]} is {method_family(best)} of layer {layer_of(best)} "
        f"({summary[best][reference]['mean']:+.2f} on average, with a spread of ±{summary[best][reference]['std']:.2f} "
        f"from tweet to tweet).{gradient_line} Rollout and flow are not automatically better than a single layer: "
        "compare the solid lines (ours) with the dashed ones (their agreement model), and with their DistilBERT "
        "numbers in the table."
    )
    st.caption(
        f"Measured by scripts/compute_faithfulness.py in {result['seconds']:.0f} s ({result['data']}). "
        "Flow was computed for layers 1, 3, 5 and 6 (the layers in the published table)."
    )

st.header("One sentence")
loaded, head = classifier_or_stop()
text = st.text_input("Sentence for the classifier", DEFAULT_TEXT, key="fa_text", max_chars=2000)
text = check_page_text(loaded, text, limit=PAGE_TOKEN_LIMIT)
if text is None:
    st.stop()
importance = cached_importance(loaded, head, loaded.facts.source, head_key(), text)
n_layers = loaded.facts.n_layers
st.markdown(
    f"**Prediction:** {LABELS[importance.predicted]} ({importance.probabilities[importance.predicted]:.1%})."
)
correlations = importance.correlations()
chosen = [f"raw_L{n_layers}", f"rollout_L{n_layers}", f"flow_L{n_layers}", "grad_x_attention", *REFERENCES]
labels = position_labels(importance.tokens)
content = np.flatnonzero(importance.content)
token_rows = []
for method in chosen:
    values = importance.scores[method][content]
    total = values.sum()
    for position, value in zip(content, values):
        token_rows.append({"method": method.replace("_", " "), "position": int(position), "label": labels[position],
                           "share": float(value / total) if total > 0 else 0.0})
st.altair_chart(
    token_bars(pd.DataFrame(token_rows), "Each method's token importance (scaled to sum to 1 over the words)"),
    width="stretch", key="fa_tokens",
)
corr_rows = [
    {"method": method.replace("_", " "), "yardstick": REFERENCE_NAMES[reference], "spearman": correlations[method][reference]}
    for method in chosen
    for reference in REFERENCES
    if method != reference and correlations[method][reference] == correlations[method][reference]
]
if corr_rows:
    st.altair_chart(
        alt.Chart(pd.DataFrame(corr_rows), title="Spearman ρ for this sentence")
        .mark_bar()
        .encode(
            x=alt.X("spearman:Q", title="Spearman ρ", scale=alt.Scale(domain=[-1, 1])),
            y=alt.Y("method:N", title=None),
            yOffset=alt.YOffset("yardstick:N"),
            color=alt.Color("yardstick:N"),
            tooltip=["method:N", "yardstick:N", alt.Tooltip("spearman:Q", format="+.3f")],
        )
        .properties(height=300),
        width="stretch", key="fa_sentence_corr",
    )
else:
    st.info("This sentence has too few words (or constant scores) for a rank correlation.", icon="ℹ️")
st.markdown(
    "One sentence is a noisy sample: the ranking can swing a lot from one tweet to the next. The averages "
    "above are what to compare with the published table, and even those hold only for this model and data."
)
