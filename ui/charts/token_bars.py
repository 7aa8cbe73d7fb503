"""Bars per token (one group per token, one bar per method) and bars per method (agreement scores)."""
from __future__ import annotations

import altair as alt
import pandas as pd

from ui.charts.common import cached_spec

# Streamlit fits a chart into its height, legend included, which squashes the plot under a legend below:
# fit only the width (axes and legend inside it) and let the height grow
PAD = alt.AutoSizeParams(type="fit-x", contains="padding")


@cached_spec
def token_bars(
    frame: pd.DataFrame, title: str, value: str = "share", color: str = "method", colors: dict[str, str] | None = None,
    value_title: str | None = None,
) -> alt.Chart:
    """Grouped bars: one group per token position (x offset by method); frame has label, position, method, value.

    ``colors`` maps method names to colours (and fixes their order); otherwise Altair's defaults.
    The legend sits below the chart so long method names are never cut.
    """
    scale = alt.Scale(domain=list(colors), range=list(colors.values())) if colors else alt.Undefined
    return (
        alt.Chart(frame, title=alt.TitleParams(title, anchor="start"))
        .mark_bar()
        .encode(
            x=alt.X(
                "label:N", sort=alt.SortField("position"), title="input token",
                axis=alt.Axis(labelAngle=-45, labelOverlap=frame["position"].nunique() > 40, labelLimit=120),
            ),
            xOffset=alt.XOffset(f"{color}:N", sort=list(colors) if colors else alt.Undefined),
            y=alt.Y(f"{value}:Q", title=value_title or value),
            color=alt.Color(f"{color}:N", title=None, scale=scale,
                            legend=alt.Legend(orient="bottom", columns=3, labelLimit=0)),
            tooltip=["label:N", f"{color}:N", alt.Tooltip(f"{value}:Q", format=".4f")],
        )
        .properties(height=300, autosize=PAD)
    )


@cached_spec
def method_bars(frame: pd.DataFrame, title: str, group: str | None = None) -> alt.Chart:
    """Horizontal bars of Spearman rho per method (frame: method, spearman[, group column, std, sentences]).

    With ``group``, each method gets one bar per group value (e.g. per yardstick), coloured.
    """
    tooltip = ["method:N", alt.Tooltip("spearman:Q", format="+.3f")]
    tooltip += [c for c in ("std", "sentences") if c in frame.columns]
    encoding = dict(
        x=alt.X("spearman:Q", title="Spearman ρ", scale=alt.Scale(domain=[-1, 1])),
        y=alt.Y("method:N", title=None, sort=None, axis=alt.Axis(labelLimit=0)),
        tooltip=tooltip + ([f"{group}:N"] if group else []),
    )
    if group:
        encoding["yOffset"] = alt.YOffset(f"{group}:N")
        encoding["color"] = alt.Color(f"{group}:N", title=None, legend=alt.Legend(orient="bottom"))
    rows = frame["method"].nunique() * (2 if group else 1)
    return (
        alt.Chart(frame, title=alt.TitleParams(title, anchor="start"))
        .mark_bar()
        .encode(**encoding)
        .properties(height=26 * rows + 30, autosize=PAD)
    )
