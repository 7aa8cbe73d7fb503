"""Bars of one importance score per token, one panel per method."""
from __future__ import annotations

import altair as alt
import pandas as pd


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
