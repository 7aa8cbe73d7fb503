"""Lesson section 2: what the model's heads look at, for any sentence."""
from __future__ import annotations

import streamlit as st

from lessonkit.head_patterns import head_label, ranking_rows
from lessonkit.map_comparison import compare_maps
from lessonkit.pronoun_links import strongest_link
from ui import explorer_state, presenter
from ui import session_keys as keys
from ui.app_guard import require_app_navigation
from ui.charts.common import position_labels, show_chart
from ui.charts.head_view import head_view_data, head_view_spec, show_head_view
from ui.charts.heatmap import heatmap
from ui.charts.model_view import MODEL_VIEW_PICK, model_view_chart, thumbnail_png
from ui.check_yourself import check_yourself
from ui.explorer_state import VIEWS
from ui.markdown import md_escape
from ui.models import get_model
from ui.sentence_picker import (
    attention_or_message,
    export_buttons,
    link_to,
    maps_for,
    probe_label,
    scores_for,
    sentence_picker,
)
from ui.summary_numbers import remember
from ui.url_state import link_to_this_view

require_app_navigation()

WINDOW = 64  # rows and columns of a heatmap drawn at once; longer inputs get an overview image
GUIDED = "The animal didn't cross the street because it was too tired."
GUIDED_TWIN = "The animal didn't cross the street because it was too wide."


def claim() -> None:
    st.title("🔦 What heads look at")
    st.markdown(
        "**Claim:** each head has its own pattern: some look at the previous word, some at [SEP], "
        "and a few link words that belong together. Lines join a query token (left) to the keys it "
        "reads (right); thicker means more weight."
    )


def try_this(loaded) -> None:
    """The guided step: the lesson's "it" example, numbers from the live model."""
    first = attention_or_message(loaded, GUIDED, None)
    second = attention_or_message(loaded, GUIDED_TWIN, None)
    if first is None or second is None:
        return
    maps = maps_for(loaded, first, words=True, hide=True)
    link = strongest_link(maps.attn, maps.labels, "it", ["animal", "street"])
    twin_maps = maps_for(loaded, second, words=True, hide=True)
    with st.container(border=True):
        st.markdown("**Try this**")
        if link is None:
            st.caption("This model's tokenizer does not split the example into the words it needs.")
            return
        name = head_label(link.layer, link.head)
        twin_weights = twin_maps.attn[link.layer, link.head, link.pronoun_position]
        street = twin_maps.labels.index("street") if "street" in twin_maps.labels else None
        animal = twin_maps.labels.index("animal") if "animal" in twin_maps.labels else None
        shares = maps.hidden_share[link.layer].mean() if maps.hidden_share is not None else 0.0
        remember("heads", f"{name} sent “it” {link.weights['animal']:.0%} of its visible weight to “animal”; the heads "
                 f"of layer {link.layer + 1} gave {shares:.0%} of theirs to [CLS]/[SEP]/punctuation",
                 "pages/head_explorer.py")
        st.markdown(
            f"1. Press the button: “{GUIDED}”, whole words, [CLS]/[SEP]/punctuation hidden. "
            f"In layer {link.layer + 1} the heads give **{shares:.0%}** of their weight to those hidden tokens.\n"
            f"2. You should see **{name}** send “it” **{link.weights['animal']:.0%}** of its visible weight to "
            f"“animal” and {link.weights['street']:.0%} to “street”.\n"
            + (
                f"3. In the twin (“…too wide”) the same head gives “animal” {twin_weights[animal]:.0%} and "
                f"“street” {twin_weights[street]:.0%}. "
                + ("It follows the meaning." if twin_weights[street] > twin_weights[animal] else
                   "It does not follow the meaning: it links “it” to the same noun either way.")
                if street is not None and animal is not None else ""
            )
        )
        if st.button("Show me", key="hx_guided", icon="👉"):
            state = st.session_state
            state[keys.HX_TEXT], state[keys.HX_PAIR] = GUIDED, ""
            state[keys.HX_PROBE] = probe_label(GUIDED, None)
            state[keys.HX_LAYER], state[keys.HX_HEADS] = link.layer + 1, [link.head + 1]
            state[keys.HX_VIEW], state[keys.HX_WORDS], state[keys.HX_HIDE] = "lines", True, True
            state[keys.HX_FOCUS], state[keys.HX_TWIN] = link.pronoun_position, GUIDED_TWIN
            st.rerun()
        st.caption("The lesson's “layer 8” coreference head is a BERT-base fact (Clark et al. 2019); "
                   "this model has its own heads, measured on many twins in the head accuracy page.")


def open_picked_head() -> None:
    """Model view click: open the clicked head in the head view."""
    event = st.session_state.get(keys.HX_MODEL_VIEW)
    picked = (event or {}).get("selection", {}).get(MODEL_VIEW_PICK) or []
    if picked:
        st.session_state[keys.HX_LAYER] = int(picked[0]["layer"]) + 1
        st.session_state[keys.HX_HEADS] = [int(picked[0]["head"]) + 1]
        st.session_state[keys.HX_VIEW] = "lines"


