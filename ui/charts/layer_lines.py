"""Values by layer as lines (mixing, agreement with a yardstick), and a ranking scatter of heads."""
from __future__ import annotations

import altair as alt
import pandas as pd

from ui.charts.common import cached_spec

# Streamlit fits a chart into its height, legend included, which squashes the plot under a legend below:
# fit only the width (axes and legend inside it) and let the height grow
PAD = alt.AutoSizeParams(type="fit-x", contains="padding")

FAMILY_COLOURS = {"raw attention": "#e6550d", "rollout": "#756bb1", "flow": "#31a354"}


@cached_spec
def line_by_layer(frame: pd.DataFrame, value: str, title: str, color: str = "what", value_title: str = "share") -> alt.Chart:
    """Lines over layers (frame: layer, value, color column) with points and tooltips; legend below."""
    return (
        alt.Chart(frame, title=alt.TitleParams(title, anchor="start"))
        .mark_line(point=True)
        .encode(
            x=alt.X("layer:O", title="after layer", axis=alt.Axis(labelAngle=0)),
            y=alt.Y(f"{value}:Q", title=value_title),
            color=alt.Color(f"{color}:N", title=None, legend=alt.Legend(orient="bottom", columns=1, labelLimit=0)),
            tooltip=["layer:O", alt.Tooltip(f"{color}:N", title="what"), alt.Tooltip(f"{value}:Q", format=".3f")],
        )
        .properties(height=260, autosize=PAD)
    )


@cached_spec
def agreement_by_layer_chart(frame: pd.DataFrame, title: str, sources: dict[str, str]) -> alt.Chart:
    """Mean Spearman rho by layer (frame: family, layer, spearman, std, sentences, source).

    ``sources`` maps each source to its legend label; the first is drawn solid, the second dashed,
    and the legend shows the dash.
    """
    names = list(sources)
    frame = frame.assign(model=frame["source"].map(sources))
    return (
        alt.Chart(frame, title=alt.TitleParams(title, anchor="start"))
        .mark_line(point=True)
        .encode(
            x=alt.X("layer:O", title="layer", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("spearman:Q", title="mean Spearman ρ", scale=alt.Scale(domain=[-0.2, 1])),
            color=alt.Color(
                "family:N", title="view",
                scale=alt.Scale(domain=list(FAMILY_COLOURS), range=list(FAMILY_COLOURS.values())),
                legend=alt.Legend(orient="bottom", labelLimit=0),
            ),
            strokeDash=alt.StrokeDash(
                "model:N", title="model",
                scale=alt.Scale(domain=[sources[n] for n in names], range=[[1, 0], [6, 4]][: len(names)]),
                legend=alt.Legend(orient="bottom", direction="vertical", symbolType="stroke", symbolSize=400,
                                  symbolStrokeWidth=2, symbolStrokeColor="#444", labelLimit=0),
            ),
            tooltip=["model:N", alt.Tooltip("family:N", title="view"), "layer:O",
                     alt.Tooltip("spearman:Q", format="+.3f"), alt.Tooltip("std:Q", format=".3f"), "sentences:Q"],
        )
        .properties(height=320, autosize=PAD)
    )


@cached_spec
def ranking_scatter(frame: pd.DataFrame, score: str, score_title: str) -> alt.Chart:
    """Heads as points: a score against the loss change when the head is removed; 'along for the ride' in red.

    frame: head, role, "loss change when removed" and the ``score`` column.
    """
    truth = "loss change when removed"
    return (
        alt.Chart(frame, title=alt.TitleParams(f"{score_title} vs removing the head", anchor="start"))
        .mark_circle(size=70, opacity=0.8)
        .encode(
            x=alt.X(f"{truth}:Q", title=truth),
            y=alt.Y(f"{score}:Q", title=score_title),
            color=alt.Color(
                "role:N", title=None,
                scale=alt.Scale(domain=["along for the ride", "other"], range=["#d62728", "#1f77b4"]),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=["head:N", "role:N", alt.Tooltip(f"{truth}:Q", format=".4g"),
                     alt.Tooltip(f"{score}:Q", title=score_title, format=".4g")],
        )
        .properties(height=300, autosize=PAD)
    )
