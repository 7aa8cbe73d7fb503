"""Sidebar shown on every page: which model the app shows, and the learner's progress."""
from __future__ import annotations

import streamlit as st

from ui.state import get_model

VISITED_KEY = "pages_visited"


def record_visit(page_title: str) -> set[str]:
    visited = st.session_state.setdefault(VISITED_KEY, set())
    visited.add(page_title)
    return visited


def show_quiz_progress() -> None:
    """Quiz score so far (answers from the quiz page and every "check yourself")."""
    from ui.quiz_widgets import first_try_score, get_bank, score_summary

    bank = get_bank()
    right, answered, total = score_summary(bank)
    if not total:
        return
    st.progress(right / total, text=f"Quiz: {right} of {total} right ({answered} answered)")
    if answered:
        st.caption(f"First tries right: {first_try_score(bank)}")


def show_sidebar(page_title: str) -> None:
    visited = record_visit(page_title)
    with st.sidebar:
        loaded = get_model()
        if loaded is not None:
            facts = loaded.facts
            st.markdown(
                f"**Model shown:** {facts.name}  \n"
                f"{facts.n_layers} layers × {facts.n_heads} heads, d_k = {facts.d_k}, "
                f"{facts.n_parameters / 1e6:.1f} M parameters, up to {facts.max_length} tokens"
            )
        st.markdown("**Your progress**")
        st.caption(f"Pages visited this session: {len(visited)}")
        show_quiz_progress()
