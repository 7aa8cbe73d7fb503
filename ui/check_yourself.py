"""The short "check yourself" block at the end of each lesson page."""
from __future__ import annotations

import streamlit as st

from lessonkit.quiz import CHECK_YOURSELF_LIMIT, QUIZ_PAGE
from ui.links import lesson_link
from ui.quiz_widgets import get_bank, grades, render_question, show_bank_problems


def check_yourself(section: int, key_prefix: str) -> None:
    """Ask a lesson section's "check yourself" questions, with feedback, then point to the final quiz.

    Which questions: ``Section.check_yourself_questions(CHECK_YOURSELF_LIMIT)``; the final quiz
    leaves exactly these out (lessonkit.quiz.final_quiz), so it never repeats this block.

    ``key_prefix`` keeps the widget keys of this block apart from any other on the page. Answers
    count in the sidebar's "check yourself" score and are kept across reloads.
    """
    bank = get_bank()
    st.divider()
    st.subheader("✅ Check yourself")
    show_bank_problems(bank, section)
    lesson_section = bank.section(section)
    if lesson_section is None or not lesson_section.questions:
        st.info(f"There are no questions for section {section} yet.", icon="ℹ️")
        return
    questions = lesson_section.check_yourself_questions(CHECK_YOURSELF_LIMIT)
    for index, question in enumerate(questions, start=1):
        render_question(question, key_prefix, label=f"{index}.", bank=bank)
    answered = [grades()[q.id] for q in questions if q.id in grades()]
    if answered:
        right = sum(record["correct"] for record in answered)
        st.caption(f"{right} of {len(questions)} right so far on this page.")
    lesson_link(QUIZ_PAGE, "Take the final quiz: every section, with your score", icon="🎓")
