"""CSV downloads that a spreadsheet cannot run as formulas.

Students type display names and answers; a cell such as ``=HYPERLINK(...)`` or ``@SUM(...)`` in
a CSV opened in a spreadsheet would run as a formula on the instructor's machine. Text cells whose
first character is = + - @, a tab or a carriage return (also after leading spaces) get a leading
apostrophe, which spreadsheets show as text (the OWASP advice for CSV injection). Numbers,
booleans and dates are written as they are: they are not text a spreadsheet would evaluate.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """The value, with an apostrophe in front when it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell (and column name) neutralised."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise_cell)
    safe.columns = [neutralise_cell(str(column)) for column in safe.columns]
    return safe


def to_safe_csv(frame: pd.DataFrame) -> bytes:
    """The frame as UTF-8 CSV for download, with formula-like text cells neutralised.

    Lines end in CRLF (RFC 4180), which also makes the writer quote a cell holding a lone CR,
    so such a cell cannot split its row in a spreadsheet.
    """
    return neutralise_frame(frame).to_csv(index=False, lineterminator="\r\n").encode("utf-8")
