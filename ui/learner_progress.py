"""The learner's anonymous browser id, and their progress kept on the server under it.

The id is a random 32-hex-digit string in a first-party cookie that a tiny script sets on this
machine's own page (``st.html`` with JavaScript; no request leaves the machine). Streamlit reads
cookies when the browser connects (``st.context.cookies``), so a reload, a second tab or a
server restart comes back with the same id. Progress (pages visited, the answer to each
question, the first answers the class sees) is kept in the app's database, keyed by that id
(lessonkit.progress_store), and merged with the session on every run: a reload restores it, two
tabs share it, and while the database is down the session keeps everything and saves it later.
"""
from __future__ import annotations

import logging
import time
import uuid

import streamlit as st

from lessonkit import progress_store, submissions
from lessonkit.progress_store import Progress
from ui.session_keys import (
    PAGES_VISITED,
    QUIZ_CLEARED,
    QUIZ_FIRST_ANSWERS,
    QUIZ_GRADES,
    QUIZ_INPUT_ERRORS,
    QUIZ_LEARNER_ID,
    QUIZ_LEARNER_REPLACES,
    QUIZ_PROGRESS_NOTICE,
    QUIZ_PROGRESS_RETRY_AT,
    QUIZ_RETRY_IDS,
    QUIZ_SEND_MESSAGE,
    QUIZ_SENT_IDS,
)

log = logging.getLogger(__name__)

COOKIE_NAME = "attention_lesson_learner"
COOKIE_MAX_AGE_S = 180 * 24 * 3600
RETRY_AFTER_FAILURE_S = 20.0  # a database that failed is not asked again on every click
KEPT_NOTE = (
    "Your progress is kept in this browser: an anonymous id in a cookie, your answers on this app's "
    "server. **Start over** on the quiz page forgets it."
)
KEPT_NOTE_ON_QUIZ = (
    "Your progress is kept in this browser (an anonymous id in a cookie, your answers on this app's "
    "server), so a reload or a second tab carries on where you were. **Start over** forgets it."
)


def _valid(value: object) -> bool:
    return isinstance(value, str) and submissions.SUBMISSION_ID_PATTERN.match(value) is not None


def _cookie_value() -> str | None:
    value = st.context.cookies.get(COOKIE_NAME)  # empty without a browser (AppTest)
    return value if _valid(value) else None


def learner_id() -> str:
    """This learner's id: the session's, else the browser's cookie, else a new one."""
    state = st.session_state
    current = state.get(QUIZ_LEARNER_ID)
    if isinstance(current, str) and _valid(current):
        return current
    current = _cookie_value() or uuid.uuid4().hex
    state[QUIZ_LEARNER_ID] = current
    return current


# Two tabs opened at the same moment, before the browser held an id, get one id each. The tab whose
# script runs second finds the first one's cookie: it keeps that id and reloads once (its session
# has nothing yet), so both tabs are one learner. After "start over" the new id replaces the old.
_COOKIE_SCRIPT = """<script>(() => {
  const name = "%(name)s", id = "%(id)s", replace = %(replace)s;
  const set = (value) => { document.cookie = name + "=" + value + "; path=/; max-age=%(max_age)d; SameSite=Lax"; };
  const kept = document.cookie.split("; ").map((c) => c.split("=")).find(([k, v]) => k === name && /^[0-9a-f]{32}$/.test(v || ""));
  if (kept && kept[1] !== id && !replace) {
    set(kept[1]);
    if (!sessionStorage.getItem(name)) { sessionStorage.setItem(name, "adopted"); location.reload(); }
    return;
  }
  set(id);
})();</script>"""


def keep_id_in_browser() -> None:
    """Draw the small script that stores the id in a cookie, when the browser did not send it."""
    current = learner_id()
    if _cookie_value() == current:
        return
    # the id is 32 hex digits (checked by learner_id), so it is safe inside the script
    st.html(
        _COOKIE_SCRIPT % {"name": COOKIE_NAME, "id": current, "max_age": COOKIE_MAX_AGE_S,
                          "replace": "true" if st.session_state.get(QUIZ_LEARNER_REPLACES) else "false"},
        unsafe_allow_javascript=True,
    )


