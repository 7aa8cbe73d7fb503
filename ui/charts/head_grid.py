"""The layer x head grid of one number per head (pattern scores, gradient weights, accuracy).

One function for every such grid; layers and heads are shown counted from 1.
"""
from __future__ import annotations

from typing import Any, cast

import altair as alt
import numpy as np
import pandas as pd

from lessonkit.head_patterns import head_label
from ui.charts.common import cached_spec


@cached_spec
def scores_heatmap(
    scores: np.ndarray, title: str, value_title: str = "score", domain: tuple[float, float] | None = (0, 1),
    scheme: str = "viridis",
) -> alt.Chart:
    """scores: layers x heads -> a layer x head grid with the value in the tooltip.

    Colours clamp to ``domain``; None = the data's own range (e.g. gradient sums, whose size varies).
    """
    n_layers, n_heads = scores.shape
    data = pd.DataFrame(
        [
            {"layer": f"L{l + 1}", "head_n": f"H{h + 1}", "head": head_label(l, h), "v": float(np.round(scores[l, h], 6))}
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
                "v:Q",
                scale=alt.Scale(scheme=cast(Any, scheme), domain=list(domain), clamp=True) if domain
                else alt.Scale(scheme=cast(Any, scheme)),
                legend=alt.Legend(title=value_title, labelLimit=0, titleLimit=0),
            ),
            tooltip=[alt.Tooltip("head:N", title="head (1-indexed)"), alt.Tooltip("v:Q", title=value_title, format=".4g")],
        )
        .properties(width=44 * n_heads + 150, height=36 * n_layers + 70)
    )
