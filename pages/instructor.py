"""Instructor view of class mode: who took the quiz, per-question correctness, common wrong answers, CSV."""
import hashlib
import hmac

import altair as alt
import streamlit as st

from lessonkit import submissions
from ui.quiz_widgets import get_bank, submissions_engine
from ui.app_guard import require_app_navigation

require_app_navigation()

AUTH_KEY = "instructor_authorised"

st.title("🧑‍🏫 Instructor view")


def configured_password() -> str | None:
    try:
        value = st.secrets.get("instructor_password")
    except Exception:  # no secrets file at all
        return None
    return str(value) if value else None


def fingerprint(password: str) -> str:
    return hashlib.sha256(password.encode("utf-8")).hexdigest()


password = configured_password()
if password is None:
    st.info(
        "The instructor view is switched off because no password is set. Add a line "
        '`instructor_password = "choose-a-long-one"` to `.streamlit/secrets.toml` (see '
        "`.streamlit/secrets.toml.example`) and restart the app.",
        icon="🔒",
    )
    st.stop()

if st.session_state.get(AUTH_KEY) != fingerprint(password):
    st.write("This page shows the class's quiz answers. Enter the instructor password to open it.")
    entered = st.text_input("Instructor password", type="password", key="instructor-password")
    if st.button("Open", key="instructor-open"):
        if hmac.compare_digest(entered.encode("utf-8"), password.encode("utf-8")):
            st.session_state[AUTH_KEY] = fingerprint(password)
            st.session_state.pop("instructor-password", None)
            st.rerun()
        st.error("That password is not right.", icon="🚫")
    st.stop()

if st.button("🔒 Lock this page", key="instructor-lock"):
    st.session_state.pop(AUTH_KEY, None)
    st.rerun()

bank = get_bank()
prompts = {question.id: question.prompt for question in bank.questions}
order = [question.id for question in bank.questions]

try:
    answers = submissions.fetch_answers(submissions_engine())
except Exception as error:  # unreachable database, wrong url, missing driver
    st.error(f"The submissions database could not be read: {type(error).__name__}. Check "
             "`[connections.submissions]` in .streamlit/secrets.toml.", icon="🚫")
    st.stop()

counts = submissions.class_counts(answers)
columns = st.columns(3)
columns[0].metric("Quiz attempts", counts["attempts"])
columns[1].metric("Display names", counts["names"])
columns[2].metric("Answers stored", counts["answers"])
st.button("🔄 Refresh", key="instructor-refresh")

if answers.empty:
    st.info("No answers yet. They appear here as students send them from the quiz page.", icon="📭")
    st.stop()

st.subheader("How often each question was answered right")
st.caption("First answers only: a student's retries are not sent to the class.")
table = submissions.per_question(answers, order=order)
table["prompt"] = table["question_id"].map(lambda q: prompts.get(q, "(no longer in the bank)"))
table["percent_correct"] = (100 * table["share_correct"]).round(1)
chart = (
    alt.Chart(table)
    .mark_bar()
    .encode(
        x=alt.X("share_correct:Q", title="share answered right", scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%")),
        y=alt.Y("question_id:N", title="question", sort=list(table["question_id"]),
                axis=alt.Axis(labelOverlap=False, labelLimit=220)),
        color=alt.Color("section:O", title="section", scale=alt.Scale(scheme="tableau10")),
        tooltip=[
            alt.Tooltip("question_id:N", title="question"),
            alt.Tooltip("section:O", title="section"),
            alt.Tooltip("prompt:N", title="prompt"),
            alt.Tooltip("answered:Q", title="answered"),
            alt.Tooltip("correct:Q", title="right"),
            alt.Tooltip("percent_correct:Q", title="% right"),
        ],
    )
    .properties(height=max(200, 24 * len(table)))
)
st.altair_chart(chart, width="stretch")

st.subheader("Commonest wrong answers")
wrong = submissions.common_wrong_answers(answers, top=3)
if wrong.empty:
    st.write("No wrong answers so far.")
else:
    wrong["prompt"] = wrong["question_id"].map(lambda q: prompts.get(q, ""))
    st.dataframe(
        wrong.rename(columns={"question_id": "question", "response_text": "wrong answer", "count": "times"}),
        hide_index=True, width="stretch", key="instructor-wrong",
    )

st.subheader("All answers")
st.download_button(
    "⬇️ Download every answer (CSV)",
    data=submissions.to_csv(answers),
    file_name="quiz_answers.csv",
    mime="text/csv",
    key="instructor-csv",
)
with st.expander("Latest 50 answers"):
    latest = answers.drop(columns=["response"]).tail(50).iloc[::-1]
    st.dataframe(latest, hide_index=True, width="stretch", key="instructor-latest")
