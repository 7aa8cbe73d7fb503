"""Sidebar shown on every page: which model the app shows, and the learner's progress."""
from __future__ import annotations

import streamlit as st

from ui.learner_progress import (
    KEPT_NOTE,
    keep_id_in_browser,
    show_progress_notice,
    sync_progress,
)
from ui.markdown import md_escape
from ui.models import get_model
from ui.session_keys import PAGES_VISITED


def record_visit(page_title: str) -> set[str]:
    visited = st.session_state.setdefault(PAGES_VISITED, set())
    visited.add(page_title)
    return visited


def show_quiz_progress() -> None:
    """Final-quiz score so far, and the "check yourself" blocks' score (kept across reloads)."""
    from lessonkit.quiz import check_yourself_questions, final_quiz
    from ui.quiz_widgets import first_try_score, get_bank, score_summary

    bank = get_bank()
    questions = final_quiz(bank)
    right, answered, total = score_summary(questions)
    if total:
        st.progress(right / total, text=f"Quiz: {right} of {total} right ({answered} answered)")
        if answered:
            st.caption(f"First tries right: {first_try_score(questions)}")
    right, answered, total = score_summary(check_yourself_questions(bank))
    if total:
        st.caption(f"Check yourself: {right} of {total} right ({answered} answered)")


def show_sidebar(page_title: str) -> None:
    record_visit(page_title)
    sync_progress()  # saves this visit and the answers checked just before this run; restores after a reload
    visited = st.session_state[PAGES_VISITED]
    with st.sidebar:
        keep_id_in_browser()
        loaded = get_model(show_error=False)  # the page says why once; the sidebar stays quiet
        if loaded is not None:
            facts = loaded.facts
            st.markdown(
                f"**Model shown:** {md_escape(facts.name)}  \n"
                f"{facts.n_layers} layers × {facts.n_heads} heads, d_k = {facts.d_k}, "
                f"{facts.n_parameters / 1e6:.1f} M parameters, up to {facts.max_length} tokens"
            )
        st.markdown("**Your progress**")
        show_progress_notice()
        st.caption(f"Pages visited: {len(visited)}")
        show_quiz_progress()
        st.caption(KEPT_NOTE)
