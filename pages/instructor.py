"""Instructor view: run a live poll, and follow the class's quiz answers (refreshed automatically)."""
import streamlit as st

from lessonkit import polls, submissions
from lessonkit.csv_export import to_safe_csv
from lessonkit.quiz import question_numbers
from ui import instructor_widgets as iw
from ui import session_keys
from ui.app_guard import require_app_navigation
from ui.charts.common import show_chart
from ui.quiz_widgets import concrete, get_bank, submissions_engine

require_app_navigation()

POLL_REFRESH_SECONDS = 2
ANSWERS_REFRESH_SECONDS = 10
POLL_CHOICE_KEY = session_keys.INSTRUCTOR_POLL_CHOICE
OPEN_MESSAGE_KEY = session_keys.INSTRUCTOR_OPEN_MESSAGE

st.title("🧑‍🏫 Instructor view")

password = iw.configured_password()
if password is None:
    st.info(
        "The instructor view is switched off because no password is set. Add a line "
        '`instructor_password = "choose-a-long-one"` to `.streamlit/secrets.toml` (see '
        "`.streamlit/secrets.toml.example`) and restart the app.",
        icon="🔒",
    )
    st.stop()

try:  # where wrong tries are counted for every replica; without it, this process counts them
    gate_engine = submissions_engine()
except Exception:
    iw.log.exception("instructor view: no class database for counting password tries")
    gate_engine = None
if not iw.password_gate(password, gate_engine):
    st.stop()

controls = st.columns([1, 1, 4])
controls[0].button("🔒 Lock this page", key="instructor-lock", on_click=iw.lock_page)
auto_refresh = controls[1].toggle("Auto-refresh", value=True, key="instructor-auto-refresh",
                                  help="Re-read polls and answers every few seconds.")

bank = get_bank()
numbers = question_numbers(bank)  # as on the students' quiz page
engine = iw.safe_call("connect to the class database", submissions_engine)
if engine is iw.FAILED:
    st.caption("Check `[connections.submissions]` in .streamlit/secrets.toml.")
    st.stop()


# --------------------------------------------------------------------------- live poll


def _change_poll(action, poll_id: str, what: str) -> None:
    iw.safe_call(what, action, engine, poll_id)


def live_poll_panel() -> None:
    poll = iw.safe_call("read the current poll", polls.current_poll, engine)
    if poll is iw.FAILED:
        return
    if poll is None:
        st.info("No poll is running. Pick a question below and open it to the class; it appears at the top "
                "of every student's quiz page within a few seconds.", icon="📣")
        return
    question = poll.question
    st.markdown(f"**{question.label}** · {iw.poll_state_words(poll.state)}")
    st.markdown(question.prompt)
    result = iw.safe_call("count the answers", polls.distribution, engine, poll)
    if result is iw.FAILED:
        return
    st.metric("Students who answered", result.students)
    frame = polls.distribution_frame(poll, result)
    if question.kind == "multiple":
        st.caption("Students could tick several options; each ticked option counts once per student.")
    show_chart(iw.option_chart(frame.assign(option=frame["option"].map(iw.short))), width="stretch")
    table = frame.assign(share=(100 * frame["share"]).round(1))[["option", "count", "share", "right"]]
    st.dataframe(table.rename(columns={"count": "students", "share": "% of answers", "right": "right answer"}),
                 hide_index=True, width="stretch", key="instructor-poll-table")
    buttons = st.columns(4)
    if poll.state == polls.OPEN:
        buttons[0].button("⏸️ Close the poll", key="instructor-poll-close", on_click=_change_poll,
                          args=(polls.close_poll, poll.poll_id, "close the poll"))
    if poll.state in (polls.OPEN, polls.CLOSED):
        buttons[1].button("💡 Reveal the answer", key="instructor-poll-reveal", on_click=_change_poll,
                          args=(polls.reveal_poll, poll.poll_id, "reveal the answer"))
    buttons[2].button("⏹️ End (take it off screens)", key="instructor-poll-end", on_click=_change_poll,
                      args=(polls.end_poll, poll.poll_id, "end the poll"))
    answers = iw.safe_call("read the poll's answers", polls.answers_frame, engine, poll)
    if answers is not iw.FAILED:
        buttons[3].download_button("⬇️ This poll's answers (CSV)", data=to_safe_csv(answers),
                                   file_name=f"poll_{question.label}.csv", mime="text/csv",
                                   key="instructor-poll-csv")


def _open_poll() -> None:
    """Button callback: open the chosen bank question (live ones built from the model now)."""
    question_id = str(st.session_state.get(POLL_CHOICE_KEY) or "")  # the choice at the click, not at drawing
    question = bank.question(question_id)
    shown = concrete(question) if question is not None else None
    if shown is None:
        st.session_state[OPEN_MESSAGE_KEY] = (
            "error", "That question cannot be asked right now (a live question needs the model).")
        return
    try:
        poll_question = polls.poll_question(shown, iw.question_label(bank, question_id))
    except ValueError as error:
        st.session_state[OPEN_MESSAGE_KEY] = ("error", str(error))
        return
    if iw.safe_call("open the poll", polls.open_poll, engine, poll_question) is not iw.FAILED:
        st.session_state[OPEN_MESSAGE_KEY] = ("opened", f"{poll_question.label} is open to the class.")


