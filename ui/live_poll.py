"""The student's side of a live poll: shown at the top of the quiz page, refreshed without reloading.

``show_open_poll()`` draws a fragment that re-reads the class's current poll every few seconds:
nothing when there is none; the question with a "send" button while it is open; the student's
own answer once sent; the right answer and the explanations once the instructor reveals them.
Database trouble is logged on the server; the student sees one short line, never a traceback.
"""
from __future__ import annotations

import logging
from typing import Any

import streamlit as st

from lessonkit import polls
from ui import session_keys

log = logging.getLogger(__name__)

REFRESH_SECONDS = 3
ANSWERED_KEY = session_keys.LIVE_POLL_ANSWERED
MESSAGE_KEY = session_keys.LIVE_POLL_MESSAGE


def student_key() -> str:
    """Who is answering: one key per student, so a second answer is not counted twice.

    The learner id the browser keeps in a cookie (ui/learner_progress.py): a reload or a second
    tab is the same student. "Start over" on the quiz page makes a new one.
    """
    from ui.learner_progress import learner_id

    return learner_id()


def _engine():
    from ui.quiz_widgets import submissions_engine

    return submissions_engine()


def _choice_key(poll_id: str, option_key: str | None = None) -> str:
    return f"live-poll-{poll_id}-" + (f"opt-{option_key}" if option_key is not None else "choice")


def _read_choice(question: polls.PollQuestion, poll_id: str) -> Any:
    if question.kind == "single":
        return st.session_state.get(_choice_key(poll_id))
    return [o.key for o in question.options if st.session_state.get(_choice_key(poll_id, o.key))]


def _send(poll_id: str, question: polls.PollQuestion, student: str) -> None:
    """Button callback: store this student's answer once."""
    try:
        outcome = polls.answer_poll(_engine(), poll_id, student, _read_choice(question, poll_id))
    except polls.PollResponseError as error:
        st.session_state[MESSAGE_KEY] = ("warning", str(error))
        return
    except Exception:
        log.exception("live poll: storing an answer failed")
        st.session_state[MESSAGE_KEY] = (
            "error", "Your answer could not be stored just now. Press send again in a moment.")
        return
    if outcome in (polls.STORED, polls.ALREADY_ANSWERED):
        st.session_state.pop(ANSWERED_KEY, None)  # read back the stored (first) answer
        if outcome == polls.ALREADY_ANSWERED:
            st.session_state[MESSAGE_KEY] = ("info", "You had already answered this poll; your first answer counts.")
    else:
        st.session_state[MESSAGE_KEY] = ("info", "This poll is closed, so the answer was not counted.")


def _my_answer(poll: polls.Poll, student: str) -> tuple[str, ...] | None:
    known: dict = st.session_state.setdefault(ANSWERED_KEY, {})
    if poll.poll_id in known:
        return known[poll.poll_id]
    mine = polls.student_answer(_engine(), poll.poll_id, student)
    if mine is not None:
        known[poll.poll_id] = mine
    return mine


def _show_message() -> None:
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message is not None:
        kind, text = message
        {"warning": st.warning, "error": st.error, "info": st.info}[kind](text)


def _ask(poll: polls.Poll, student: str) -> None:
    question = poll.question
    if question.kind == "single":
        texts = {option.key: option.text for option in question.options}
        st.radio("Your answer", options=list(texts), format_func=texts.__getitem__, index=None,
                 key=_choice_key(poll.poll_id), label_visibility="collapsed")
    else:
        st.caption("Tick every option that is right.")
        for option in question.options:
            st.checkbox(option.text, key=_choice_key(poll.poll_id, option.key))
    st.button("📨 Send my answer", key=f"live-poll-{poll.poll_id}-send", on_click=_send,
              args=(poll.poll_id, question, student))


def _reveal(poll: polls.Poll, mine: tuple[str, ...] | None) -> None:
    question = poll.question
    right = set(question.answer)
    words = question.describe(question.answer)
    if mine is None:
        st.info(f"The answer: “{words}”")
    elif set(mine) == right:
        st.success(f"You were right. The answer: “{words}”", icon="✅")
    else:
        st.error(f"Not this time. You answered “{question.describe(mine)}”; the answer: “{words}”", icon="❌")
    for option in question.options:
        mark = "✔" if option.key in right else "✘"
        st.markdown(f"{mark} **{option.text}**  \n{option.explanation}")



def _draw(student: str | None) -> None:
    try:
        poll = polls.current_poll(_engine())
    except Exception:
        log.exception("live poll: reading the current poll failed")
        st.caption("Live polls are not available right now.")
        return
    if poll is None:
        return
    try:
        who = student or student_key()
        mine = _my_answer(poll, who)
    except Exception:
        log.exception("live poll: reading the student's answer failed")
        st.caption("Live polls are not available right now.")
        return
    question = poll.question
    with st.container(border=True, key=f"poll-box-{poll.poll_id}"):
        st.markdown(f"**📣 Live poll from your instructor · {question.label}**")
        st.markdown(question.prompt)
        _show_message()
        if poll.state == polls.REVEALED:
            _reveal(poll, mine)
            return
        if mine is not None:
            st.success(f"Your answer is in: {question.describe(mine)}", icon="📬")
        elif poll.state == polls.OPEN:
            _ask(poll, who)
            return
        if poll.state == polls.CLOSED:
            st.caption("The poll is closed. Wait for your instructor to reveal the answer.")
        else:
            st.caption("Wait for your instructor to close the poll and reveal the answer.")


@st.fragment(run_every=REFRESH_SECONDS)
def _poll_fragment(student: str | None) -> None:
    try:
        _draw(student)
    except Exception:  # never a traceback on the student's quiz page
        log.exception("live poll: drawing the poll failed")
        st.caption("Live polls are not available right now.")


def show_open_poll(student: str | None = None) -> None:
    """The class's live poll, if one is running, refreshed every few seconds without a page reload.

    ``student``: the key that identifies this student's answer; default: :func:`student_key`.
    """
    _poll_fragment(student)
