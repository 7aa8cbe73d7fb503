"""Heatmaps of a query x key matrix: attention maps, rollout and flow, gradients."""
from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from ui.charts.common import position_labels


def heatmap_chart(
    matrix: np.ndarray,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    title: str = "",
    row_offset: int = 0,
    diverging: bool = False,
    cell: int | None = None,
) -> alt.Chart:
    """matrix: q x k heatmap; rows = query (output) positions, columns = key (input) tokens.

    row_offset: the first row's position when only a window of the rows is shown.
    diverging: a red/blue scale centred on 0 (for differences between two maps).
    """
    n_q, n_k = matrix.shape
    rows = position_labels(row_labels)[row_offset : row_offset + n_q] if row_offset else position_labels(row_labels)
    cols = position_labels(col_labels)
    q_idx, k_idx = np.meshgrid(np.arange(n_q), np.arange(n_k), indexing="ij")
    data = pd.DataFrame(
        {
            "query": np.asarray(rows)[q_idx.ravel()],
            "key": np.asarray(cols)[k_idx.ravel()],
            "w": np.round(matrix.ravel().astype(float), 4),
        }
    )
    if diverging:
        limit = float(max(1e-6, np.abs(matrix).max()))
        colour = alt.Color(
            "w:Q", scale=alt.Scale(scheme="redblue", domain=[-limit, limit], reverse=True),
            legend=alt.Legend(title="difference"),
        )
        weight_title = "difference"
    else:
        colour = alt.Color("w:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]), legend=alt.Legend(title="weight"))
        weight_title = "weight"
    if cell is None:
        cell = 22 if n_k <= 40 else max(1.5, 800 / n_k)  # long inputs: thin columns that still fit the page
    return (
        alt.Chart(data, title=title or alt.Undefined)
        .mark_rect()
        .encode(
            x=alt.X("key:N", sort=cols, title="key (input token)", axis=alt.Axis(labelAngle=-60, labelLimit=120, labelOverlap=n_k > 60)),
            y=alt.Y("query:N", sort=rows, title="query (output position)", axis=alt.Axis(labelLimit=120, labelOverlap=n_q > 60)),
            color=colour,
            tooltip=[
                alt.Tooltip("query:N", title="query"),
                alt.Tooltip("key:N", title="key"),
                alt.Tooltip("w:Q", title=weight_title, format=".4f"),
            ],
        )
        # Streamlit fits the whole chart (axes and legend included) into width x height: leave room for them
        .properties(width=round(cell * n_k) + 190, height=round(max(cell, 8) * n_q) + 200)
    )


def matrix_frame(matrix: np.ndarray, row_labels: list[str], col_labels: list[str], value: str) -> pd.DataFrame:
    """Long table of a rows x cols matrix with row/column labels and their order."""
    rows, cols = np.indices(matrix.shape)
    return pd.DataFrame(
        {
            "row": np.asarray(row_labels, dtype=object)[rows.ravel()],
            "column": np.asarray(col_labels, dtype=object)[cols.ravel()],
            "row_index": rows.ravel(),
            "column_index": cols.ravel(),
            value: matrix.ravel().astype(float),
        }
    )


def heatmap(
    matrix: np.ndarray,
    row_labels: list[str],
    col_labels: list[str],
    *,
    value: str = "weight",
    row_title: str = "query (output position)",
    col_title: str = "key (input token)",
    title: str = "",
    scheme: str = "blues",
    domain: tuple[float, float] | None = None,
    annotate: bool = False,
    cell_size: int = 28,
) -> alt.Chart:
    """Rows x columns heatmap with exact values in the tooltip (and printed in cells if annotate)."""
    frame = matrix_frame(np.asarray(matrix), row_labels, col_labels, value)
    row_order, col_order = list(row_labels), list(col_labels)
    scale = alt.Scale(scheme=scheme, domain=list(domain)) if domain else alt.Scale(scheme=scheme)
    # Every token label must show, even when cells are small; Vega would otherwise drop overlapping ones.
    label_size = 11 if cell_size >= 22 else 9
    base = alt.Chart(frame).encode(
        x=alt.X("column:N", sort=col_order, title=col_title,
                axis=alt.Axis(labelAngle=-45, labelOverlap=False, labelFontSize=label_size)),
        y=alt.Y("row:N", sort=row_order, title=row_title, axis=alt.Axis(labelOverlap=False, labelFontSize=label_size)),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(f"{value}:Q", scale=scale, title=value),
        tooltip=[
            alt.Tooltip("row:N", title=row_title),
            alt.Tooltip("column:N", title=col_title),
            alt.Tooltip(f"{value}:Q", format=".6f"),
        ],
    )
    layers = [cells]
    if annotate:
        text = base.mark_text(fontSize=11).encode(
            text=alt.Text(f"{value}:Q", format=".2f"),
            color=alt.condition(f"abs(datum['{value}']) > {_contrast_threshold(frame[value])}", alt.value("white"), alt.value("black")),
        )
        layers.append(text)
    chart = alt.layer(*layers).properties(width=alt.Step(cell_size), height=alt.Step(cell_size))
    return chart.properties(title=title) if title else chart


def _contrast_threshold(values: pd.Series) -> float:
    largest = float(np.abs(values).max()) if len(values) else 1.0
    return round(0.6 * largest, 6)
