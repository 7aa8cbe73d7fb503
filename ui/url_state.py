"""Deep links: every page's URL parameters, read through one validated parser and written back.

A page declares its parameters once (``Param`` objects) and reads them with ``read``; whatever
the URL holds, the value is of the declared kind and inside its range: numbers are clamped,
unknown choices fall back to the default, text is cut to the input limit and stripped of
control characters. ``parse`` is pure (no Streamlit), so a property-based test can throw any
string at it. Layers and heads are 1-based in URLs, as on screen.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from lessonkit.analysis import MAX_INPUT_CHARACTERS

# Only ASCII digits: str.isdigit() also accepts '²' or '①', which int() rejects; and a bounded
# length, because int() refuses strings of more than 4,300 digits.
_INTEGER = re.compile(r"[+-]?[0-9]{1,9}")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
MAX_LIST_ITEMS = 64


@dataclass(frozen=True)
class Param:
    """One URL parameter: ``kind`` is "int", "ints" (comma-separated), "choice", "text" or "flag"."""

    name: str
    kind: str
    default: Any
    low: int = 1
    high: int = 1
    choices: Sequence[str] = ()
    max_chars: int = MAX_INPUT_CHARACTERS

    def within(self, low: int, high: int, default: Any | None = None) -> Param:
        """The same parameter with a range known only at run time (e.g. the model's layer count)."""
        value = self.default if default is None else default
        return Param(self.name, self.kind, value, low, max(low, high), self.choices, self.max_chars)


def _clean_text(raw: str, max_chars: int) -> str:
    # control characters and lone surrogates go; format characters stay (emoji sequences need ZWJ)
    kept = "".join(ch for ch in raw if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs"))
    return kept[:max_chars]


def _int(raw: str) -> int | None:
    raw = raw.strip()
    return int(raw) if _INTEGER.fullmatch(raw) else None


def parse(param: Param, raw: str | None) -> Any:
    """The value of ``param`` for a raw URL string (None = absent); never raises."""
    if raw is None:
        return param.default
    if param.kind == "int":
        number = _int(raw)
        return param.default if number is None else min(param.high, max(param.low, number))
    if param.kind == "ints":
        values: list[int] = []
        for part in raw.split(",")[:MAX_LIST_ITEMS]:
            number = _int(part)
            if number is not None and param.low <= number <= param.high and number not in values:
                values.append(number)
        return values or list(param.default)
    if param.kind == "choice":
        value = raw.strip()
        return value if value in param.choices else param.default
    if param.kind == "flag":
        value = raw.strip().lower()
        return True if value in _TRUE else False if value in _FALSE else param.default
    if param.kind == "text":
        text = _clean_text(raw, param.max_chars)
        return text if text.strip() else param.default
    raise ValueError(f"unknown parameter kind {param.kind!r}")


def format_value(param: Param, value: Any) -> str:
    """The URL string for a value ("" means: leave it out)."""
    if value is None or value == param.default:
        return ""
    if param.kind == "ints":
        return ",".join(str(v) for v in value)
    if param.kind == "flag":
        return "1" if value else "0"
    return str(value)


def read(param: Param) -> Any:
    """The parameter's value from the current URL."""
    raw = st.query_params.get(param.name)
    return parse(param, raw if raw != "" else None)


def write(values: Mapping[Param, Any]) -> None:
    """Put the current view into the URL; defaults and empty values are dropped."""
    for param, value in values.items():
        text = format_value(param, value)
        if not text:
            if param.name in st.query_params:
                del st.query_params[param.name]
        elif st.query_params.get(param.name) != text:
            st.query_params[param.name] = text


def query_string(values: Mapping[Param, Any]) -> str:
    """'?a=1&b=2' for a view (defaults left out), for links and the demo script."""
    pairs = [(param.name, text) for param, value in values.items() if (text := format_value(param, value))]
    return f"?{urlencode(pairs)}" if pairs else ""


def link_to_this_view(url_path: str, values: Mapping[Param, Any]) -> None:
    """A 'copy link to this view' control: the relative link in a code box (it has a copy button)."""
    with st.popover("🔗 Link to this view"):
        st.caption("Opening this link restores the page exactly as it is now.")
        st.code(f"/{url_path}{query_string(values)}", language=None, wrap_lines=True)
