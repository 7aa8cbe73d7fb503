"""Attention head explorer: what each of the model's heads looks at, for any sentence."""
from __future__ import annotations

import numpy as np
import streamlit as st

from lessonkit.head_patterns import head_label, ranking_rows
from lessonkit.probes import find_twin
from ui.app_guard import require_app_navigation
from ui.charts.head_view import head_view_chart
from ui.charts.heatmap import heatmap_chart
from ui.charts.model_view import MODEL_VIEW_PICK, model_view_chart
from ui.check_yourself import check_yourself
from ui.sentence_picker import (
    VIEWS,
    attention_or_message,
    export_buttons,
    link_to,
    maps_for,
    parse_heads,
    parse_int,
    query_param,
    scores_for,
    sentence_picker,
    sync_query_params,
)
from ui.markdown import md_escape
from ui.models import get_model

require_app_navigation()

WINDOW = 64  # rows of a heatmap shown at once for long inputs

st.title("🔦 Attention head explorer")
st.markdown(
    "Pick a sentence and look inside one layer of the model: which tokens does each head's query "
    "pull information from? Lines join a query token (left) to the key tokens (right) it attends to; "
    "thicker and darker means more weight. Hover a token to keep only its lines."
)
st.caption(
    "Heads are numbered from 1, like Clark et al. 2019: **L3-H5** is the fifth head of the third layer "
    "(index 2, 4 in code). The address bar keeps the sentence, layer, heads and view: copy it to share this exact view."
)

loaded = get_model()
if loaded is None:
    st.stop()
facts = loaded.facts

# --- deep link: the URL sets the widgets once per session (later runs keep the learner's choices)
if "hx_layer" not in st.session_state:
    st.session_state["hx_layer"] = parse_int(query_param("layer"), 1, facts.n_layers, 3)
    st.session_state["hx_heads"] = parse_heads(query_param("head"), facts.n_heads)
    view = query_param("view")
    st.session_state["hx_view"] = view if view in VIEWS else "lines"
    st.session_state["hx_words"] = query_param("words") == "1"
    st.session_state["hx_twin"] = query_param("twin") or ""


def open_picked_head() -> None:
    """Model view click: open the clicked head in the head view."""
    event = st.session_state.get("hx_model_view")
    picked = (event or {}).get("selection", {}).get(MODEL_VIEW_PICK) or []
    if picked:
        st.session_state["hx_layer"] = int(picked[0]["layer"]) + 1
        st.session_state["hx_heads"] = [int(picked[0]["head"]) + 1]
        st.session_state["hx_view"] = "lines"


text, pair = sentence_picker("hx")
sentence = attention_or_message(loaded, text, pair)
if sentence is None:
    st.stop()

controls = st.columns([2, 3, 3, 2])
with controls[0]:
    layer = st.slider("Layer", 1, facts.n_layers, key="hx_layer")
with controls[1]:
    heads = st.multiselect(
        "Heads (one or several)", list(range(1, facts.n_heads + 1)), key="hx_heads",
        help="Several heads are drawn together, one colour each.",
    )
with controls[2]:
    view = st.radio("View", list(VIEWS), format_func=VIEWS.get, key="hx_view", horizontal=True)
with controls[3]:
    words = st.toggle(
        "Whole words", key="hx_words",
        help="Merge WordPieces into words: weights are summed over a word's key pieces and averaged over "
        "its query pieces, so each row still adds up to 1.",
    )

sync_query_params(
    {
        "text": text,
        "pair": pair or "",
        "layer": str(layer),
        "head": ",".join(str(h) for h in heads),
        "view": view,
        "words": "1" if words else "0",
    }
)

if not heads:
    st.info("Choose at least one head above.", icon="👆")
    st.stop()

maps = maps_for(loaded, sentence, words)
n = len(maps.labels)
l_index = layer - 1
h_indices = [h - 1 for h in heads]
names = [head_label(l_index, h) for h in h_indices]
unit = "words" if words else "tokens"
st.caption(f"{n} {unit} · model {facts.name} ({facts.n_layers} layers × {facts.n_heads} heads)")

scores = scores_for(loaded, sentence, words)
strongest = {(r["layer_index"], r["head_index"]): r["strongest"] for r in ranking_rows(scores)}

if view == "lines":
    with st.expander("Line settings", expanded=n > 40):
        c1, c2, c3 = st.columns(3)
        threshold = c1.slider("Hide lines lighter than", 0.0, 0.5, 0.05, 0.01, key="hx_threshold")
        top_k = c2.slider("At most this many lines per query token", 1, 20, 8, key="hx_topk")
        focus_options = ["all tokens", *[f"{i}: {label}" for i, label in enumerate(maps.labels)]]
        focus = c3.selectbox("Only the lines of one query token", focus_options, key="hx_focus")
    attn_heads = maps.attn[l_index, h_indices]  # heads x q x k
    if focus != "all tokens":
        position = focus_options.index(focus) - 1
        attn_heads = attn_heads.copy()
        keep = np.zeros(n, dtype=bool)
        keep[position] = True
        attn_heads[:, ~keep, :] = 0.0

    def lines_chart():
        return head_view_chart(attn_heads, maps.labels, names, threshold=threshold, top_k=top_k)

    swatches = ["🟦", "🟥", "🟩", "🟧", "🟪", "🟫"]  # the first six head colours of the chart
    st.markdown(
        " · ".join(
            f"{swatches[i] if i < len(swatches) else '▪️'} **{name}**: {md_escape(strongest[(l_index, h)])}"
            for i, (name, h) in enumerate(zip(names, h_indices))
        )
    )
    box = st.container(height=720) if n > 38 else st.container()
    with box:
        st.altair_chart(lines_chart(), width="content", key="hx_lines_chart")
    export_buttons(lines_chart, f"head_view_{'_'.join(names)}", "hx_lines_export")

