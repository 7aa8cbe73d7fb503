"""Numbers a learner measured on the lesson's pages, kept for the summary page.

A page calls ``remember("cls_share", "46% of attention goes to [CLS]", "pages/head_explorer.py")``
after it shows a result; the summary page lists them beside the lesson's claims.
"""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from ui.session_keys import SUMMARY_NUMBERS


@dataclass(frozen=True)
class SeenNumber:
    text: str  # what the learner saw, in words, with the number
    page: str  # the page file where it was seen


def remember(key: str, text: str, page: str) -> None:
    st.session_state.setdefault(SUMMARY_NUMBERS, {})[key] = SeenNumber(text, page)


def seen(key: str) -> SeenNumber | None:
    return st.session_state.get(SUMMARY_NUMBERS, {}).get(key)
