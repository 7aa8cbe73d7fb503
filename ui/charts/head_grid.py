"""A layer x head grid of one number per head (pattern scores, gradient weights, accuracy)."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from lessonkit.head_patterns import head_label


def scores_heatmap(
    scores: np.ndarray, title: str, value_title: str = "score", domain: tuple[float, float] = (0, 1)
) -> alt.Chart:
    """scores: layers x heads -> a layer x head grid with the value in the tooltip (colours clamp to domain)."""
    n_layers, n_heads = scores.shape
    data = pd.DataFrame(
        [
            {"layer": f"L{l + 1}", "head_n": f"H{h + 1}", "head": head_label(l, h), "v": round(float(scores[l, h]), 4)}
            for l in range(n_layers)
            for h in range(n_heads)
        ]
    )
    return (
        alt.Chart(data, title=title)
        .mark_rect()
        .encode(
            x=alt.X("head_n:N", sort=[f"H{h + 1}" for h in range(n_heads)], title="head", axis=alt.Axis(labelOverlap=False, labelAngle=0)),
            y=alt.Y("layer:N", sort=[f"L{l + 1}" for l in range(n_layers)], title="layer", axis=alt.Axis(labelOverlap=False)),
            color=alt.Color(
                "v:Q", scale=alt.Scale(scheme="viridis", domain=list(domain), clamp=True), legend=alt.Legend(title=value_title)
            ),
            tooltip=[alt.Tooltip("head:N", title="head (1-indexed)"), alt.Tooltip("v:Q", title=value_title, format=".3f")],
        )
        .properties(width=44 * n_heads + 150, height=36 * n_layers + 70)
    )


def layer_head_grid(values: np.ndarray, value: str, title: str, scheme: str = "oranges") -> alt.Chart:
    """layers x heads heatmap; layers and heads shown counted from 1, as everywhere in the app."""
    values = np.asarray(values, dtype=float)
    layers, heads = np.indices(values.shape)
    frame = pd.DataFrame({"layer": layers.ravel() + 1, "head": heads.ravel() + 1, value: values.ravel()})
    return (
        alt.Chart(frame, title=title)
        .mark_rect()
        .encode(
            x=alt.X("head:O", title="head"),
            y=alt.Y("layer:O", title="layer"),
            color=alt.Color(f"{value}:Q", scale=alt.Scale(scheme=scheme), title=value),
            tooltip=["layer:O", "head:O", alt.Tooltip(f"{value}:Q", format=".4g")],
        )
        .properties(height=34 * values.shape[0] + 40)
    )
