"""The head view: lines from each query token to the key tokens it attends to (BertViz's first view)."""
from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

ROW_PX = 22  # vertical space per token in the head view


HEAD_COLOURS = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939",
]


def top_links(attn_heads: np.ndarray, threshold: float, top_k: int) -> pd.DataFrame:
    """attn_heads: heads x q x k -> long table of the lines worth drawing.

    Keeps, for each head and query, the top_k keys and only those with weight >= threshold.
    Long inputs therefore stay at most heads x q x top_k lines instead of heads x q x k.
    """
    n_heads, n_q, n_k = attn_heads.shape
    top_k = max(1, min(top_k, n_k))
    order = np.argsort(-attn_heads, axis=-1)[..., :top_k]  # heads x q x top_k
    weights = np.take_along_axis(attn_heads, order, axis=-1)
    h_idx, q_idx, r_idx = np.nonzero(weights >= threshold)
    return pd.DataFrame(
        {"h": h_idx, "i": q_idx, "j": order[h_idx, q_idx, r_idx], "w": weights[h_idx, q_idx, r_idx].astype(float)}
    )


def head_view_chart(
    attn_heads: np.ndarray,
    labels: Sequence[str],
    head_names: Sequence[str],
    threshold: float = 0.05,
    top_k: int = 8,
    width: int = 520,
) -> alt.LayerChart:
    """BertViz-style lines: queries on the left, keys on the right, one colour per head.

    attn_heads: heads x q x k. Hovering a token on the left keeps only its lines (on the right:
    only the lines arriving at it); line thickness and opacity follow the weight.
    """
    n = len(labels)
    links = top_links(attn_heads, threshold, top_k)
    links["head"] = [head_names[h] for h in links["h"]]
    links["query"] = [labels[i] for i in links["i"]]
    links["key"] = [labels[j] for j in links["j"]]
    links["w"] = links["w"].round(4)
    links["x0"], links["x1"] = 0.0, 1.0
    # One hover selection for both columns of tokens: {pos, side} says which token and which side.
    # (Vega-Lite listens for a selection's events on every mark of a layered chart, so two selections
    # keyed on shared fields would both fire on one hover.)
    queries = pd.DataFrame({"pos": range(n), "side": "q", "token": list(labels)})
    keys = pd.DataFrame({"pos": range(n), "side": "k", "token": list(labels)})
    height = max(120, ROW_PX * n) + (50 if len(head_names) > 1 else 0)
    y_scale = alt.Scale(domain=[-0.5, n - 0.5], reverse=True)
    x_scale = alt.Scale(domain=[-0.35, 1.35])
    hover = alt.selection_point(name="hover", fields=["pos", "side"], on="pointerover", clear="pointerout", empty=True)
    # No token hovered (or a line hovered): every line; a query token: its lines; a key token: lines into it.
    isolate = (
        "!(hover.side && hover.side[0]) || "
        "(hover.side[0] === 'q' ? datum.i === hover.pos[0] : datum.j === hover.pos[0])"
    )
    colour = alt.Color(
        "head:N",
        scale=alt.Scale(domain=list(head_names), range=HEAD_COLOURS[: len(head_names)] or HEAD_COLOURS),
        legend=alt.Legend(title="head", orient="top", symbolStrokeWidth=6, symbolSize=400, symbolOpacity=1) if len(head_names) > 1 else None,
    )
    lines = (
        alt.Chart(links)
        .mark_rule(strokeCap="round")
        .encode(
            x=alt.X("x0:Q", scale=x_scale, axis=None),
            x2="x1:Q",
            y=alt.Y("i:Q", scale=y_scale, axis=None),
            y2="j:Q",
            color=colour,
            strokeWidth=alt.StrokeWidth("w:Q", scale=alt.Scale(domain=[0, 1], range=[0.3, 5]), legend=None),
            opacity=alt.condition(
                isolate,
                alt.Opacity("w:Q", scale=alt.Scale(domain=[0, 1], range=[0.15, 0.9]), legend=None),
                alt.value(0.03),
            ),
            tooltip=[
                alt.Tooltip("head:N"),
                alt.Tooltip("query:N", title="query (from)"),
                alt.Tooltip("key:N", title="key (to)"),
                alt.Tooltip("w:Q", title="weight", format=".4f"),
            ],
        )
    )
    left = (
        alt.Chart(queries)
        .mark_text(align="right", dx=-6, fontSize=13)
        .encode(
            x=alt.X("x:Q", scale=x_scale, axis=None),
            y=alt.Y("pos:Q", scale=y_scale, axis=None),
            text="token:N",
            tooltip=[alt.Tooltip("token:N", title="query token (hover to isolate)")],
        )
        .transform_calculate(x="0")
        .add_params(hover)
    )
    right = (
        alt.Chart(keys)
        .mark_text(align="left", dx=6, fontSize=13)
        .encode(
            x=alt.X("x:Q", scale=x_scale, axis=None),
            y=alt.Y("pos:Q", scale=y_scale, axis=None),
            text="token:N",
            tooltip=[alt.Tooltip("token:N", title="key token (hover to isolate)")],
        )
        .transform_calculate(x="1")
    )
    return alt.layer(lines, left, right).properties(width=width, height=height)
