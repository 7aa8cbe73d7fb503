"""The head view: lines from each query token to the key tokens it attends to (BertViz's first view).

On the page it is drawn by ``show_head_view``: a small Streamlit component (head_view.js and
head_view.css, next to this file) that writes the tokens as HTML text and paints the lines on one
canvas. Measured in Chromium at 64 tokens and 12 heads, Vega took about 0.45 s to draw the same
chart (its expression interpreter runs per line) and the canvas about 0.1 s. ``head_view_spec``
is the same view as a Vega-Lite spec, for the PNG and SVG downloads.

Lines carry only numbers (head, query, key, weight); token text is sent once. Token text reaches
the page only as text (textContent in the component, Vega text marks in the spec), never as HTML.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROW_PX = 22  # vertical space per token in the head view
LINE_PX = 300  # horizontal span of the lines, between the two columns of tokens
# How a line's weight w (0..1) is drawn, the same on the page and in the downloads.
STROKE_PX = (0.3, 5.0)  # line width from w = 0 to w = 1
OPACITY = (0.15, 0.9)  # opacity from w = 0 to w = 1
DIM_OPACITY = 0.03  # the other lines while a token is hovered
LISTED = 8  # weights listed under the chart for a hovered token
HINT = "Hover a token to keep only its lines and read their weights."
# Above this many lines the downloaded spec is painted on a canvas (one bitmap, not one SVG element per line).
CANVAS_LINES = 1000
SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"  # an identifier only: nothing is fetched

HEAD_COLOURS = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939",
]


def top_links(attn_heads: np.ndarray, threshold: float, top_k: int) -> dict[str, np.ndarray]:
    """attn_heads: heads x q x k -> the lines worth drawing, as columns h, i (query), j (key), w.

    Keeps, for each head and query, the top_k keys and only those with weight >= threshold, so
    long inputs stay at most heads x q x top_k lines instead of heads x q x k.
    """
    n_heads, n_q, n_k = attn_heads.shape
    top_k = max(1, min(top_k, n_k))
    order = np.argsort(-attn_heads, axis=-1, kind="stable")[..., :top_k]  # heads x q x top_k
    weights = np.take_along_axis(attn_heads, order, axis=-1)
    h_idx, q_idx, r_idx = np.nonzero(weights >= threshold)
    return {"h": h_idx, "i": q_idx, "j": order[h_idx, q_idx, r_idx], "w": weights[h_idx, q_idx, r_idx].astype(float)}


def head_colours(n: int) -> list[str]:
    return [HEAD_COLOURS[i % len(HEAD_COLOURS)] for i in range(n)]


def head_view_spec(
    attn_heads: np.ndarray,
    labels: Sequence[str],
    head_names: Sequence[str],
    threshold: float = 0.05,
    top_k: int = 8,
    width: int = 520,
    only_query: int | None = None,
) -> dict[str, Any]:
    """BertViz-style lines: queries on the left, keys on the right, one colour per head.

    attn_heads: heads x q x k. Hovering a token on the left keeps only its lines (on the right:
    only the lines arriving at it); line thickness and opacity follow the weight. ``only_query``:
    draw the lines of that query position only.
    """
    n = len(labels)
    links = _drawn_links(attn_heads, threshold, top_k, only_query)
    link_rows = [
        {"h": int(h), "i": int(i), "j": int(j), "w": round(float(w), 4)}
        for h, i, j, w in zip(links["h"], links["i"], links["j"], links["w"])
    ]
    token_rows = [{"pos": p, "token": str(label)} for p, label in enumerate(labels)]
    head_rows = [{"h": h, "head": str(name)} for h, name in enumerate(head_names)]
    several = len(head_names) > 1
    height = max(120, ROW_PX * n) + (50 if several else 0)
    x_scale = {"domain": [-0.35, 1.35]}
    y_scale = {"domain": [-0.5, n - 0.5], "reverse": True}
    # One hover selection for both columns of tokens: {pos, side} says which token and which side.
    # (Vega-Lite listens for a selection's events on every mark of a layered chart, so two selections
    # keyed on shared fields would both fire on one hover.)
    isolate = (
        "!(hover.side && hover.side[0]) || "
        "(hover.side[0] === 'q' ? datum.i === hover.pos[0] : datum.j === hover.pos[0])"
    )

    def lookup(field: str, data: str, key: str, value: str, name: str) -> dict[str, Any]:
        return {"lookup": field, "from": {"data": {"name": data}, "key": key, "fields": [value]}, "as": [name]}

    lines = {
        "data": {"name": "links"},
        "transform": [
            lookup("h", "heads", "h", "head", "head"),
            lookup("i", "tokens", "pos", "token", "query"),
            lookup("j", "tokens", "pos", "token", "key"),
        ],
        "mark": {"type": "rule", "strokeCap": "round"},
        "encoding": {
            "x": {"datum": 0, "type": "quantitative", "scale": x_scale, "axis": None},
            "x2": {"datum": 1},
            "y": {"field": "i", "type": "quantitative", "scale": y_scale, "axis": None},
            "y2": {"field": "j"},
            "color": {
                "field": "head", "type": "nominal",
                "scale": {"domain": [str(name) for name in head_names], "range": head_colours(len(head_names))},
                "legend": {"title": "head", "orient": "top", "symbolStrokeWidth": 6, "symbolSize": 400,
                           "symbolOpacity": 1, "columns": 6} if several else None,  # 12 heads: two rows
            },
            "strokeWidth": {"field": "w", "type": "quantitative", "scale": {"domain": [0, 1], "range": list(STROKE_PX)},
                            "legend": None},
            "opacity": {
                "condition": {"test": isolate, "field": "w", "type": "quantitative",
                              "scale": {"domain": [0, 1], "range": list(OPACITY)}, "legend": None},
                "value": DIM_OPACITY,
            },
            "tooltip": [
                {"field": "head", "type": "nominal"},
                {"field": "query", "type": "nominal", "title": "query (from)"},
                {"field": "key", "type": "nominal", "title": "key (to)"},
                {"field": "w", "type": "quantitative", "title": "weight", "format": ".4f"},
            ],
        },
    }

    def token_column(side: str, x: int, align: str, dx: int, hint: str) -> dict[str, Any]:
        return {
            "data": {"name": "tokens"},
            "transform": [{"calculate": f"'{side}'", "as": "side"}],
            "mark": {"type": "text", "align": align, "dx": dx, "fontSize": 13},
            "encoding": {
                "x": {"datum": x, "type": "quantitative", "scale": x_scale, "axis": None},
                "y": {"field": "pos", "type": "quantitative", "scale": y_scale, "axis": None},
                "text": {"field": "token", "type": "nominal"},
                "tooltip": [{"field": "token", "type": "nominal", "title": hint}],
            },
        }

    left = token_column("q", 0, "right", -6, "query token (hover to isolate)")
    left["params"] = [{"name": "hover", "select": {"type": "point", "fields": ["pos", "side"], "on": "pointerover",
                                                   "clear": "pointerout"}}]
    right = token_column("k", 1, "left", 6, "key token (hover to isolate)")
    spec: dict[str, Any] = {
        "$schema": SCHEMA,
        "width": width,
        "height": height,
        "datasets": {"links": link_rows, "tokens": token_rows, "heads": head_rows},
        "layer": [lines, left, right],
    }
    if len(link_rows) > CANVAS_LINES:
        spec["usermeta"] = {"embedOptions": {"renderer": "canvas"}}
    return spec


def _drawn_links(attn_heads: np.ndarray, threshold: float, top_k: int, only_query: int | None) -> dict[str, np.ndarray]:
    attn_heads = np.asarray(attn_heads)
    if only_query is not None:
        attn_heads = np.where((np.arange(attn_heads.shape[1]) == only_query)[None, :, None], attn_heads, 0.0)
    return top_links(attn_heads, threshold, top_k)


def head_view_data(
    attn_heads: np.ndarray,
    labels: Sequence[str],
    head_names: Sequence[str],
    threshold: float = 0.05,
    top_k: int = 8,
    only_query: int | None = None,
    font_px: int = 14,
) -> dict[str, Any]:
    """What the page's head view component draws: the same lines as ``head_view_spec``, flattened
    to [h, i, j, w, h, i, j, w, ...] (weights rounded to 4 decimals), with tokens, heads and style."""
    links = _drawn_links(attn_heads, threshold, top_k, only_query)
    flat = [v for h, i, j, w in zip(links["h"], links["i"], links["j"], links["w"])
            for v in (int(h), int(i), int(j), round(float(w), 4))]
    return {
        "tokens": [str(label) for label in labels],
        "heads": [str(name) for name in head_names],
        "colours": head_colours(len(head_names)),
        "links": flat,
        "style": {"row_px": _row_px(font_px), "font_px": font_px, "line_px": LINE_PX, "stroke": list(STROKE_PX),
                  "opacity": list(OPACITY), "dim_opacity": DIM_OPACITY, "listed": LISTED, "hint": HINT},
    }


def _row_px(font_px: int) -> int:
    """Vertical space per token: ROW_PX, or more for a larger font."""
    return max(ROW_PX, round(font_px * 1.6))


@functools.cache
def _component():
    import streamlit as st

    here = Path(__file__).parent
    return st.components.v2.component(
        "lessonkit_head_view", js=(here / "head_view.js").read_text(), css=(here / "head_view.css").read_text(),
        isolate_styles=False,
    )


def show_head_view(data: dict[str, Any], key: str) -> None:
    """Draw ``head_view_data`` on the page (fonts for the projector in presenter mode)."""
    from ui import presenter

    if presenter.is_on():
        font_px = presenter.CHART_FONT_PX
        data = {**data, "style": {**data["style"], "font_px": font_px, "row_px": _row_px(font_px)}}
    _component()(data=data, key=key, width="content")
