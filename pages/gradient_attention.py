"""Lesson section 4: gradient x attention, and which heads matter to one prediction."""
import numpy as np
import pandas as pd
import streamlit as st

from lessonkit.gradient_attention import along_for_the_ride, gradient_weighted_attention, head_scores, spearman
from lessonkit.transformer_classifier import LABELS
from ui.app_guard import require_app_navigation
from ui.charts.common import position_labels
from ui.charts.head_grid import layer_head_grid
from ui.charts.heatmap import heatmap
from ui.charts.layer_lines import ranking_scatter
from ui.check_yourself import check_yourself
from ui.classifier_cache import check_page_text, classifier_or_stop, sentence_ablation, sentence_gradients

require_app_navigation()

DEFAULT_TEXT = "The queue was long, but the staff were lovely and the coffee was great."
TARGET_CHOICES = ["the predicted class", *LABELS]

st.title("🎯 Gradient × attention")
st.markdown(
    "An attention map says where a head looked; it does not say whether that look mattered for the answer. "
    "One cheap way to ask is to weight each map by how sensitive the loss is to it:"
)
st.latex(r"\hat A_h = A_h \odot \left|\frac{\partial L}{\partial A_h}\right|")
st.markdown(
    "Here *L* is the cross-entropy of one class of our sentiment classifier (MiniLM, frozen, averaged over "
    "tokens, with a linear head trained on tweets). A head can draw a crisp pattern yet receive almost no "
    "gradient: its pattern is **along for the ride**. Below, the gradient view is checked against the "
    "ground truth of actually removing each head."
)

loaded, head = classifier_or_stop()

left, right = st.columns([3, 1])
text = left.text_input("Sentence for the classifier", DEFAULT_TEXT, key="ga_text", max_chars=2000)
target_choice = right.selectbox("Explain the loss of", TARGET_CHOICES, key="ga_target")
text = check_page_text(loaded, text)
if text is None:
    st.stop()
target = None if target_choice == TARGET_CHOICES[0] else LABELS.index(target_choice)
computed = sentence_gradients(loaded, head, text, target)
if computed is None:
    st.stop()
tokens, result = computed
labels = position_labels(tokens)
n_layers, n_heads = result.attn.shape[:2]

probabilities = ", ".join(f"{name} {p:.1%}" for name, p in zip(LABELS, result.probabilities))
st.markdown(
    f"**Prediction:** {LABELS[result.predicted]} ({probabilities}). "
    f"Gradients are of the loss of **{LABELS[result.target]}** (L = {result.loss:.4f})."
)

st.subheader("One head: its map and its gradient-weighted map")
controls = st.columns(3)
# Shown counted from 1, like everywhere in the app; `layer` and `head_index` are 0-based array indices.
layer = controls[0].slider("Layer", 1, n_layers, n_layers, key="ga_layer") - 1
head_index = controls[1].slider("Head", 1, n_heads, 1, key="ga_head") - 1
signed = controls[2].toggle(
    "Signed variant: max(A·∂L/∂A, 0)", value=False, key="ga_signed",
    help="Chefer et al. (2021) and the vit-explain code keep only the positive part of A times the gradient.",
)
weighted = gradient_weighted_attention(result.attn, result.grad, signed=signed)
weighted_name = "max(A·∂L/∂A, 0)" if signed else "A·|∂L/∂A|"
maps = st.columns(2)
maps[0].altair_chart(
    heatmap(result.attn[layer, head_index], labels, labels, title=f"Attention A, layer {layer + 1} head {head_index + 1}"),
    width="stretch", key="ga_chart_attn",
)
maps[1].altair_chart(
    heatmap(
        weighted[layer, head_index], labels, labels, value="weighted", scheme="oranges",
        title=f"{weighted_name}, layer {layer + 1} head {head_index + 1}",
    ),
    width="stretch", key="ga_chart_weighted",
)
st.caption(
    "Rows are output (query) positions, columns input (key) tokens. The right map keeps only the attention "
    "that the loss is sensitive to; its colour scale is its own (the gradient's size depends on the loss)."
)

