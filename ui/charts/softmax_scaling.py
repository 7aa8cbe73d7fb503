"""Why 1/sqrt(d_k): how peaked the softmax gets as d_k grows, with and without the scaling."""
from __future__ import annotations

import altair as alt
import pandas as pd

from ui.charts.common import cached_spec


@cached_spec
def peakedness_charts(peakedness: pd.DataFrame, uniform_entropy: float) -> tuple[alt.Chart, alt.LayerChart]:
    """(largest weight by d_k, entropy by d_k with the uniform entropy dashed) from softmax_peakedness's table."""
    base = alt.Chart(peakedness).encode(
        x=alt.X("d_k:Q", scale=alt.Scale(type="log", base=2), title="d_k (log scale)"),
        color=alt.Color("scaling:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=["d_k:Q", "scaling:N", alt.Tooltip("mean largest weight:Q", format=".4f"),
                 alt.Tooltip("mean entropy (nats):Q", format=".4f")],
    )
    largest = (
        base.mark_line(point=True)
        .encode(y=alt.Y("mean largest weight:Q", scale=alt.Scale(domain=[0, 1])))
        .properties(title="How much the top key takes", width=360, height=240)
    )
    uniform = alt.Chart(pd.DataFrame({"uniform": [uniform_entropy]})).mark_rule(strokeDash=[4, 4]).encode(
        y="uniform:Q", tooltip=[alt.Tooltip("uniform:Q", title="entropy of uniform weights", format=".4f")]
    )
    spread = (base.mark_line(point=True).encode(y=alt.Y("mean entropy (nats):Q")) + uniform).properties(
        title="Entropy of the weights (dashed: uniform)", width=360, height=240
    )
    return largest, spread
