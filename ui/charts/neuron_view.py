"""The neuron view (BertViz's third view): q, each k, q*k element-wise, the scaled score and the weight."""
from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from lessonkit.neuron_view import NeuronView
from ui.charts.common import cached_spec

CELL = 8  # px per vector element (d_k = 32 fits beside the bars at 1400 px)
ROW = 18  # px per key row


def _strip(values: np.ndarray, rows: Sequence[str], title: str, limit: float, row_title: str | None) -> alt.Chart:
    """rows x d_k numbers as coloured cells (orange positive, purple negative, one scale for the panel)."""
    n_rows, d_k = values.shape
    r, c = np.indices(values.shape)
    frame = pd.DataFrame({"row": np.asarray(rows, dtype=object)[r.ravel()], "dim": c.ravel() + 1,
                          "v": np.round(values.ravel(), 4)})
    return (
        alt.Chart(frame, title=title)
        .mark_rect()
        .encode(
            x=alt.X("dim:O", title="element (1 … d_k)", axis=alt.Axis(labels=d_k <= 32, ticks=False, labelFontSize=8)),
            y=alt.Y("row:N", sort=list(rows), title=row_title, axis=alt.Axis(labelLimit=110, labelOverlap=False) if row_title is not None else None),
            color=alt.Color("v:Q", scale=alt.Scale(scheme="purpleorange", domain=[-limit, limit]), legend=None),
            tooltip=[alt.Tooltip("row:N", title="token"), alt.Tooltip("dim:O", title="element"),
                     alt.Tooltip("v:Q", title="value", format=".4f")],
        )
        .properties(width=CELL * d_k, height=ROW * n_rows)
    )


def _bars(values: np.ndarray, rows: Sequence[str], field: str, title: str, fmt: str, colour: str) -> alt.LayerChart:
    frame = pd.DataFrame({"key": list(rows), field: np.round(values, 6)})
    frame["text"] = [format(v, fmt) for v in values]
    base = alt.Chart(frame, title=title).encode(y=alt.Y("key:N", sort=list(rows), axis=None))
    bars = base.mark_bar(color=colour).encode(
        x=alt.X(f"{field}:Q", title=None, axis=alt.Axis(tickCount=3)),
        tooltip=[alt.Tooltip("key:N", title="key"), alt.Tooltip(f"{field}:Q", format=".4f")],
    )
    labels = base.mark_text(align="left", dx=3, fontSize=10).encode(x=alt.datum(0), text="text:N")
    return alt.LayerChart(layer=[bars, labels], width=90, height=ROW * len(rows))


@cached_spec
def neuron_view_chart(view: NeuronView, labels: Sequence[str], shown: np.ndarray) -> alt.VConcatChart:
    """One query's row built step by step, for the key positions in ``shown`` (sentence order).

    labels: position labels ('3: it') of every token. Top: q; below, one row per key: k, q*k,
    q.k/sqrt(d_k) and the softmax weight (computed over all keys, shown or not).
    """
    rows = [str(labels[j]) for j in shown]
    limit_vectors = float(max(np.abs(view.query).max(), np.abs(view.keys[shown]).max(), 1e-6))
    limit_products = float(max(np.abs(view.products[shown]).max(), 1e-6))
    query = _strip(view.query[None, :], [str(labels[view.query_position])], "query q", limit_vectors, "query")
    keys = _strip(view.keys[shown], rows, "keys k", limit_vectors, "key")
    products = _strip(view.products[shown], rows, "q × k (element-wise)", limit_products, None)
    scores = _bars(view.scores[shown], rows, "score", "q·k / √d_k", ".2f", "#8073ac")
    weights = _bars(view.weights[shown], rows, "weight", "softmax weight", ".3f", "#2166ac")
    body = alt.hconcat(keys, products, scores, weights, spacing=8)
    return alt.vconcat(query, body, spacing=6).resolve_scale(color="independent")