st.subheader("Every head at once")
scores = head_scores(result.attn, result.grad)
signed_total = weighted.sum((-1, -2))
grids = st.columns(2)
grids[0].altair_chart(
    layer_head_grid(scores["concentration"], "concentration", "Pattern strength (attention only)", "blues"),
    width="stretch", key="ga_grid_concentration",
)
grids[1].altair_chart(
    layer_head_grid(signed_total, "weighted_total", f"Sum of {weighted_name} per head"),
    width="stretch", key="ga_grid_weighted",
)
st.caption(
    "Pattern strength = 1 − mean row entropy / log(number of tokens): 1 when every row puts all its weight "
    "on one token, 0 when rows are uniform. It uses no gradient at all."
)

st.subheader("Which ranking agrees with removing heads?")
ablation = sentence_ablation(loaded, head, text, result.target)
ride = along_for_the_ride(scores["concentration"], scores["gradient_weighted"])
layers_grid, heads_grid = np.indices((n_layers, n_heads))
frame = pd.DataFrame(
    {
        "name": [f"L{l + 1} H{h + 1}" for l, h in zip(layers_grid.ravel(), heads_grid.ravel())],
        "layer": layers_grid.ravel() + 1,
        "head": heads_grid.ravel() + 1,
        "ablation_change": ablation.ravel(),
        "gradient_weighted": scores["gradient_weighted"].ravel(),
        "concentration": scores["concentration"].ravel(),
        "taylor": scores["taylor"].ravel(),
        "role": np.where(ride.ravel(), "along for the ride", "other"),
    }
)
truth = np.abs(ablation)
metrics = st.columns(3)
metrics[0].metric("Gradient × attention vs ablation (Spearman)", f"{spearman(scores['gradient_weighted'], truth):+.2f}")
metrics[1].metric("Pattern strength vs ablation (Spearman)", f"{spearman(scores['concentration'], truth):+.2f}")
metrics[2].metric("Taylor estimate vs ablation (Spearman)", f"{spearman(scores['taylor'], truth):+.2f}")
st.caption(
    f"Ground truth: the change of the loss of {LABELS[result.target]} when one head's weights are set to zero "
    "(through our own attention function; transformers 5 ignores head_mask), ranked by its size. "
    "Taylor estimate = |Σ A·∂L/∂A|, the first-order prediction of that change (Michel et al. 2019 use its "
    f"average over a data set). {int(ride.sum())} heads are marked along for the ride: in the top third by "
    "pattern strength but the bottom third by gradient × attention."
)
charts = st.columns(2)
charts[0].altair_chart(
    ranking_scatter(frame, "gradient_weighted", "gradient × attention"), width="stretch", key="ga_scatter_grad"
)
charts[1].altair_chart(ranking_scatter(frame, "concentration", "pattern strength"), width="stretch", key="ga_scatter_conc")

table = frame.assign(
    rank_by_ablation=truth.ravel().argsort()[::-1].argsort() + 1,
    rank_by_gradient=frame["gradient_weighted"].to_numpy().argsort()[::-1].argsort() + 1,
    rank_by_pattern=frame["concentration"].to_numpy().argsort()[::-1].argsort() + 1,
).sort_values("rank_by_ablation")
st.dataframe(
    table[["name", "role", "ablation_change", "rank_by_ablation", "rank_by_gradient", "rank_by_pattern"]],
    width="stretch", hide_index=True, key="ga_table",
)
st.markdown(
    "All numbers here are for this one sentence and one model (MiniLM + our head on tweets). Try a few "
    "other sentences: an agreement that holds for one input can vanish for the next, which is why the "
    "faithfulness page measures it over many test tweets."
)

check_yourself(section=4, key_prefix="gradient_attention_check")
