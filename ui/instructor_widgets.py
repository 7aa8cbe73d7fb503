"""The instructor page's parts: the password gate with limited tries, question numbers as students
see them, per-option counts, and the live-poll controls."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from lessonkit import polls, recent_errors
from lessonkit.quiz import Bank, Question, question_numbers
from lessonkit.try_limits import SqlTryLimiter, TryLimiter, describe_wait
from ui import session_keys

log = logging.getLogger(__name__)
recent_errors.install()  # from the app's first run on: errors are kept for the instructor to read

AUTH_KEY = session_keys.INSTRUCTOR_AUTHORISED
SESSION_TRIES_KEY = session_keys.INSTRUCTOR_SESSION_TRIES
PASSWORD_KEY = session_keys.INSTRUCTOR_PASSWORD

# A session may try 5 wrong passwords per 5 minutes. A client address gets more, because a
# classroom often shares one address behind NAT, but not so many that guessing pays off.
SESSION_MAX_FAILURES, SESSION_WINDOW = 5, 300.0
CLIENT_MAX_FAILURES, CLIENT_WINDOW = 20, 900.0
_client_limiter = TryLimiter(CLIENT_MAX_FAILURES, CLIENT_WINDOW)


def reset_client_limits() -> None:
    """Forget every client's wrong tries (tests; a server restart does the same)."""
    global _client_limiter
    _client_limiter = TryLimiter(CLIENT_MAX_FAILURES, CLIENT_WINDOW)


# --------------------------------------------------------------------------- configuration


def configured_password() -> str | None:
    """The instructor password from secrets, or None when none is set (the page is then off)."""
    try:
        value = st.secrets.get("instructor_password")
    except (FileNotFoundError, StreamlitSecretNotFoundError):  # no secrets file, or a broken one
        return None
    return str(value) if value else None


def instructor_page_enabled() -> bool:
    return configured_password() is not None


# --------------------------------------------------------------------------- who is trying


def client_from(forwarded_for: str | None, ip_address: str | None) -> str:
    """The client's address: the first X-Forwarded-For hop when a proxy sent one, else the socket's."""
    if forwarded_for:
        first = forwarded_for.split(",")[0].strip()
        if first:
            return first[:64]
    return (ip_address or "unknown")[:64]


def client_id() -> str:
    forwarded = st.context.headers.get("X-Forwarded-For")
    ip = st.context.ip_address
    return client_from(forwarded if isinstance(forwarded, str) else None, ip if isinstance(ip, str) else None)


def _session_limiter() -> TryLimiter:
    limiter = st.session_state.get(SESSION_TRIES_KEY)
    if not isinstance(limiter, TryLimiter):
        limiter = st.session_state[SESSION_TRIES_KEY] = TryLimiter(SESSION_MAX_FAILURES, SESSION_WINDOW)
    return limiter


def _fingerprint(password: str) -> str:
    return hashlib.sha256(password.encode("utf-8")).hexdigest()


def is_authorised(password: str) -> bool:
    return st.session_state.get(AUTH_KEY) == _fingerprint(password)


def lock_page() -> None:
    st.session_state.pop(AUTH_KEY, None)


def _client_limiters(engine: Any) -> list:
    """This process's count of a client's wrong tries, and the database's, which every replica shares."""
    limiters: list = [_client_limiter]
    if engine is not None:
        limiters.append(SqlTryLimiter(engine, CLIENT_MAX_FAILURES, CLIENT_WINDOW))
    return limiters


def _each(limiters: list, call: str, *args: Any) -> list:
    """``call`` on every limiter; a database that fails is logged and left out (memory still counts)."""
    results = []
    for limiter in limiters:
        try:
            results.append(getattr(limiter, call)(*args))
        except Exception:
            log.exception("instructor password limit: %s failed", call)
    return results


def password_gate(password: str, engine: Any = None) -> bool:
    """True once this session entered the password; otherwise draws the form (Enter submits it).

    ``engine``: the class database, where wrong tries per client are counted across replicas.
    """
    if is_authorised(password):
        return True
    client = client_id()
    clients = _client_limiters(engine)
    session = _session_limiter()
    st.write("This page shows the class's answers and runs live polls. Enter the instructor password.")
    with st.form("instructor-login", clear_on_submit=True, enter_to_submit=True):
        entered = st.text_input("Instructor password", type="password", key=PASSWORD_KEY)
        submitted = st.form_submit_button("Open", key="instructor-open")
    wait = max([session.wait_seconds("this session"), *_each(clients, "wait_seconds", client)])
    if wait > 0:
        st.error(
            f"Too many wrong passwords. Password entry is locked for {describe_wait(wait)}; "
            "try again after that.",
            icon="⏳",
        )
        return False
    if not submitted:
        return False
    if hmac.compare_digest(str(entered).encode("utf-8"), password.encode("utf-8")):
        st.session_state[AUTH_KEY] = _fingerprint(password)
        st.rerun()
    session.record_failure("this session")
    _each(clients, "record_failure", client)
    log.warning("wrong instructor password from client %s", client)
    left = min([session.failures_left("this session"), *_each(clients, "failures_left", client)])
    wait = max([session.wait_seconds("this session"), *_each(clients, "wait_seconds", client)])
    if wait > 0:
        st.error(
            f"That password is not right. Too many wrong passwords: password entry is locked for "
            f"{describe_wait(wait)}.",
            icon="⏳",
        )
    else:
        st.error(f"That password is not right. {left} more {'try' if left == 1 else 'tries'} before a "
                 "lock-out.", icon="🚫")
    return False


