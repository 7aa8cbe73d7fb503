"""Lines of a value by layer, and a ranking scatter of heads."""
from __future__ import annotations

import altair as alt
import pandas as pd


def line_by_layer(frame: pd.DataFrame, value: str, title: str, color: str = "what") -> alt.Chart:
    """Lines over layers (frame: layer, value, color column) with points and tooltips."""
    return (
        alt.Chart(frame, title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X("layer:O", title="layer (1 = after the first block)"),
            y=alt.Y(f"{value}:Q", title=value),
            color=alt.Color(f"{color}:N", title=color),
            tooltip=["layer:O", f"{color}:N", alt.Tooltip(f"{value}:Q", format=".3f")],
        )
        .properties(height=280)
    )


def ranking_scatter(frame: pd.DataFrame, score: str, score_title: str) -> alt.Chart:
    """Heads as points: a score against the loss change of ablation; 'along for the ride' heads highlighted."""
    return (
        alt.Chart(frame, title=f"{score_title} vs loss change when the head is removed")
        .mark_circle(size=70, opacity=0.8)
        .encode(
            x=alt.X("ablation_change:Q", title="loss change when removed (ablation)"),
            y=alt.Y(f"{score}:Q", title=score_title),
            color=alt.Color(
                "role:N", title="head",
                scale=alt.Scale(domain=["along for the ride", "other"], range=["#d62728", "#1f77b4"]),
            ),
            tooltip=[
                "name:N", "role:N",
                alt.Tooltip("ablation_change:Q", title="ablation loss change", format=".4g"),
                alt.Tooltip(f"{score}:Q", title=score_title, format=".4g"),
            ],
        )
        .properties(height=320)
    )
