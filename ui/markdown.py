"""Showing learners' text inside Streamlit markdown safely."""
from __future__ import annotations

_MARKDOWN_SPECIAL = frozenset("\\`*_{}[]<>()#+-.!|~$&")


def md_escape(text: str) -> str:
    """Text safe inside st.markdown/st.caption: markdown and HTML characters are shown literally."""
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in text)
