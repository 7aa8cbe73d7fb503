"""The head view: lines from each query token to the key tokens it attends to (BertViz's first view).

The chart is written as a plain Vega-Lite spec (a dict) rather than built with Altair: it is
re-sent on every layer or head change, and building and validating an Altair chart of a few
thousand lines took most of that rerun. Its lines carry only numbers (head, query, key,
weight); token text is sent once and joined in the browser by a lookup. The spec is checked
against the Vega-Lite schema in the tests. Token text reaches the page only as Vega text
marks and tooltips (drawn as text, never parsed as HTML).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

ROW_PX = 22  # vertical space per token in the head view
# Above this many lines the chart is painted on a canvas: one bitmap instead of one SVG element per
# line opens faster; hover and tooltips work the same (Streamlit passes usermeta.embedOptions on).
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
    attn_heads = np.asarray(attn_heads)
    if only_query is not None:
        attn_heads = np.where((np.arange(attn_heads.shape[1]) == only_query)[None, :, None], attn_heads, 0.0)
    links = top_links(attn_heads, threshold, top_k)
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
            "strokeWidth": {"field": "w", "type": "quantitative", "scale": {"domain": [0, 1], "range": [0.3, 5]},
                            "legend": None},
            "opacity": {
                "condition": {"test": isolate, "field": "w", "type": "quantitative",
                              "scale": {"domain": [0, 1], "range": [0.15, 0.9]}, "legend": None},
                "value": 0.03,
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