# --------------------------------------------------------------------------- questions


def question_label(bank: Bank, question_id: str) -> str:
    """The question as students see it: "Q5" on the quiz page; a question asked only in a lesson
    page's "check yourself" block has no number and is named by its section."""
    number = question_numbers(bank).get(question_id)
    if number is not None:
        return f"Q{number}"
    question = bank.question(question_id)
    return f"Section {question.section} check" if question is not None else question_id


def short(text: str, limit: int = 90) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def option_counts(answers: pd.DataFrame, question: Question) -> pd.DataFrame:
    """Students per option of one question from the stored quiz answers (key, option, count, right)."""
    counts = {option.key: 0 for option in question.options}
    for raw in answers.loc[answers["question_id"] == question.id, "response"]:
        try:
            value = json.loads(raw)
        except (TypeError, ValueError):
            continue
        for key in [value] if isinstance(value, str) else value if isinstance(value, list) else []:
            if key in counts:
                counts[key] += 1
    right = {question.answer} if isinstance(question.answer, str) else set(question.answer or ())
    return pd.DataFrame(
        [{"key": o.key, "option": short(o.text, 60), "count": counts[o.key], "right": o.key in right}
         for o in question.options],
        columns=["key", "option", "count", "right"],
    )


def option_chart(frame: pd.DataFrame, height_per_bar: int = 30) -> alt.Chart:
    """Horizontal bars: students per option, the right option(s) in green."""
    data = frame.assign(mark=frame["right"].map({True: "right", False: "not right"}))
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("count:Q", title="students", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("option:N", title=None, sort=list(data["option"]), axis=alt.Axis(labelLimit=420, labelOverlap=False)),
            color=alt.Color("mark:N", title=None, scale=alt.Scale(domain=["right", "not right"],
                                                                    range=["#2e7d32", "#9e9e9e"])),
            tooltip=[alt.Tooltip("option:N"), alt.Tooltip("count:Q", title="students")],
        )
        .properties(height=alt.Step(height_per_bar))
    )


def pollable(question: Question) -> bool:
    return question.type in ("single", "multiple", "live")


def poll_state_words(state: str) -> str:
    return {
        polls.OPEN: "🟢 open: students can answer",
        polls.CLOSED: "⏸️ closed: no more answers",
        polls.REVEALED: "💡 closed, explanation shown to students",
        polls.ENDED: "⏹️ ended",
    }.get(state, state)


FAILED = object()  # what safe_call returns when the call failed (None can be a real answer)


def safe_call(what: str, function, *args: Any, **kwargs: Any) -> Any:
    """Run a storage call; on failure log it, show the instructor a short message, return FAILED."""
    try:
        return function(*args, **kwargs)
    except Exception as error:
        log.exception("instructor view: %s failed", what)
        st.error(f"Could not {what}: {type(error).__name__}. The details are in the server log.", icon="🚫")
        return FAILED


def show_recent_errors() -> None:
    """The latest errors this server process logged, newest first, with their tracebacks."""
    records = recent_errors.store().latest()
    st.caption("Students see a short message when something fails; the details are logged on the server and "
               "the latest are kept here (this server process only: each replica keeps its own).")
    if not records:
        st.write("No errors logged since this server started.")
        return
    for record in records:
        with st.expander(f"{record.at:%H:%M:%S} UTC · {record.logger} · {short(record.message, 100)}"):
            st.code(record.message + ("\n\n" + record.details if record.details else ""), language=None)


def answered_right_chart(table: pd.DataFrame) -> alt.Chart:
    """One bar per question: the share of first answers that were right, coloured by section."""
    return (
        alt.Chart(table)
        .mark_bar()
        .encode(
            x=alt.X("share_correct:Q", title="share answered right", scale=alt.Scale(domain=[0, 1]),
                    axis=alt.Axis(format="%")),
            y=alt.Y("question:N", title="question", sort=list(table["question"]), axis=alt.Axis(labelOverlap=False)),
            color=alt.Color("section:O", title="section", scale=alt.Scale(scheme="tableau10")),
            tooltip=[
                alt.Tooltip("question:N", title="question"),
                alt.Tooltip("question_id:N", title="id"),
                alt.Tooltip("section:O", title="section"),
                alt.Tooltip("prompt:N", title="prompt"),
                alt.Tooltip("answered:Q", title="answered"),
                alt.Tooltip("correct:Q", title="right"),
                alt.Tooltip("percent_correct:Q", title="% right"),
            ],
        )
        .properties(height=alt.Step(26))
    )
