"""Small Altair chart builders shared by pages."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd


def position_labels(tokens: list[str]) -> list[str]:
    """Axis labels that stay distinct when a token repeats ("the" twice): 'position token'."""
    return [f"{i} {token}" for i, token in enumerate(tokens)]


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
