"""Quiz widgets shared by the final quiz page, each page's "check yourself" and the sidebar.

Answers live in session state, keyed by question id, so a question answered on a lesson page
counts on the quiz page and in the sidebar too. Checking happens in button callbacks, which run
before the script, so the sidebar (drawn before the page) always shows the current score.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from lessonkit import quiz
from lessonkit.quiz import Bank, Question
from ui.links import lesson_link

ROOT = Path(__file__).resolve().parents[1]
BANK_DIR = ROOT / "quizzes"
QUIZ_PAGE = "pages/quiz.py"

GRADES_KEY = "quiz_grades"  # question id -> record of the current answer
FIRST_KEY = "quiz_first_answers"  # question id -> record of the first answer (what the class sees)
ERRORS_KEY = "quiz_input_errors"  # widget prefix + question id -> message for a malformed answer


# --------------------------------------------------------------------------- the bank


def _bank_signature(folder: Path) -> tuple:
    try:
        return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in folder.glob("*.toml")))
    except OSError:
        return ()


@st.cache_resource(show_spinner=False, max_entries=4)
def _cached_bank(folder: str, signature: tuple) -> Bank:
    return quiz.load_bank(folder, project_root=ROOT)


def get_bank() -> Bank:
    """The question bank, re-read whenever a quiz file changes. Never raises."""
    return _cached_bank(str(BANK_DIR), _bank_signature(BANK_DIR))


def show_bank_problems(bank: Bank, section: int | None = None) -> None:
    """A clear message for broken quiz files (all of them, or those of one section's file)."""
    problems = bank.problems
    if section is not None:
        files = {s.source for s in bank.sections if s.number == section}
        problems = tuple(p for p in problems if p.file in files or not files)
    if not problems:
        return
    lines = "\n".join(f"- {problem}" for problem in problems[:20])
    more = f"\n- … and {len(problems) - 20} more" if len(problems) > 20 else ""
    st.warning(
        "Some quiz questions could not be loaded and are left out; the rest work as usual. "
        "Run `python -m lessonkit.quiz check quizzes/` for the full list.\n\n" + lines + more,
        icon="⚠️",
    )


# --------------------------------------------------------------------------- session records


def grades() -> dict[str, dict]:
    return st.session_state.setdefault(GRADES_KEY, {})


def first_answers() -> dict[str, dict]:
    return st.session_state.setdefault(FIRST_KEY, {})


def score_summary(bank: Bank) -> tuple[int, int, int]:
    """(right now, answered, questions in the bank) for this session."""
    ids = {question.id for question in bank.questions}
    current = {qid: record for qid, record in grades().items() if qid in ids}
    return sum(record["correct"] for record in current.values()), len(current), len(ids)


def first_try_score(bank: Bank) -> int:
    ids = {question.id for question in bank.questions}
    return sum(record["correct"] for qid, record in first_answers().items() if qid in ids)


# --------------------------------------------------------------------------- live questions


def concrete(question: Question) -> Question | None:
    """The question ready to show: live ones are built from the model now (None if it cannot load)."""
    if not question.is_live:
        return question
    from ui.state import get_model, sentence_attention

    loaded = get_model()
    if loaded is None:
        return None
    result = sentence_attention(loaded, question.params_dict.get("sentence", ""))
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
    errors = st.session_state.setdefault(ERRORS_KEY, {})
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
    }
    grades()[question.id] = record
    first_answers().setdefault(question.id, dict(record))


def _clear_widgets(question_id: str) -> None:
    marker = f"-{question_id}-"
    for key in [k for k in st.session_state.keys() if isinstance(k, str) and marker in k]:
        del st.session_state[key]


def _retry(question_id: str) -> None:
    grades().pop(question_id, None)
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
    message = st.session_state.get(ERRORS_KEY, {}).get(f"{prefix}:{question.id}")
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

RETRY_KEY = "quiz_retry_ids"


def missed_ids(bank: Bank) -> list[str]:
    ids = [question.id for question in bank.questions]
    current = grades()
    return [qid for qid in ids if qid in current and not current[qid]["correct"]]


def start_retry(bank: Bank) -> None:
    missed = missed_ids(bank)
    for question_id in missed:
        _retry(question_id)
    st.session_state[RETRY_KEY] = missed


def stop_retry() -> None:
    st.session_state.pop(RETRY_KEY, None)


# --------------------------------------------------------------------------- class mode

DEFAULT_SUBMISSIONS_URL = f"sqlite:///{ROOT / 'class_submissions.sqlite'}"
SUBMISSION_ID_KEY = "quiz_submission_id"
SENT_KEY = "quiz_sent_ids"
NAME_KEY = "quiz-display-name"
SENT_NAME_KEY = "quiz_sent_name"


