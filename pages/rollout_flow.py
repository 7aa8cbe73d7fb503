"""Lesson section 5: attention rollout and attention flow (Abnar & Zuidema 2020)."""
import time

import numpy as np
import pandas as pd
import streamlit as st

from lessonkit.attention_flow import attention_flow, normalise_rows
from lessonkit.rollout import (
    FUSIONS,
    attention_rollout,
    discard_lowest,
    fuse_heads,
    gradient_weighted_rollout,
    residual_matrices,
)
from ui.app_guard import require_app_navigation
from ui.charts.common import position_labels
from ui.charts.heatmap import heatmap
from ui.charts.layer_lines import line_by_layer
from ui.charts.token_bars import token_bars
from ui.check_yourself import check_yourself
from ui.classifier_cache import check_page_text, get_classifier_head, sentence_gradients
from ui.markdown import md_escape
from ui.models import analyse, get_model

require_app_navigation()

DEFAULT_TEXT = "The movie was not bad at all, honestly."
SOURCES = ["Plain MiniLM", "MiniLM sentiment classifier"]


@st.cache_data(max_entries=256, show_spinner="Computing max-flows through the attention graph…")
def cached_flow_row(
    _per_layer: np.ndarray, model_source: str, text: str, fusion: str, discard: float, layer: int, position: int
) -> tuple[np.ndarray, float]:
    """Flow into one output position after ``layer`` layers (n max-flows), and the seconds it took."""
    start = time.perf_counter()
    row = attention_flow(_per_layer[:layer], [position])[0]
    return row, time.perf_counter() - start


st.title("🌊 Attention rollout and attention flow")
st.markdown(
    "A single layer's attention only tells you how positions mix **within that layer**. Each block also "
    "adds its input back (the residual connection), and later layers mix the already-mixed states again. "
    "Abnar & Zuidema (2020) proposed two ways to follow input tokens through all layers:"
)
st.markdown(
    "- **Rollout**: fuse the heads of each layer into one matrix, model the residual as (A + I)/2, make "
    "every row add up to 1 again, and multiply the layers' matrices together:"
)
st.latex(r"\tilde A_l = \operatorname{rownorm}\!\left(\tfrac{1}{2}(\bar A_l + I)\right), \qquad R_l = \tilde A_l\, R_{l-1}")
st.markdown(
    "- **Flow**: treat the stacked layers as a network of pipes whose capacities are those same matrices, "
    "and ask how much can flow from an input token to an output position at once (a maximum flow). "
    "Unlike rollout, a path is limited by its narrowest pipe instead of the product of its weights."
)

loaded = get_model()
if loaded is None:
    st.stop()

top = st.columns([3, 2])
text = top[0].text_input("Sentence", DEFAULT_TEXT, key="rf_text", max_chars=2000)
source = top[1].radio("Model", SOURCES, key="rf_source", horizontal=True)
st.caption(
    "Both choices use the same MiniLM encoder: the classifier keeps it frozen and only adds a linear head on "
    "the averaged token states, so its attention maps are identical. The classifier adds one thing here: "
    "gradients, for the gradient-weighted rollout."
)
text = check_page_text(loaded, text)
if text is None:
    st.stop()
sentence = analyse(loaded, text)
if sentence is None:
    st.stop()
labels = position_labels(sentence.tokens)
n_layers = sentence.attn.shape[0]

controls = st.columns(4)
fusion = controls[0].selectbox("Fuse heads by", FUSIONS, key="rf_fusion")
discard = controls[1].slider(
    "Discard lowest weights", 0.0, 0.9, 0.0, 0.1, key="rf_discard",
    help="Per layer, set this fraction of the smallest off-diagonal fused weights to zero before adding the residual.",
)
layer = controls[2].slider("Up to layer", 1, n_layers, n_layers, key="rf_layer")
position = controls[3].selectbox(
    "Output position (row)", range(len(labels)), format_func=lambda i: labels[i], key="rf_position"
)