def controls(facts) -> tuple[int, list[int], str, bool, bool]:
    """Layer, heads, view and options; drawn before the sentence is checked, so they survive an empty one."""
    columns = st.columns([2, 3, 3, 3])
    layer = columns[0].slider("Layer", 1, facts.n_layers, key=keys.HX_LAYER)
    heads = columns[1].multiselect(
        "Heads", list(range(1, facts.n_heads + 1)), key=keys.HX_HEADS,
        help="Several heads are drawn together, one colour each. Numbered from 1: L3-H5 is head 5 of layer 3.",
    )
    view = columns[2].radio("View", list(VIEWS), format_func=VIEWS.get, key=keys.HX_VIEW, horizontal=True)
    with columns[3]:
        words = st.toggle("Whole words", key=keys.HX_WORDS,
                          help="WordPieces merged: weights summed over a word's keys, averaged over its queries.")
        hide = st.toggle("Hide [CLS], [SEP], punctuation", key=keys.HX_HIDE,
                         help="As exBERT does: those columns and rows are removed and each row is rescaled to add "
                         "up to 1 again, so the rest of the weight becomes visible.")
    return layer, heads, view, words, hide


def lines_view(maps, l_index, h_indices, names, strongest) -> int:
    n = len(maps.labels)
    with st.expander("Line settings", expanded=n > 40):
        c1, c2, c3 = st.columns(3)
        threshold = c1.slider("Hide lines lighter than", 0.0, 0.5, step=0.01, key=keys.HX_THRESHOLD)
        top_k = c2.slider("At most this many lines per query token", 1, 20, key=keys.HX_TOP_K)
        if st.session_state.get(keys.HX_FOCUS, -1) not in range(-1, n):
            st.session_state[keys.HX_FOCUS] = -1
        focus = c3.selectbox("Only the lines of one query token", list(range(-1, n)), key=keys.HX_FOCUS,
                             format_func=lambda i: "all tokens" if i < 0 else f"{i}: {maps.labels[i]}")
    def lines_of(build):  # the same lines on the page (head_view_data) and in the downloads (head_view_spec)
        return build(maps.attn[l_index, h_indices], maps.labels, names, threshold=threshold, top_k=top_k,
                     only_query=focus if focus >= 0 else None)

    def lines_spec():
        return lines_of(head_view_spec)

    st.markdown(" · ".join(f"**{name}**: {md_escape(strongest[(l_index, h)])}" for name, h in zip(names, h_indices)))
    box = st.container(height=720) if n > 38 else st.container()
    with box:
        show_head_view(lines_of(head_view_data), key="hx_lines_chart")
    export_buttons(lines_spec, f"head_view_{'_'.join(names)}", "hx_lines_export")
    return focus


def heatmap_view(maps, l_index, h_indices, names, strongest) -> None:
    n = len(maps.labels)
    labels = position_labels(maps.labels)
    rows = cols = slice(0, n)
    if n > WINDOW:  # long input: an overview image of the whole map, and the cells of one window
        st.caption(f"{n} positions: each head is shown whole as a small image, and {WINDOW} × {WINDOW} of its "
                   "cells in detail. Move the window with the sliders.")
        c1, c2 = st.columns(2)
        for key in (keys.HX_ROW_START, keys.HX_COL_START):  # a window left over from a longer sentence
            st.session_state[key] = min(int(st.session_state.get(key, 0)), n - WINDOW)
        row_start = c1.slider("Query rows from", 0, n - WINDOW, key=keys.HX_ROW_START)
        col_start = c2.slider("Key columns from", 0, n - WINDOW, key=keys.HX_COL_START)
        rows, cols = slice(row_start, row_start + WINDOW), slice(col_start, col_start + WINDOW)
    columns = st.columns(min(len(h_indices), 2))
    for index, (h, name) in enumerate(zip(h_indices, names)):
        matrix = maps.attn[l_index, h]

        def heat_chart(matrix=matrix, name=name, h=h):
            return heatmap(matrix[rows, cols], labels[rows], labels[cols], domain=(0.0, 1.0),
                           title=f"{name} ({strongest[(l_index, h)]})")

        with columns[index % len(columns)]:
            if n > WINDOW:
                st.image(thumbnail_png(matrix, 256), caption=f"{name}, whole map (blocks of tokens)", width=256)
            show_chart(heat_chart(), key=f"hx_heat_{h}")
            export_buttons(heat_chart, f"heatmap_{name}", f"hx_heat_export_{h}")
    st.caption("Rows are query (output) positions, columns key (input) tokens; each row adds up to 1. "
               "Hover a cell for its exact weight.")


def model_view(maps, strongest) -> None:
    st.markdown("Every head at once, layers top to bottom. **Click a tile** to open that head.")

    def grid_chart():
        return model_view_chart(maps.attn, tile_notes=strongest)

    st.altair_chart(grid_chart(), width="content", key=keys.HX_MODEL_VIEW, on_select=open_picked_head,
                    selection_mode=[MODEL_VIEW_PICK])
    export_buttons(grid_chart, "model_view", "hx_model_export")


