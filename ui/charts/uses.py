"""Charts of the "What attention can tell you" page: token scores, accuracy bars, the per-head
change grid between checkpoints, and the two BiLSTM seeds (attention apart, outputs together)."""
from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from ui.charts.common import cached_spec, position_labels
from ui.charts.head_grid import scores_heatmap
from ui.charts.token_bars import PAD, token_bars

SCORE_COLORS = {"attention": "#4c78a8", "gradient × attention": "#f58518", "removal": "#54a24b"}


def _share(values: np.ndarray) -> np.ndarray:
    """Scores rescaled to sum to 1, so the three fit one axis (their ranking is what matters)."""
    values = np.abs(np.asarray(values, dtype=np.float64))
    total = values.sum()
    return values / total if total > 0 else values


@cached_spec
def score_bars(tokens: Sequence[str], attention, grad_x_attention, removal, title: str) -> alt.Chart:
    """One group of bars per token: attention, gradient x attention and removal, each as a share of its total."""
    labels = position_labels(tokens)
    rows = []
    for method, values in zip(SCORE_COLORS, (attention, grad_x_attention, removal)):
        for position, (label, share) in enumerate(zip(labels, _share(values))):
            rows.append({"label": label, "position": position, "method": method, "share": float(share)})
    return token_bars(pd.DataFrame(rows), title, colors=SCORE_COLORS, value_title="share of the total")


@cached_spec
def accuracy_bars(frame: pd.DataFrame, title: str) -> alt.Chart:
    """Horizontal bars: frame has model, test set, accuracy (0..1)."""
    return (
        alt.Chart(frame, title=alt.TitleParams(title, anchor="start"))
        .mark_bar()
        .encode(
            x=alt.X("accuracy:Q", title="accuracy", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            y=alt.Y("model:N", title=None, sort=None, axis=alt.Axis(labelLimit=0)),
            yOffset=alt.YOffset("test set:N", sort=None),
            color=alt.Color("test set:N", title=None, sort=None, legend=alt.Legend(orient="bottom")),
            tooltip=["model:N", "test set:N", alt.Tooltip("accuracy:Q", format=".1%")],
        )
        .properties(height=34 * len(frame) + 30, autosize=PAD)
    )


def jsd_grid(grid: np.ndarray, title: str) -> alt.Chart:
    """Layers x heads of mean JS divergence (nats), coloured over the grid's own range."""
    return scores_heatmap(np.asarray(grid, dtype=np.float64), title, value_title="JS divergence (nats)",
                          domain=None, scheme="oranges")


@cached_spec
def seed_scatter(js_divergence: Sequence[float], output_change: Sequence[float], title: str) -> alt.Chart:
    """One point per tweet: how far the two seeds' attention lies apart vs how far their outputs do."""
    frame = pd.DataFrame({"attention JSD (nats)": js_divergence, "|ΔP(positive)|": output_change})
    return (
        alt.Chart(frame, title=alt.TitleParams(title, anchor="start"))
        .mark_circle(size=18, opacity=0.45)
        .encode(
            x=alt.X("attention JSD (nats):Q", scale=alt.Scale(domain=[0, float(np.log(2))])),
            y=alt.Y("|ΔP(positive)|:Q", scale=alt.Scale(domain=[0, 1])),
            tooltip=[alt.Tooltip("attention JSD (nats):Q", format=".3f"), alt.Tooltip("|ΔP(positive)|:Q", format=".3f")],
        )
        .properties(height=300, autosize=PAD)
    )


@cached_spec
def tag_bars(frame: pd.DataFrame, title: str) -> alt.Chart:
    """Share of errors vs share of correct predictions with each rule tag (frame: tag, group, share)."""
    return (
        alt.Chart(frame, title=alt.TitleParams(title, anchor="start"))
        .mark_bar()
        .encode(
            x=alt.X("share:Q", title="share of tweets", axis=alt.Axis(format="%")),
            y=alt.Y("tag:N", title=None, sort=None),
            yOffset=alt.YOffset("group:N", sort=None),
            color=alt.Color("group:N", title=None, sort=None, legend=alt.Legend(orient="bottom")),
            tooltip=["tag:N", "group:N", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(height=40 * frame["tag"].nunique() + 40, autosize=PAD)
    )