def open_poll_form() -> None:
    # the quiz's order first (as students number them), then questions asked only on lesson pages
    choices = sorted((question for question in bank.questions if iw.pollable(question)),
                     key=lambda question: numbers.get(question.id, len(numbers) + 1))
    if not choices:
        st.warning("The question bank has no question with options to poll.", icon="⚠️")
        return
    labels = {
        question.id: f"{iw.question_label(bank, question.id)} · {'🔴 live · ' if question.is_live else ''}"
                     f"{iw.short(question.prompt.split('{')[0] if question.is_live else question.prompt)}"
        for question in choices
    }
    st.selectbox("Question (numbered as on the students' quiz page)", list(labels),
                          format_func=labels.__getitem__, key=POLL_CHOICE_KEY)
    st.button("📣 Open to the class", key="instructor-poll-open", on_click=_open_poll,
              help="Opening a question ends the poll that is running.")
    message = st.session_state.pop(OPEN_MESSAGE_KEY, None)
    if message is not None:
        kind, text = message
        if kind == "opened":
            st.toast(text, icon="📣")  # passes, unlike a box that would stay while the poll runs on
        else:
            st.error(text)
    st.caption("Numeric questions cannot be polled. Live questions are built from the model when opened.")


# --------------------------------------------------------------------------- quiz answers


def answers_panel() -> None:
    answers = iw.safe_call("read the submissions database", submissions.fetch_answers, engine)
    if answers is iw.FAILED:
        return
    counts = submissions.class_counts(answers)
    columns = st.columns(3)
    columns[0].metric("Quiz attempts", counts["attempts"])
    columns[1].metric("Display names", counts["names"])
    columns[2].metric("Answers stored", counts["answers"])
    if answers.empty:
        st.info("No answers yet. They appear here as students send them from the quiz page.", icon="📭")
        return
    answers = answers.assign(question=answers["question_id"].map(lambda q: iw.question_label(bank, q)))

    st.subheader("How often each question was answered right")
    st.caption("First answers only: a student's retries are not sent to the class. Questions are numbered "
               "as on the quiz page.")
    table = submissions.per_question(answers, order=sorted(numbers, key=numbers.__getitem__))
    table["question"] = table["question_id"].map(lambda q: iw.question_label(bank, q))
    prompts = {question.id: iw.short(question.prompt) for question in bank.questions}
    table["prompt"] = table["question_id"].map(lambda q: prompts.get(q, "(no longer in the bank)"))
    table["percent_correct"] = (100 * table["share_correct"]).round(1)
    show_chart(iw.answered_right_chart(table), width="stretch")

    st.subheader("Answers per option")
    answered = [q for q in bank.questions if q.id in set(answers["question_id"]) and q.options]
    if not answered:
        st.caption("No answers yet to a question with fixed options (live questions differ per model).")
    else:
        by_id = {q.id: q for q in answered}
        labels = {q.id: f"{iw.question_label(bank, q.id)} · {iw.short(q.prompt)}" for q in answered}
        chosen = st.selectbox("Question", list(labels), format_func=labels.__getitem__,
                              key="instructor-answers-question")
        question = by_id[chosen]
        counts_frame = iw.option_counts(answers, question)
        show_chart(iw.option_chart(counts_frame), width="stretch")
        st.dataframe(counts_frame[["option", "count", "right"]].rename(
            columns={"count": "students", "right": "right answer"}),
            hide_index=True, width="stretch", key="instructor-option-table")

    st.subheader("Commonest wrong answers")
    wrong = submissions.common_wrong_answers(answers, top=3)
    if wrong.empty:
        st.write("No wrong answers so far.")
    else:
        wrong.insert(0, "question", wrong["question_id"].map(lambda q: iw.question_label(bank, q)))
        st.dataframe(
            wrong.drop(columns="question_id").rename(columns={"response_text": "wrong answer", "count": "times"}),
            hide_index=True, width="stretch", key="instructor-wrong",
        )

    st.subheader("All answers")
    st.download_button(
        "⬇️ Download every answer (CSV)",
        data=to_safe_csv(answers),
        file_name="quiz_answers.csv",
        mime="text/csv",
        key="instructor-csv",
        help="Text that a spreadsheet would run as a formula starts with an apostrophe.",
    )
    with st.expander("Latest 50 answers"):
        latest = answers.drop(columns=["response"]).tail(50).iloc[::-1]
        st.dataframe(latest, hide_index=True, width="stretch", key="instructor-latest")


poll_tab, answers_tab, errors_tab = st.tabs(["📣 Live poll", "📊 Quiz answers", "⚠️ Server errors"])
with poll_tab:
    st.fragment(run_every=POLL_REFRESH_SECONDS if auto_refresh else None)(live_poll_panel)()
    if not auto_refresh:
        st.button("🔄 Refresh", key="instructor-poll-refresh")
    st.divider()
    st.subheader("Open a question to the class")
    open_poll_form()
with answers_tab:
    st.fragment(run_every=ANSWERS_REFRESH_SECONDS if auto_refresh else None)(answers_panel)()
    if not auto_refresh:
        st.button("🔄 Refresh", key="instructor-refresh")
with errors_tab:
    iw.show_recent_errors()