def compare_view(loaded, maps, l_index, h_indices, names, words, hide) -> None:
    st.markdown("Winograd twins differ in one word that changes what “it” means. Does the head notice?")
    twin_text = st.text_input("Second sentence", key=keys.HX_TWIN,
                              placeholder="Type a sentence that differs in a word or two")
    twin = attention_or_message(loaded, twin_text, None) if twin_text.strip() else None
    if twin is None:
        st.info("Type a second sentence (for the coreference probes it is filled in for you).", icon="✍️")
        return
    twin_maps = maps_for(loaded, twin, words, hide)
    h, name = h_indices[0], names[0]
    if len(h_indices) > 1:
        st.caption(f"Comparing the first selected head, {name}.")
    first, second = maps.attn[l_index, h], twin_maps.attn[l_index, h]
    left, right = st.columns(2)
    first_labels, second_labels = position_labels(maps.labels), position_labels(twin_maps.labels)

    def first_chart():
        return heatmap(first, first_labels, first_labels, domain=(0.0, 1.0), title=f"{name}: first sentence", cell_size=14)

    def second_chart():
        return heatmap(second, second_labels, second_labels, domain=(0.0, 1.0), title=f"{name}: second sentence",
                       cell_size=14)

    with left:
        show_chart(first_chart(), key="hx_cmp_first")
        export_buttons(first_chart, f"compare_first_{name}", "hx_cmp_first_export")
    with right:
        show_chart(second_chart(), key="hx_cmp_second")
        export_buttons(second_chart, f"compare_second_{name}", "hx_cmp_second_export")
    if first.shape != second.shape:
        st.info(f"The two have different lengths ({first.shape[0]} and {second.shape[0]}), so their maps cannot be "
                "subtracted cell by cell. Try whole words, or sentences that differ in one word.", icon="↔️")
        return
    diff_labels = position_labels([a if a == b else f"{a}/{b}" for a, b in zip(maps.labels, twin_maps.labels)])
    change = compare_maps(first, second)

    def diff_chart():
        return heatmap(change.difference, diff_labels, diff_labels, value="difference", diverging=True,
                       title=f"{name}: second minus first")

    show_chart(diff_chart(), key="hx_cmp_diff")
    export_buttons(diff_chart, f"compare_difference_{name}", "hx_cmp_diff_export")
    st.caption(f"Largest change: {md_escape(diff_labels[change.query])} → {md_escape(diff_labels[change.key])}, "
               f"{change.value:+.3f}. Red: more weight in the second sentence.")


def explore(loaded) -> None:
    facts = loaded.facts
    explorer_state.start(facts)
    text, pair = sentence_picker("hx")
    layer, heads, view, words, hide = controls(facts)
    focus = draw_view(loaded, text, pair, layer, heads, view, words, hide)
    explorer_state.write_url(facts, text, pair, focus)
    link_to_this_view("head_explorer", explorer_state.current_view(facts, text, pair, focus))


def draw_view(loaded, text, pair, layer, heads, view, words, hide) -> int:
    """The chosen view; returns the query position whose lines are kept (-1: all)."""
    facts = loaded.facts
    sentence = attention_or_message(loaded, text, pair)
    if sentence is None:
        return int(st.session_state.get(keys.HX_FOCUS, -1))
    if not heads:
        st.info("Choose at least one head above.", icon="👆")
        return -1
    maps = maps_for(loaded, sentence, words, hide)
    l_index, h_indices = layer - 1, [h - 1 for h in heads]
    names = [head_label(l_index, h) for h in h_indices]
    note = ""
    if maps.hidden_share is not None:
        note = f" · hidden tokens took {float(maps.hidden_share[l_index].mean()):.0%} of layer {layer}'s weight"
    st.caption(f"{len(maps.labels)} {'words' if words else 'tokens'} · {facts.name} "
               f"({facts.n_layers} layers × {facts.n_heads} heads){note}")
    scores = scores_for(loaded, sentence, words)
    strongest = {(r["layer_index"], r["head_index"]): r["strongest"] for r in ranking_rows(scores)}
    if view == "lines":
        return lines_view(maps, l_index, h_indices, names, strongest)
    if view == "heatmap":
        heatmap_view(maps, l_index, h_indices, names, strongest)
    elif view == "model":
        model_view(maps, strongest)
    else:
        compare_view(loaded, maps, l_index, h_indices, names, words, hide)
    return -1


def deep_dives() -> None:
    st.divider()
    link_to("pages/head_finder.py", "Optional: rank every head by pattern in the head finder", "🧭")
    link_to("pages/head_accuracy.py", "Optional: do any heads resolve pronouns? Measured accuracy", "🎯")


claim()
loaded = get_model()
if loaded is None:
    st.stop()


def closing() -> None:
    deep_dives()
    check_yourself(section=2, key_prefix="head_explorer_check")


presenter.reveal("head_explorer", [lambda: try_this(loaded), lambda: explore(loaded), closing])