use_gradient = False
gradient_result = None
if source == SOURCES[1]:
    head = get_classifier_head()
    if head is not None:
        use_gradient = st.toggle(
            "Gradient-weighted rollout (heads fused by the positive part of A·∂L/∂A for the predicted class)",
            value=False, key="rf_gradient",
        )
        if use_gradient:
            computed = sentence_gradients(loaded, head, text)
            if computed is None:
                st.stop()
            gradient_result = computed[1]

per_layer = residual_matrices(discard_lowest(fuse_heads(sentence.attn, fusion), discard))
if gradient_result is not None:
    rollout = gradient_weighted_rollout(gradient_result.attn, gradient_result.grad, discard)
    rollout_name = "gradient-weighted rollout"
else:
    rollout = attention_rollout(sentence.attn, fusion=fusion, discard_fraction=discard)
    rollout_name = f"rollout ({fusion} of heads)"
raw = fuse_heads(sentence.attn, "mean")  # layers x q x k, one layer's own mixing

maps = st.columns(2)
maps[0].altair_chart(
    heatmap(raw[layer - 1], labels, labels, title=f"Raw attention of layer {layer} alone (mean of heads)"),
    width="stretch", key="rf_raw_map",
)
maps[1].altair_chart(
    heatmap(rollout[layer - 1], labels, labels, value="rollout", scheme="purples", title=f"{rollout_name}, layers 1–{layer}"),
    width="stretch", key="rf_rollout_map",
)

flow_row, flow_seconds = cached_flow_row(per_layer, loaded.facts.source, text, fusion, discard, layer, position)
flow_share = normalise_rows(flow_row[None])[0]
bars = pd.concat(
    [
        pd.DataFrame({"method": "raw attention (this layer)", "share": raw[layer - 1, position]}),
        pd.DataFrame({"method": rollout_name, "share": rollout[layer - 1, position]}),
        pd.DataFrame({"method": "flow (normalised)", "share": flow_share}),
    ]
)
bars["position"] = np.tile(np.arange(len(labels)), 3)
bars["label"] = np.tile(labels, 3)
st.altair_chart(
    token_bars(
        bars, f"Where {labels[position]} gets its information from, after layer {layer}",
        colors={"raw attention (this layer)": "#e6550d", rollout_name: "#756bb1", "flow (normalised)": "#31a354"},
    ),
    width="stretch", key="rf_row_bars",
)
st.caption(
    f"Flow values are divided by their sum so the three bars are comparable (as Abnar & Zuidema plot them); "
    f"the raw max-flow values range from {flow_row.min():.3f} to {flow_row.max():.3f}. The {len(labels)} max-flows "
    f"for this row took {flow_seconds * 1000:.0f} ms (Dinic's algorithm, compiled, on the exact weights). Flow uses the same "
    f"fused matrices as the plain rollout ({fusion} of heads{', discard ' + format(discard, '.0%') if discard else ''})."
)

n = len(labels)
uniform_entropy = np.log(n)


def _entropy(rows: np.ndarray) -> np.ndarray:
    return -(rows * np.log(np.clip(rows, 1e-30, None))).sum(-1)


mixing = pd.DataFrame(
    [
        {"layer": l + 1, "what": what, "value": value}
        for l in range(n_layers)
        for what, value in [
            ("own token's share, raw attention", float(np.diagonal(raw[l]).mean())),
            ("own token's share, rollout", float(np.diagonal(rollout[l]).mean())),
            ("row entropy / log n, rollout", float(_entropy(rollout[l]).mean() / uniform_entropy)),
        ]
    ]
)
st.altair_chart(
    line_by_layer(mixing, "value", "How the mixing grows with depth (averages over positions)"),
    width="stretch", key="rf_mixing",
)
sink = int(rollout[layer - 1].mean(0).argmax())
st.markdown(
    "A single layer's raw attention can look sharp at any depth. Rollout behaves differently: every layer "
    "averages rows that were already averages, so the share a position keeps on its own token falls layer "
    "after layer. Whether the rows then spread out or pile up on a few tokens depends on the model: "
    f"for this sentence, after layer {layer}, the average rollout row gives its largest share, "
    f"{rollout[layer - 1].mean(0)[sink]:.0%}, to **{md_escape(labels[sink])}**. Move the layer slider to watch it happen."
)

check_yourself(section=5, key_prefix="rollout_flow_check")