elif view == "heatmap":
    row_start = 0
    if n > WINDOW:
        row_start = st.slider(
            f"First query row shown (long input: {WINDOW} rows at a time)", 0, n - WINDOW, 0, key="hx_row_start"
        )
    columns = st.columns(min(len(h_indices), 2))
    for index, (h, name) in enumerate(zip(h_indices, names)):
        matrix = maps.attn[l_index, h][row_start : row_start + WINDOW]

        def heat_chart(matrix=matrix, name=name, h=h):
            title = f"{name} ({strongest[(l_index, h)]})"
            return heatmap_chart(matrix, maps.labels, maps.labels, title, row_offset=row_start)

        with columns[index % len(columns)]:
            st.altair_chart(heat_chart(), width="content", key=f"hx_heat_{h}")
            export_buttons(heat_chart, f"heatmap_{name}", f"hx_heat_export_{h}")
    st.caption("Rows are query (output) positions, columns key (input) tokens; each row adds up to 1. Hover a cell for its exact weight.")

elif view == "model":
    st.markdown(
        "Every head of the model at once: one small heatmap per head, layers top to bottom. "
        "**Click a tile** to open that head in the head view. Tooltips name each head's strongest pattern on this sentence."
    )

    def grid_chart():
        return model_view_chart(maps.attn, tile_notes=strongest)

    st.altair_chart(
        grid_chart(), width="content", key="hx_model_view", on_select=open_picked_head, selection_mode=[MODEL_VIEW_PICK]
    )
    export_buttons(grid_chart, "model_view", "hx_model_export")
    st.caption("Thumbnails of long inputs are scaled down; open a head for the exact weights.")

else:  # compare
    st.markdown(
        "Winograd twins differ in one word and flip what the pronoun means. Does the head notice? "
        "Same layer and head, two sentences, and the difference of their maps (second minus first)."
    )
    if not st.session_state.get("hx_twin"):
        st.session_state["hx_twin"] = find_twin(text) or ""
    twin_text = st.text_input("Second sentence to compare", key="hx_twin", placeholder="Type a sentence that differs in a word or two")
    sync_query_params({"twin": twin_text})
    twin = attention_or_message(loaded, twin_text, None) if twin_text.strip() else None
    if twin is None:
        st.info("Type a second sentence to compare with (for the coreference probes it is filled in for you).", icon="✍️")
        st.stop()
    twin_maps = maps_for(loaded, twin, words)
    h, name = h_indices[0], names[0]
    if len(h_indices) > 1:
        st.caption(f"Comparing the first selected head, {name}.")
    first = maps.attn[l_index, h]
    second = twin_maps.attn[l_index, h]
    left, right = st.columns(2)

    def first_chart():
        return heatmap_chart(first, maps.labels, maps.labels, f"{name}: first sentence", cell=14)

    def second_chart():
        return heatmap_chart(second, twin_maps.labels, twin_maps.labels, f"{name}: second sentence", cell=14)

    with left:
        st.altair_chart(first_chart(), width="content", key="hx_cmp_first")
        export_buttons(first_chart, f"compare_first_{name}", "hx_cmp_first_export")
    with right:
        st.altair_chart(second_chart(), width="content", key="hx_cmp_second")
        export_buttons(second_chart, f"compare_second_{name}", "hx_cmp_second_export")
    if first.shape == second.shape:
        diff_labels = [a if a == b else f"{a}/{b}" for a, b in zip(maps.labels, twin_maps.labels)]

        def diff_chart():
            return heatmap_chart(second - first, diff_labels, diff_labels, f"{name}: second minus first", diverging=True)

        st.altair_chart(diff_chart(), width="content", key="hx_cmp_diff")
        export_buttons(diff_chart, f"compare_difference_{name}", "hx_cmp_diff_export")
        biggest = np.unravel_index(np.argmax(np.abs(second - first)), first.shape)
        st.caption(
            f"Largest change: query {biggest[0]} ({md_escape(diff_labels[biggest[0]])}) to key {biggest[1]} "
            f"({md_escape(diff_labels[biggest[1]])}), {float((second - first)[biggest]):+.3f}. "
            "Red: more weight in the second sentence."
        )
    else:
        st.info(
            f"The two sentences have different lengths ({first.shape[0]} and {second.shape[0]} {unit}), so "
            "their maps cannot be subtracted cell by cell. Try whole words, or sentences that differ in one word.",
            icon="↔️",
        )

st.divider()
link_to("pages/head_finder.py", "Which heads do what? Rank them in the head finder", "🧭")
link_to("pages/head_accuracy.py", "Do any heads resolve pronouns? Measured accuracy", "🎯")

check_yourself(section=2, key_prefix="head_explorer_check")
