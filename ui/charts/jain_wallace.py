"""Charts of Jain & Wallace's lab: the permutation histogram, learned vs adversarial attention, and
the test-set views (scatter against the largest weight, JSD histograms)."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from ui.charts.common import cached_spec

LEARNED_COLOR, ADVERSARIAL_COLOR, SEED_COLOR = "#1f77b4", "#ff7f0e", "#2ca02c"


@cached_spec
def permutation_histogram(changes: np.ndarray, median: float) -> alt.LayerChart:
    """Histogram of |change in P(positive)| over the permutations, the median as a red rule."""
    frame = pd.DataFrame({"change": np.asarray(changes, dtype=float)})
    bins = alt.Bin(maxbins=25)
    bars = alt.Chart(frame).mark_bar().encode(
        x=alt.X("change:Q", bin=bins, title="|change in P(positive)| after permuting"),
        y=alt.Y("count():Q", title="permutations"),
        tooltip=[alt.Tooltip("change:Q", bin=bins, title="change"), alt.Tooltip("count():Q", title="permutations")],
    )
    rule = alt.Chart(pd.DataFrame({"median": [float(median)]})).mark_rule(color="#d62728", strokeWidth=2).encode(
        x="median:Q", tooltip=[alt.Tooltip("median:Q", format=".4f", title="median change")]
    )
    return (bars + rule).properties(height=240)


@cached_spec
def learned_vs_adversarial(tokens: list[str], learned: np.ndarray, adversarial: np.ndarray, what: str) -> alt.Chart:
    """Grouped bars per token: learned and adversarial attention (tokens are data, never markup)."""
    n = len(tokens)
    labels = [f"{i + 1:>2} {token}" for i, token in enumerate(tokens)]
    frame = pd.DataFrame({
        "token": labels * 2,
        "position": list(range(1, n + 1)) * 2,
        "attention": np.concatenate([np.asarray(learned, float), np.asarray(adversarial, float)]),
        "which": ["learned"] * n + ["adversarial"] * n,
    })
    order = ["learned", "adversarial"]
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("token:N", sort=alt.SortField("position"), title="token (position and word piece)",
                axis=alt.Axis(labelAngle=-45, labelOverlap=False)),
        xOffset=alt.XOffset("which:N", sort=order),
        y=alt.Y("attention:Q", title=what),
        color=alt.Color("which:N", sort=order, title="attention",
                        scale=alt.Scale(domain=order, range=[LEARNED_COLOR, ADVERSARIAL_COLOR]),
                        legend=alt.Legend(orient="top")),
        tooltip=["token:N", "which:N", alt.Tooltip("attention:Q", format=".4f")],
    ).properties(height=280)


@cached_spec
def against_largest_weight(frame: pd.DataFrame, y: str, y_title: str) -> alt.Chart:
    """One dot per sentence: ``y`` against the sentence's largest attention weight, coloured by model."""
    return alt.Chart(frame).mark_circle(size=40, opacity=0.6).encode(
        x=alt.X("max_attention:Q", title="largest attention weight in the sentence"),
        y=alt.Y(f"{y}:Q", title=y_title),
        color=alt.Color("model:N", title="model (ours, tweets)",
                        scale=alt.Scale(range=[LEARNED_COLOR, ADVERSARIAL_COLOR]), legend=alt.Legend(orient="top")),
        tooltip=["model:N", alt.Tooltip("max_attention:Q", format=".3f"), alt.Tooltip(f"{y}:Q", format=".4f"),
                 alt.Tooltip("n_tokens:Q", title="tokens")],
    ).properties(height=280)


@cached_spec
def jsd_histograms(frame: pd.DataFrame) -> alt.Chart:
    """Overlaid histograms of JSD from the learned attention, one colour per comparison."""
    bins = alt.Bin(maxbins=30)
    return alt.Chart(frame).mark_bar(opacity=0.7).encode(
        x=alt.X("JSD:Q", bin=bins, title="JSD from the learned attention (nats)"),
        y=alt.Y("count():Q", stack=None, title="sentences"),
        color=alt.Color("between:N", title="attention compared", legend=alt.Legend(orient="top", labelLimit=400),
                        scale=alt.Scale(range=[ADVERSARIAL_COLOR, SEED_COLOR])),
        tooltip=["between:N", alt.Tooltip("JSD:Q", bin=bins), alt.Tooltip("count():Q")],
    ).properties(height=240)
