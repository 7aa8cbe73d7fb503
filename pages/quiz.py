"""Lesson section 7: the final quiz over every section, with feedback, score, retry and class mode."""
import streamlit as st

from ui.links import lesson_link
from ui.quiz_widgets import (
    RETRY_KEY,
    class_mode_panel,
    first_try_score,
    get_bank,
    missed_ids,
    render_question,
    score_summary,
    show_bank_problems,
    start_retry,
    stop_retry,
)
from ui.app_guard import require_app_navigation

require_app_navigation()

st.title("🎓 Final quiz")
st.markdown(
    "Questions from every part of the lesson. Press **Check** after each one to see at once whether you "
    "were right and why each option is right or wrong. Missed some? Retry them, or follow the link back "
    "to the page that explains the idea. Questions marked 🔴 live are built from the model on the spot."
)

bank = get_bank()
show_bank_problems(bank)
if not bank.questions:
    st.error("No quiz questions could be loaded, so there is nothing to ask yet.", icon="🚫")
    st.stop()

right, answered, total = score_summary(bank)
columns = st.columns(3)
columns[0].metric("Score", f"{right} / {total}")
columns[1].metric("Answered", f"{answered} / {total}")
columns[2].metric("Right on first try", f"{first_try_score(bank)} / {total}")
st.progress(answered / total, text="Progress through the quiz")

class_mode_panel(bank)

retry_ids = st.session_state.get(RETRY_KEY)
if retry_ids:
    st.info(f"Retrying the {len(retry_ids)} question(s) you missed.", icon="🔁")
    st.button("Show every question again", key="quiz-show-all", on_click=stop_retry)

number = 0
for section in bank.sections:
    questions = [q for q in section.questions if not retry_ids or q.id in retry_ids]
    if not questions:
        continue
    st.header(f"{section.number}. {section.title}")
    for question in questions:
        number += 1
        label = f"Q{number}{' · 🔴 live' if question.is_live else ''}."
        render_question(question, "quiz", label=label, bank=bank, link_back=True)

st.divider()
st.subheader("📊 Your result")
right, answered, total = score_summary(bank)
if answered < total:
    st.write(f"You have answered {answered} of {total} questions; {right} are right so far.")
else:
    st.write(f"You answered every question: {right} of {total} right.")
missed = missed_ids(bank)
if missed:
    st.write("Go back over the ideas behind what you missed:")
    for section in bank.sections:
        count = sum(1 for q in section.questions if q.id in missed)
        if count and section.page != "pages/quiz.py":
            lesson_link(section.page, f"Section {section.number}: {section.title} ({count} missed)", icon="📖")
        elif count:
            st.markdown(f"🔁 Section {section.number}: {section.title} ({count} missed): use the retry button below.")
    st.button(f"🔁 Retry the {len(missed)} question(s) I missed", key="quiz-retry-missed", on_click=start_retry,
              args=(bank,))
elif answered == total:
    st.success("Everything right. Well done!", icon="🏆")
