"""The one heatmap of a rows x columns matrix: attention maps, score steps, rollout, flow, gradients.

Labels are drawn as given (pass ``position_labels(tokens)`` so repeated tokens keep their own
row and column). Labels travel as categories, so a long map sends each token text once.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from ui.charts.common import cached_spec

ANNOTATED_CELL = 44  # px: room for five characters ("-12.3") at ANNOTATION_FONT
ANNOTATION_FONT = 10


def cell_text(values: np.ndarray) -> list[str]:
    """Short printed values that fit a cell: 2 decimals below 10, 1 below 100, none above."""
    texts = []
    for v in np.asarray(values, dtype=np.float64).ravel():
        size = abs(v)
        texts.append(f"{v:.2f}" if size < 9.995 else f"{v:.1f}" if size < 99.95 else f"{v:.0f}")
    return texts


@cached_spec
def heatmap(
    matrix: np.ndarray,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    *,
    value: str = "weight",
    row_title: str = "query (output position)",
    col_title: str = "key (input token)",
    title: str = "",
    scheme: Any = "blues",  # a Vega scheme name
    domain: tuple[float, float] | None = None,
    diverging: bool = False,
    annotate: bool = False,
    cell_size: float | None = None,
) -> alt.TopLevelMixin:
    """Rows x columns heatmap, exact values in the tooltip (and printed in each cell when ``annotate``).

    diverging: a red/blue scale centred on 0 (differences of two maps); ``domain`` fixes the colour
    range, e.g. (0, 1) for attention weights. ``cell_size`` defaults to what fits the page.
    """
    matrix = np.asarray(matrix)
    n_rows, n_cols = matrix.shape
    if (len(row_labels), len(col_labels)) != (n_rows, n_cols):
        raise ValueError(f"{len(row_labels)} x {len(col_labels)} labels for a {n_rows} x {n_cols} matrix")
    rows, cols = np.indices(matrix.shape)
    row_order, col_order = [str(r) for r in row_labels], [str(c) for c in col_labels]
    frame = pd.DataFrame(
        {
            "row": pd.Categorical.from_codes(rows.ravel(), categories=pd.Index(row_order).drop_duplicates())
            if len(set(row_order)) == len(row_order) else np.asarray(row_order, dtype=object)[rows.ravel()],
            "column": pd.Categorical.from_codes(cols.ravel(), categories=pd.Index(col_order).drop_duplicates())
            if len(set(col_order)) == len(col_order) else np.asarray(col_order, dtype=object)[cols.ravel()],
            value: np.round(matrix.ravel().astype(np.float64), 6),
        }
    )
    if annotate:
        frame["text"] = cell_text(matrix)
    if cell_size is None:
        longest = max(n_rows, n_cols)
        cell_size = ANNOTATED_CELL if annotate else 22 if longest <= 40 else max(2.0, 800 / longest)
    if diverging:
        limit = float(max(1e-6, np.abs(matrix).max())) if matrix.size else 1.0
        scale = alt.Scale(scheme="redblue", domain=[-limit, limit], reverse=True)
    else:
        scale = alt.Scale(scheme=scheme, domain=list(domain)) if domain else alt.Scale(scheme=scheme)
    label_size = 11 if cell_size >= 18 else 9
    dense = max(n_rows, n_cols) > 64  # beyond this, let Vega thin out labels that would overlap
    base = alt.Chart(frame).encode(
        x=alt.X("column:N", sort=col_order, title=col_title,
                axis=alt.Axis(labelAngle=-60, labelOverlap=dense, labelFontSize=label_size, labelLimit=120)),
        y=alt.Y("row:N", sort=row_order, title=row_title,
                axis=alt.Axis(labelOverlap=dense, labelFontSize=label_size, labelLimit=120)),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(f"{value}:Q", scale=scale, title=value),
        tooltip=[
            alt.Tooltip("row:N", title=row_title),
            alt.Tooltip("column:N", title=col_title),
            alt.Tooltip(f"{value}:Q", format=".4f"),
        ],
    )
    layers = [cells]
    if annotate:
        largest = float(np.abs(matrix).max()) if matrix.size else 1.0
        layers.append(
            base.mark_text(fontSize=ANNOTATION_FONT).encode(
                text="text:N",
                color=alt.condition(f"abs(datum['{value}']) > {round(0.6 * largest, 6)}", alt.value("white"), alt.value("black")),
            )
        )
    chart = alt.layer(*layers).properties(width=alt.Step(cell_size), height=alt.Step(cell_size))
    return chart.properties(title=title) if title else chart
