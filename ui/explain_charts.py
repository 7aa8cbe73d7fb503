"""Altair charts for the gradient, rollout/flow and faithfulness pages (every mark has a tooltip)."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd


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


def token_bars(
    frame: pd.DataFrame, title: str, value: str = "share", color: str = "method", colors: dict[str, str] | None = None
) -> alt.Chart:
    """Grouped bars: one group per token position (x offset by method); frame has label, position, method, value.

    ``colors`` maps method names to colours (and fixes their order); otherwise Altair's defaults.
    """
    scale = alt.Scale(domain=list(colors), range=list(colors.values())) if colors else alt.Undefined
    return (
        alt.Chart(frame, title=title)
        .mark_bar()
        .encode(
            x=alt.X(
                "label:N", sort=alt.SortField("position"), title="input token",
                axis=alt.Axis(labelAngle=-45, labelOverlap=False),
            ),
            xOffset=alt.XOffset(f"{color}:N", sort=list(colors) if colors else alt.Undefined),
            y=alt.Y(f"{value}:Q", title=value),
            color=alt.Color(f"{color}:N", title=color, scale=scale),
            tooltip=["label:N", f"{color}:N", alt.Tooltip(f"{value}:Q", format=".4f")],
        )
        .properties(height=300)
    )


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


_MARKDOWN_SPECIAL = set("\\`*_{}[]<>()#+-.!|~$")


def md_escape(text: str) -> str:
    """Backslash-escape Markdown (and HTML-starting) characters so user text shows literally."""
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in str(text))
