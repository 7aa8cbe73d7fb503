"""Links between lesson pages that never break a page."""
from __future__ import annotations

import streamlit as st


def lesson_link(page_file: str, label: str, icon: str | None = None) -> None:
    """st.page_link to a lesson page; plain text if that page is not in the navigation (e.g. a lone page run)."""
    try:
        st.page_link(page_file, label=label, icon=icon)
    except Exception:  # StreamlitAPIException / KeyError when the page is not registered
        st.markdown(f"{icon or '➡️'} {label}")
