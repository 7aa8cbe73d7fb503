"""Quiz widgets shared by the final quiz page, each page's "check yourself" and the sidebar.

Answers live in session state, keyed by question id, so a question answered on a lesson page
counts in the sidebar too; ui/learner_progress.py keeps them on the server under the learner's
anonymous browser id, so a reload brings them back. Checking happens in button callbacks, which
run before the script, so the sidebar (drawn before the page) always shows the current score.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from lessonkit import quiz
from lessonkit.quiz import QUIZ_PAGE, Bank, Question
from ui.links import lesson_link
from ui.session_keys import (
    QUIZ_CLEARED,
    QUIZ_DISPLAY_NAME,
    QUIZ_FIRST_ANSWERS,
    QUIZ_GRADES,
    QUIZ_INPUT_ERRORS,
    QUIZ_RETRY_IDS,
    QUIZ_SEND_MESSAGE,
    QUIZ_SENT_IDS,
)

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
BANK_DIR = ROOT / "quizzes"
__all__ = ["QUIZ_PAGE"]  # re-exported for the pages that link to the quiz


# --------------------------------------------------------------------------- the bank


def _bank_signature(folder: Path) -> tuple:
    try:
        return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in folder.glob("*.toml")))
    except OSError:
        return ()


@st.cache_resource(show_spinner=False, max_entries=4)
def _cached_bank(folder: str, signature: tuple) -> Bank:
    bank = quiz.load_bank(folder, project_root=ROOT)
    # the details (server paths, fields) go to the server log once per load, not to learners
    for problem in bank.problems:
        log.warning("Quiz bank problem: %s", problem)
    for warning in bank.warnings:
        log.info("Quiz bank warning: %s", warning)
    return bank


def get_bank() -> Bank:
    """The question bank, re-read whenever a quiz file changes. Never raises."""
    return _cached_bank(str(BANK_DIR), _bank_signature(BANK_DIR))


def show_bank_problems(bank: Bank, section: int | None = None) -> None:
    """A short message for broken quiz files (all of them, or one section's file); no server paths."""
    problems = bank.problems
    if section is not None:
        files = {s.source for s in bank.sections if s.number == section}
        problems = tuple(p for p in problems if p.file in files or not files)
    if not problems:
        return
    where = list(dict.fromkeys(problem.short() for problem in problems))
    listed = "; ".join(where[:8]) + (f"; and {len(where) - 8} more" if len(where) > 8 else "")
    st.warning(
        f"Some quiz questions could not be loaded and are left out ({listed}); the rest work as usual. "
        "The details are in the server's log.",
        icon="⚠️",
    )


# --------------------------------------------------------------------------- session records


def grades() -> dict[str, dict]:
    return st.session_state.setdefault(QUIZ_GRADES, {})


def first_answers() -> dict[str, dict]:
    return st.session_state.setdefault(QUIZ_FIRST_ANSWERS, {})


def cleared() -> dict[str, float]:
    return st.session_state.setdefault(QUIZ_CLEARED, {})


def score_summary(questions: Sequence[Question]) -> tuple[int, int, int]:
    """(right now, answered, number of questions) over ``questions`` for this learner."""
    ids = {question.id for question in questions}
    current = {qid: record for qid, record in grades().items() if qid in ids}
    return sum(record["correct"] for record in current.values()), len(current), len(ids)


def first_try_score(questions: Sequence[Question]) -> int:
    ids = {question.id for question in questions}
    return sum(record["correct"] for qid, record in first_answers().items() if qid in ids)


# --------------------------------------------------------------------------- live questions


def concrete(question: Question) -> Question | None:
    """The question ready to show: live ones are built from the model now (None if it cannot load)."""
    if not question.is_live:
        return question
    from ui.models import analyse, get_model

    loaded = get_model()
    if loaded is None:
        return None
    result = analyse(loaded, question.params_dict.get("sentence", ""))
    if result is None:
        return None
    try:
        return quiz.build_live(question, result.attn, result.tokens, loaded.facts.name)
    except ValueError as error:
        st.warning(f"This live question cannot be asked for {loaded.facts.name}: {error}", icon="⚠️")
        return None


# --------------------------------------------------------------------------- one question


def _widget_key(prefix: str, question_id: str, part: str) -> str:
    return f"{prefix}-{question_id}-{part}"


def _read_response(question: Question, prefix: str) -> Any:
    state = st.session_state
    if question.type in ("single", "live"):
        return state.get(_widget_key(prefix, question.id, "choice"))
    if question.type == "multiple":
        return [o.key for o in question.options if state.get(_widget_key(prefix, question.id, f"opt-{o.key}"))]
    return state.get(_widget_key(prefix, question.id, "number"))


def _check(question: Question, prefix: str) -> None:
    errors = st.session_state.setdefault(QUIZ_INPUT_ERRORS, {})
    error_key = f"{prefix}:{question.id}"
    try:
        response = quiz.normalize_response(question, _read_response(question, prefix))
        result = quiz.grade(question, response)
    except quiz.ResponseError as error:
        errors[error_key] = str(error)
        return
    errors.pop(error_key, None)
    record = {
        "response": list(response) if isinstance(response, tuple) else response,
        "response_text": quiz.describe_response(question, response),
        "correct": result.correct,
        "feedback": list(result.feedback),
        "section": question.section,
        "at": time.time(),  # the latest answer wins when two tabs or a reload merge (ui/learner_progress.py)
    }
    grades()[question.id] = record
    cleared().pop(question.id, None)
    first_answers().setdefault(question.id, dict(record))


def _clear_widgets(question_id: str) -> None:
    marker = f"-{question_id}-"
    for key in [k for k in st.session_state if isinstance(k, str) and marker in k]:
        del st.session_state[key]


def clear_answer_widgets() -> None:
    """Forget what is typed or ticked in every question's widgets (for "start over")."""
    for question in get_bank().questions:
        _clear_widgets(question.id)


def _retry(question_id: str) -> None:
    grades().pop(question_id, None)
    cleared()[question_id] = time.time()
    _clear_widgets(question_id)


def render_question(question: Question, prefix: str, label: str = "", bank: Bank | None = None,
                    link_back: bool = False) -> None:
    """Ask one question (or show its feedback once answered), with a try-again button."""
    with st.container(border=True):
        shown = concrete(question)
        if shown is None:
            st.markdown(f"**{label}** {question.prompt.split('{')[0]}…")
            st.info("This question is built from the model, which is not available right now.", icon="⏳")
            return
        st.markdown(f"**{label}** {shown.prompt}" if label else shown.prompt)
        record = grades().get(question.id)
        if record is None:
            _ask(shown, prefix)
            return
        _feedback(shown, record, prefix, bank, link_back)


def _ask(question: Question, prefix: str) -> None:
    if question.type in ("single", "live"):
        texts = {option.key: option.text for option in question.options}
        st.radio(
            "Your answer", options=list(texts), format_func=texts.__getitem__, index=None,
            key=_widget_key(prefix, question.id, "choice"), label_visibility="collapsed",
        )
    elif question.type == "multiple":
        st.caption("Tick every option that is right.")
        for option in question.options:
            st.checkbox(option.text, key=_widget_key(prefix, question.id, f"opt-{option.key}"))
    else:
        st.number_input(
            "Your answer (a number)", value=None, step=0.001, format="%.4f",
            key=_widget_key(prefix, question.id, "number"), placeholder="type a number",
        )
    st.button("Check", key=_widget_key(prefix, question.id, "check"), on_click=_check, args=(question, prefix))
    message = st.session_state.get(QUIZ_INPUT_ERRORS, {}).get(f"{prefix}:{question.id}")
    if message:
        st.warning(message, icon="✏️")


def _feedback(question: Question, record: dict, prefix: str, bank: Bank | None, link_back: bool) -> None:
    if record["correct"]:
        st.success(f"Right. Your answer: {record['response_text']}", icon="✅")
    else:
        st.error(f"Not quite. Your answer: {record['response_text']}", icon="❌")
    for line in record["feedback"]:
        st.markdown(line)
    if not record["correct"]:
        if link_back and bank is not None:
            section = bank.section(question.section)
            if section is not None and section.page != QUIZ_PAGE:
                lesson_link(section.page, f"Revisit section {section.number}: {section.title}", icon="📖")
        st.button("Try again", key=_widget_key(prefix, question.id, "retry"), on_click=_retry, args=(question.id,))


# --------------------------------------------------------------------------- retry of missed questions


def missed_ids(questions: Sequence[Question]) -> list[str]:
    current = grades()
    return [q.id for q in questions if q.id in current and not current[q.id]["correct"]]


def start_retry(questions: Sequence[Question]) -> None:
    missed = missed_ids(questions)
    for question_id in missed:
        _retry(question_id)
    st.session_state[QUIZ_RETRY_IDS] = missed


def stop_retry() -> None:
    st.session_state.pop(QUIZ_RETRY_IDS, None)


# --------------------------------------------------------------------------- class mode

DEFAULT_SUBMISSIONS_URL = f"sqlite:///{ROOT / 'class_submissions.sqlite'}"
DATABASE_URL_ENV = "LESSON_DATABASE_URL"  # used when secrets.toml has no [connections.submissions]


def _configured_section() -> dict | None:
    """The ``[connections.submissions]`` secrets section, or None when there is none."""
    try:
        section = st.secrets.get("connections", {}).get("submissions")
    except Exception:  # no secrets file: use the environment or the embedded SQLite default
        return None
    return dict(section) if section else None


def submissions_engine():
    """The SQLAlchemy engine of the app's database: class answers, progress, polls (``st.connection``).

    ``[connections.submissions]`` in .streamlit/secrets.toml (``url = "postgresql+psycopg://..."``,
    or dialect/host/port/database/username/password; pool sizes in its ``create_engine_kwargs``)
    wins; else the ``LESSON_DATABASE_URL`` environment variable; else an SQLite file next to the app.
    """
    section = _configured_section()
    if section is None:
        url = os.environ.get(DATABASE_URL_ENV, "").strip() or DEFAULT_SUBMISSIONS_URL
        return st.connection("submissions", type="sql", url=url).engine
    # passed on explicitly so they apply however the secrets were given (st.connection reads them only from a file)
    pool = dict(section.get("create_engine_kwargs") or {})
    if section.get("url"):
        return st.connection("submissions", type="sql", url=str(section["url"]), **pool).engine
    return st.connection("submissions", type="sql", **pool).engine


def escape_markdown(text: str) -> str:
    """Text shown literally inside Markdown (no emphasis, links or HTML from user input)."""
    return "".join("\\" + ch if ch in "\\`*_{}[]()#+-.!<>|~$&" else ch for ch in text)


def submission_id() -> str:
    """This learner's attempt: derived from the browser's id, so reloads and tabs send the same one."""
    from lessonkit.submissions import submission_id_for
    from ui.learner_progress import learner_id

    return submission_id_for(learner_id())


def _attempt_status(connect_retry: bool):
    from lessonkit import submissions

    return submissions.attempt_status(submissions_engine(), submission_id(), connect_retry=connect_retry)


def _say(kind: str, text: str) -> None:
    st.session_state[QUIZ_SEND_MESSAGE] = (kind, text)


def _send(questions: Sequence[Question]) -> None:
    """Button callback: store the attempt's unsent first answers under its display name (idempotent)."""
    from lessonkit import submissions

    try:
        status = _attempt_status(connect_retry=True)
        name = status.display_name or submissions.validate_display_name(st.session_state.get(QUIZ_DISPLAY_NAME, ""))
    except submissions.DisplayNameError as error:
        _say("warning", str(error))
        return
    except submissions.SubmissionError as error:
        log.warning("Class answers not stored: %s", error)
        _say("error", error.student_message)
        return
    ids = {question.id for question in questions}
    pending = {qid: r for qid, r in first_answers().items() if qid in ids and qid not in status.stored_ids}
    answers = [
        submissions.Answer(qid, record["section"], record["response"], record["response_text"], record["correct"])
        for qid, record in pending.items()
    ]
    try:
        result = submissions.submit(submissions_engine(), submission_id(), name, answers)
    except submissions.NameLockedError as error:  # another tab sent first, under another name
        _say("warning", str(error))
        return
    except submissions.SubmissionError as error:
        log.warning("Class answers not stored: %s", error)
        _say("error", error.student_message)
        return
    except Exception as error:  # e.g. no database driver: the same promise, the detail to the log
        log.exception("Class answers not stored")
        _say("error", submissions.STUDENT_MESSAGES["other"] + f" ({type(error).__name__})")
        return
    st.session_state.setdefault(QUIZ_SENT_IDS, set()).update(status.stored_ids | set(pending))
    text = f"{result.inserted} answer(s) stored for the class as “{escape_markdown(name)}”"
    if result.already_stored:
        text += f"; {result.already_stored} had been stored already (from another tab)"
    text += "."
    if status.recreated or result.recreated:
        text += (" The class database file had been deleted on the server and was made again; your "
                 "answers are in the new one.")
    _say("success", text)


def class_mode_panel(questions: Sequence[Question]) -> None:
    """Optional: a display name, and a button that sends this attempt's first answers to the class."""
    from lessonkit import submissions

    ids = {question.id for question in questions}
    firsts = {qid: record for qid, record in first_answers().items() if qid in ids}
    try:
        status = _attempt_status(connect_retry=False)
        problem = None
    except submissions.SubmissionError as error:
        log.warning("Class database not readable: %s", error)
        status, problem = None, error.student_message
    except Exception as error:  # a wrong URL or a missing driver: a configuration problem
        log.exception("Class database not readable")
        status, problem = None, submissions.STUDENT_MESSAGES["other"] + f" ({type(error).__name__})"
    stored = (status.stored_ids & ids) if status is not None else frozenset()
    pending = {qid: record for qid, record in firsts.items() if qid not in stored}
    sent_before = st.session_state.setdefault(QUIZ_SENT_IDS, set())
    lost = (sent_before & ids) - stored if status is not None else set()
    with st.container(border=True):
        st.markdown("**🏫 Class mode** (optional)")
        st.caption(
            "Taking the quiz with a class? Enter a display name, a nickname is fine, and send your answers. "
            "Nothing else about you is asked or stored. The class sees your first answer to each question."
        )
        locked_name = status.display_name if status is not None else None
        if locked_name is None:
            st.text_input("Display name", key=QUIZ_DISPLAY_NAME, max_chars=80, placeholder="e.g. Ada L.")
        else:
            st.caption(f"Sending as **{escape_markdown(locked_name)}** (fixed for this attempt) · {len(stored)} "
                       "answer(s) stored for the class so far.")
        if problem is not None:
            st.error(problem, icon="🚫")
        if lost:
            st.warning(
                f"{len(lost)} answer(s) you sent earlier are no longer in the class database (it was deleted "
                "or reset on the server). They are still here: send them again.",
                icon="♻️",
            )
        message = st.session_state.pop(QUIZ_SEND_MESSAGE, None)
        if message is not None:
            kind, text = message
            {"success": st.success, "warning": st.warning, "error": st.error}[kind](
                text, icon={"success": "📬", "warning": "✏️", "error": "🚫"}[kind]
            )
        if not pending:
            st.caption("Everything you have answered is stored; answer more and send again." if stored
                       else "Answer some questions first, then send them here.")
            return
        st.caption(f"{len(pending)} answer(s) not sent yet.")
        st.button("📤 Send my answers to the class", key="quiz-submit", on_click=_send, args=(tuple(questions),))
