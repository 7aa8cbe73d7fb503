"""Lesson section 7: the final quiz, with feedback, score, retry and class mode.

The lesson's own questions come first, then questions from every section that the pages'
"check yourself" blocks do not ask (lessonkit.quiz.final_quiz). Numbers are fixed by
lessonkit.quiz.question_numbers: the same in the quiz, in a retry and on the instructor page.
"""
import streamlit as st

from lessonkit.quiz import QUIZ_PAGE, final_quiz, question_numbers
from ui.app_guard import require_app_navigation
from ui.learner_progress import (
    KEPT_NOTE_ON_QUIZ,
    show_progress_notice,
    start_over,
    sync_progress,
)
from ui.links import lesson_link
from ui.live_poll import show_open_poll
from ui.quiz_widgets import (
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
from ui.session_keys import QUIZ_RETRY_IDS

require_app_navigation()
sync_progress()  # also done by the sidebar; here so the page keeps progress when run on its own

st.title("🎓 Final quiz")
show_open_poll()
st.markdown(
    "The lesson's own questions first, then more from every part of the lesson (not the ones the "
    "pages' *Check yourself* blocks ask). Press **Check** after each one to see at once whether you "
    "were right and why each option is right or wrong. Missed some? Retry them, or follow the link back "
    "to the page that explains the idea. Questions marked 🔴 live are built from the model on the spot."
)
show_progress_notice()
note, button = st.columns([5, 1], vertical_alignment="center")
note.caption(KEPT_NOTE_ON_QUIZ)
button.button("Start over", key="quiz-start-over", on_click=start_over,
              help="Forget your answers and visited pages in this browser. Answers already sent to the "
                   "class stay there.")

bank = get_bank()
show_bank_problems(bank)
questions = final_quiz(bank)
if not questions:
    st.error("No quiz questions could be loaded, so there is nothing to ask yet.", icon="🚫")
    st.stop()
numbers = question_numbers(bank)

right, answered, total = score_summary(questions)
columns = st.columns(3)
columns[0].metric("Score", f"{right} / {total}")
columns[1].metric("Answered", f"{answered} / {total}")
columns[2].metric("Right on first try", f"{first_try_score(questions)} / {total}")
st.progress(answered / total, text="Progress through the quiz")

class_mode_panel(questions)

retry_ids = st.session_state.get(QUIZ_RETRY_IDS)
if retry_ids:
    st.info(f"Retrying the {len(retry_ids)} question(s) you missed.", icon="🔁")
    st.button("Show every question again", key="quiz-show-all", on_click=stop_retry)

heading = None
for question in questions:
    if retry_ids and question.id not in retry_ids:
        continue
    section = bank.section(question.section)
    assert section is not None  # every question comes from a section of the bank
    title = section.title if section.page == QUIZ_PAGE else f"From section {section.number}: {section.title}"
    if title != heading:
        st.header(title)
        heading = title
    label = f"Q{numbers[question.id]}{' · 🔴 live' if question.is_live else ''}."
    render_question(question, "quiz", label=label, bank=bank, link_back=True)

st.divider()
st.subheader("📊 Your result")
right, answered, total = score_summary(questions)
if answered < total:
    st.write(f"You have answered {answered} of {total} questions; {right} are right so far.")
else:
    st.write(f"You answered every question: {right} of {total} right.")
missed = missed_ids(questions)
if missed:
    st.write("Go back over the ideas behind what you missed:")
    for section in bank.sections:
        count = sum(1 for q in questions if q.section == section.number and q.id in missed)
        if count and section.page != QUIZ_PAGE:
            lesson_link(section.page, f"Section {section.number}: {section.title} ({count} missed)", icon="📖")
        elif count:
            st.markdown(f"🔁 {section.title} ({count} missed): use the retry button below.")
    st.button(f"🔁 Retry the {len(missed)} question(s) I missed", key="quiz-retry-missed", on_click=start_retry,
              args=(questions,))
elif answered == total:
    st.success("Everything right. Well done!", icon="🏆")