def _configured_section() -> dict | None:
    """The ``[connections.submissions]`` secrets section, or None when there is none."""
    try:
        section = st.secrets.get("connections", {}).get("submissions")
    except Exception:  # no secrets file: use the embedded SQLite default
        return None
    return dict(section) if section else None


def submissions_engine():
    """The SQLAlchemy engine of the class's submissions database (``st.connection``).

    ``[connections.submissions]`` in .streamlit/secrets.toml (``url = "postgresql+psycopg://..."``,
    or dialect/host/port/database/username/password) wins; otherwise an SQLite file next to the app.
    """
    section = _configured_section()
    if section is None:
        return st.connection("submissions", type="sql", url=DEFAULT_SUBMISSIONS_URL).engine
    if section.get("url"):
        return st.connection("submissions", type="sql", url=str(section["url"])).engine
    return st.connection("submissions", type="sql").engine


def escape_markdown(text: str) -> str:
    """Text shown literally inside Markdown (no emphasis, links or HTML from user input)."""
    return "".join("\\" + ch if ch in "\\`*_{}[]()#+-.!<>|~$&" else ch for ch in text)


def submission_id() -> str:
    from lessonkit.submissions import new_submission_id

    return st.session_state.setdefault(SUBMISSION_ID_KEY, new_submission_id())


SEND_MESSAGE_KEY = "quiz_send_message"  # (kind, text) of the last send, shown once


def _pending(bank: Bank) -> dict[str, dict]:
    sent: set[str] = st.session_state.setdefault(SENT_KEY, set())
    ids = {question.id for question in bank.questions}
    return {qid: record for qid, record in first_answers().items() if qid in ids and qid not in sent}


def _send(bank: Bank) -> None:
    """Button callback: validate the name and store the unsent first answers (idempotent)."""
    from lessonkit import submissions

    locked_name = st.session_state.get(SENT_NAME_KEY)
    try:
        name = submissions.validate_display_name(
            locked_name if locked_name is not None else st.session_state.get(NAME_KEY, "")
        )
    except submissions.DisplayNameError as error:
        st.session_state[SEND_MESSAGE_KEY] = ("warning", str(error))
        return
    pending = _pending(bank)
    answers = [
        submissions.Answer(qid, record["section"], record["response"], record["response_text"], record["correct"])
        for qid, record in pending.items()
    ]
    try:
        result = submissions.submit(submissions_engine(), submission_id(), name, answers)
    except Exception as error:  # any database trouble: keep the answers, let the student retry
        st.session_state[SEND_MESSAGE_KEY] = (
            "error",
            "Your answers could not be stored just now; they are kept here, so press the button again "
            f"in a moment. ({type(error).__name__})",
        )
        return
    st.session_state[SENT_KEY].update(pending)
    st.session_state[SENT_NAME_KEY] = name
    text = f"{result.inserted} answer(s) stored for the class"
    if result.already_stored:
        text += f"; {result.already_stored} had been stored already"
    st.session_state[SEND_MESSAGE_KEY] = ("success", text + ".")


def class_mode_panel(bank: Bank) -> None:
    """Optional: a display name, and a button that sends this attempt's first answers to the class."""
    pending = _pending(bank)
    sent: set[str] = st.session_state[SENT_KEY]
    with st.container(border=True):
        st.markdown("**🏫 Class mode** (optional)")
        st.caption(
            "Taking the quiz with a class? Enter a display name, a nickname is fine, and send your answers. "
            "Nothing else about you is asked or stored. The class sees your first answer to each question."
        )
        locked_name = st.session_state.get(SENT_NAME_KEY)
        if locked_name is None:
            st.text_input("Display name", key=NAME_KEY, max_chars=80, placeholder="e.g. Ada L.")
        else:
            st.caption(f"Sending as **{escape_markdown(locked_name)}** · {len(sent)} answer(s) stored for the "
                       "class so far.")
        message = st.session_state.pop(SEND_MESSAGE_KEY, None)
        if message is not None:
            kind, text = message
            {"success": st.success, "warning": st.warning, "error": st.error}[kind](
                text, icon={"success": "📬", "warning": "✏️", "error": "🚫"}[kind]
            )
        if not pending:
            st.caption("Everything you have answered is stored; answer more and send again." if sent
                       else "Answer some questions first, then send them here.")
            return
        st.caption(f"{len(pending)} answer(s) not sent yet.")
        st.button("📤 Send my answers to the class", key="quiz-submit", on_click=_send, args=(bank,))