def _session_progress() -> Progress:
    state = st.session_state
    return Progress(
        visited=set(state.get(PAGES_VISITED, set())),
        grades=dict(state.get(QUIZ_GRADES, {})),
        cleared=dict(state.get(QUIZ_CLEARED, {})),
        first=dict(state.get(QUIZ_FIRST_ANSWERS, {})),
    )


def _set_session_progress(progress: Progress) -> None:
    state = st.session_state
    state[PAGES_VISITED] = progress.visited
    state[QUIZ_GRADES] = progress.grades
    state[QUIZ_CLEARED] = progress.cleared
    state[QUIZ_FIRST_ANSWERS] = progress.first


def _engine():
    from ui.quiz_widgets import submissions_engine

    return submissions_engine()


def sync_progress() -> None:
    """Merge the session's progress with the stored one and save what the store lacks.

    Never raises: if the database cannot be used, the session keeps everything, the learner is
    told that progress is not being saved, and the database is asked again a little later.
    """
    state = st.session_state
    if time.monotonic() < state.get(QUIZ_PROGRESS_RETRY_AT, 0.0):
        return
    identity = learner_id()
    session = _session_progress()
    try:
        engine = _engine()
        stored, recreated = progress_store.load(engine, identity, connect_retry=False)
        merged, missing = progress_store.merge(session, stored)
        if not missing.is_empty():
            recreated = progress_store.save(engine, identity, missing, connect_retry=False) or recreated
    except Exception as error:  # any database trouble: keep the session, say so, try later
        log.warning("Could not keep the progress of a learner on the server: %s", error)
        state[QUIZ_PROGRESS_RETRY_AT] = time.monotonic() + RETRY_AFTER_FAILURE_S
        kind = error.kind if isinstance(error, submissions.SubmissionError) else "other"
        reason = {
            "unreachable": "the app's database cannot be reached",
            "too_many_clients": "the app's database has reached its connection limit",
            "missing_folder": "the app's database is not set up on the server",
            "read_only": "the app's database is read-only",
            "busy": "the app's database is busy",
        }.get(kind, "the app's database reported a problem")
        state[QUIZ_PROGRESS_NOTICE] = (
            "warning",
            (f"Your progress is not being saved right now ({reason}). It stays in this tab; "
             "reloading the page would lose what is not saved."),
        )
        return
    state.pop(QUIZ_PROGRESS_RETRY_AT, None)
    if recreated:
        state[QUIZ_PROGRESS_NOTICE] = (
            "info",
            ("The app's database file had been deleted on the server and has been made again. Your "
             "progress from this tab is saved in it again."),
        )
    elif state.get(QUIZ_PROGRESS_NOTICE, ("",))[0] == "warning":
        state[QUIZ_PROGRESS_NOTICE] = ("success", "Your progress is being saved again.")
    _set_session_progress(merged)


def show_progress_notice() -> None:
    """The last message about keeping progress (if any); a success or info message shows once."""
    notice = st.session_state.get(QUIZ_PROGRESS_NOTICE)
    if not notice:
        return
    kind, text = notice
    if kind != "warning":
        st.session_state.pop(QUIZ_PROGRESS_NOTICE, None)
    {"warning": st.warning, "info": st.info, "success": st.success}[kind](
        text, icon={"warning": "💾", "info": "ℹ️", "success": "💾"}[kind]
    )


def start_over() -> None:
    """Button callback: a new anonymous id and an empty progress; the old progress is deleted.

    Answers already sent to the class stay there (they belong to the old attempt).
    """
    state = st.session_state
    old = learner_id()
    try:
        progress_store.clear(_engine(), old)
    except Exception as error:  # the old rows stay; the new id starts empty all the same
        log.warning("Could not delete the progress of a learner who started over: %s", error)
    for key in (PAGES_VISITED, QUIZ_GRADES, QUIZ_CLEARED, QUIZ_FIRST_ANSWERS, QUIZ_INPUT_ERRORS, QUIZ_RETRY_IDS,
                QUIZ_SENT_IDS, QUIZ_SEND_MESSAGE):
        state.pop(key, None)
    from ui.quiz_widgets import clear_answer_widgets

    clear_answer_widgets()
    state[QUIZ_LEARNER_ID] = uuid.uuid4().hex
    state[QUIZ_LEARNER_REPLACES] = True  # the browser's cookie must take the new id, not give back the old
    state[QUIZ_PROGRESS_NOTICE] = ("success", "Started over: your progress is cleared.")
