"""Live polls: the instructor opens one question to the class, students answer once, the class
sees the distribution, then the instructor closes the poll and reveals the explanation.

Stored in the same SQL database as the class's quiz answers (:mod:`lessonkit.submissions`), so
every app replica behind a proxy sees the same poll. No Streamlit here; pages pass the engine of
``st.connection("submissions", type="sql")``.

A poll keeps a copy of its question (prompt, options, right keys) taken when it was opened: a
live question is built from the model on the instructor's replica, and every replica must show
the students the same options.

Idempotency: an answer row is keyed by (poll_id, student_key) and inserted with
"ON CONFLICT DO NOTHING" only while the poll is open, in one statement, so a double click, a
retry, a second tab or two replicas at once store one answer per student; the first one is kept.

States: open -> closed (no more answers) -> revealed (students see the explanation) -> ended
(taken off the students' screens). Opening a poll ends every other poll.
"""
from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

# one database with the quiz answers, and one way to run a transaction and survive its faults
from lessonkit import submissions

POLLS_TABLE = "live_polls"
POLL_ANSWERS_TABLE = "live_poll_answers"
STUDENT_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
POLL_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
KINDS = ("single", "multiple")
OPEN, CLOSED, REVEALED, ENDED = "open", "closed", "revealed", "ended"
STATES = (OPEN, CLOSED, REVEALED, ENDED)

metadata = sa.MetaData()
polls_table = sa.Table(
    POLLS_TABLE,
    metadata,
    sa.Column("poll_id", sa.String(32), primary_key=True),
    sa.Column("question_id", sa.String(64), nullable=False),
    sa.Column("label", sa.String(32), nullable=False),  # the number students see, e.g. "Q5"
    sa.Column("kind", sa.String(16), nullable=False),  # single | multiple
    sa.Column("prompt", sa.Text, nullable=False),
    sa.Column("options", sa.Text, nullable=False),  # JSON: [{"key", "text", "explanation"}, ...]
    sa.Column("answer", sa.Text, nullable=False),  # JSON: list of the right keys
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("revealed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
)
_state_index = sa.Index("ix_live_polls_state", polls_table.c.state, polls_table.c.opened_at)
poll_answers_table = sa.Table(
    POLL_ANSWERS_TABLE,
    metadata,
    sa.Column("poll_id", sa.String(32), primary_key=True),
    sa.Column("student_key", sa.String(64), primary_key=True),
    sa.Column("response", sa.Text, nullable=False),  # JSON: sorted list of the chosen keys
    sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
)


class PollError(RuntimeError):
    """The poll could not be read or changed (database trouble); the message is for the log."""


class PollResponseError(ValueError):
    """The response does not fit the poll's question; the message is meant for the student."""


@dataclass(frozen=True)
class PollOption:
    key: str
    text: str
    explanation: str


@dataclass(frozen=True)
class PollQuestion:
    """What a poll asks: a copy of a bank question with options (single or multiple choice)."""

    question_id: str
    label: str
    kind: str
    prompt: str
    options: tuple[PollOption, ...]
    answer: tuple[str, ...]  # the right keys

    def option(self, key: str) -> PollOption | None:
        return next((option for option in self.options if option.key == key), None)

    def describe(self, keys: Iterable[str]) -> str:
        """The chosen options in words, "; " between them (an unknown key as itself)."""
        return "; ".join(option.text if (option := self.option(key)) else str(key) for key in keys)


@dataclass(frozen=True)
class Poll:
    poll_id: str
    question: PollQuestion
    state: str
    opened_at: datetime
    closed_at: datetime | None = None
    revealed_at: datetime | None = None

    @property
    def accepts_answers(self) -> bool:
        return self.state == OPEN


@dataclass(frozen=True)
class Distribution:
    """How many students picked each option (a student ticking two options counts for both)."""

    counts: dict[str, int]  # option key -> students who chose it, every option present
    students: int  # students who answered


# outcomes of answer_poll
STORED, ALREADY_ANSWERED, NOT_OPEN, NO_SUCH_POLL = "stored", "already_answered", "not_open", "no_such_poll"


# --------------------------------------------------------------------------- questions


def poll_question(question: Any, label: str) -> PollQuestion:
    """A poll's copy of a :class:`lessonkit.quiz.Question` that has options (live ones built).

    Raises ValueError for a numeric question or a live question that was not built yet.
    """
    if question.type == "numeric":
        raise ValueError("Numeric questions cannot be polled; pick a question with options.")
    if not question.options:
        raise ValueError("This question has no options yet (a live question must be built from the model).")
    kind = "multiple" if question.type == "multiple" else "single"
    answer = (question.answer,) if isinstance(question.answer, str) else tuple(question.answer)
    return PollQuestion(
        question_id=question.id,
        label=str(label),
        kind=kind,
        prompt=question.prompt,
        options=tuple(PollOption(o.key, o.text, o.explanation) for o in question.options),
        answer=tuple(sorted(answer)),
    )


def normalize_poll_response(question: PollQuestion, response: Any) -> tuple[str, ...]:
    """The response as a sorted tuple of option keys, or PollResponseError saying what is wrong."""
    if question.kind == "single":
        if not isinstance(response, str) or question.option(response) is None:
            raise PollResponseError("Pick one of the options.")
        return (response,)
    if isinstance(response, str) or not isinstance(response, Iterable):
        raise PollResponseError("Tick the options you think are right.")
    keys = tuple(sorted(set(response)))
    if not keys:
        raise PollResponseError("Tick at least one option.")
    if any(not isinstance(key, str) or question.option(key) is None for key in keys):
        raise PollResponseError("That is not one of the options.")
    return keys


def check_student_key(student_key: Any) -> str:
    if not isinstance(student_key, str) or not STUDENT_KEY_PATTERN.match(student_key):
        raise ValueError("student_key must be 1-64 letters, digits, - or _")
    return student_key


def _check_poll_id(poll_id: Any) -> str:
    if not isinstance(poll_id, str) or not POLL_ID_PATTERN.match(poll_id):
        raise ValueError("poll_id must be 32 lowercase hex digits")
    return poll_id


# --------------------------------------------------------------------------- schema and retries

_schema_ready: set[str] = set()


def ensure_schema(bind: Engine | Connection) -> None:
    """Create the poll tables if they do not exist (safe from several threads and replicas)."""
    submissions.ensure_tables(bind, tuple(metadata.sorted_tables), _schema_ready, (_state_index,))


def _forget(bind: Engine | Connection) -> None:
    _schema_ready.discard(submissions._url_key(bind))


T = TypeVar("T")


def _run(bind: Engine | Connection, work: Callable[[Connection], T], wait_for_connection: bool = True) -> T:
    """``work`` in one transaction with the class database's fault handling (lessonkit.submissions):
    busy retried, a dropped table or deleted SQLite file recreated, a refused connection retried
    with back-off unless ``wait_for_connection`` is False (reads that are repeated every few
    seconds anyway). Anything else raises PollError and changes nothing."""
    try:
        result, _ = submissions.run_in_transaction(
            bind, work, ensure_schema, _forget, connect_delays=None if wait_for_connection else ())
    except submissions.SubmissionError as error:
        raise PollError(f"The poll database failed: {error}") from error
    return result


def _now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- instructor side


def _poll_from_row(row: Any) -> Poll:
    options = tuple(PollOption(o["key"], o["text"], o["explanation"]) for o in json.loads(row.options))
    question = PollQuestion(row.question_id, row.label, row.kind, row.prompt, options, tuple(json.loads(row.answer)))
    return Poll(row.poll_id, question, row.state, row.opened_at, row.closed_at, row.revealed_at)


def open_poll(bind: Engine | Connection, question: PollQuestion) -> Poll:
    """Open ``question`` to the class as a new poll; every other poll is ended in the same transaction."""
    if question.kind not in KINDS or not question.options:
        raise ValueError("a poll needs a single- or multiple-choice question with options")
    poll_id = uuid.uuid4().hex
    now = _now()
    row = {
        "poll_id": poll_id,
        "question_id": question.question_id,
        "label": question.label[:32],
        "kind": question.kind,
        "prompt": question.prompt,
        "options": json.dumps([{"key": o.key, "text": o.text, "explanation": o.explanation} for o in question.options]),
        "answer": json.dumps(list(question.answer)),
        "state": OPEN,
        "opened_at": now,
    }

    def work(connection: Connection) -> None:
        connection.execute(
            polls_table.update().where(polls_table.c.state != ENDED).values(state=ENDED, ended_at=now)
        )
        connection.execute(polls_table.insert().values(**row))

    _run(bind, work)
    return Poll(poll_id, question, OPEN, now)


def _select_polls() -> sa.Select:
    return sa.select(polls_table)


def get_poll(bind: Engine | Connection, poll_id: str) -> Poll | None:
    poll_id = _check_poll_id(poll_id)
    row = _run(bind, lambda c: c.execute(_select_polls().where(polls_table.c.poll_id == poll_id)).first())
    return _poll_from_row(row) if row is not None else None


def current_poll(bind: Engine | Connection) -> Poll | None:
    """The newest poll that is not ended (what students see), or None."""
    statement = (
        _select_polls()
        .where(polls_table.c.state != ENDED)
        .order_by(polls_table.c.opened_at.desc(), polls_table.c.poll_id.desc())
        .limit(1)
    )
    row = _run(bind, lambda c: c.execute(statement).first(), wait_for_connection=False)
    return _poll_from_row(row) if row is not None else None


def recent_polls(bind: Engine | Connection, limit: int = 20) -> list[Poll]:
    """The newest polls first, ended ones included (for the instructor's history)."""
    statement = _select_polls().order_by(polls_table.c.opened_at.desc(), polls_table.c.poll_id.desc()).limit(limit)
    return [_poll_from_row(row) for row in _run(bind, lambda c: c.execute(statement).all())]


def _move(bind: Engine | Connection, poll_id: str, allowed_from: Sequence[str], values: dict) -> Poll | None:
    poll_id = _check_poll_id(poll_id)

    def work(connection: Connection) -> Any:
        connection.execute(
            polls_table.update()
            .where(polls_table.c.poll_id == poll_id, polls_table.c.state.in_(list(allowed_from)))
            .values(**values)
        )
        return connection.execute(_select_polls().where(polls_table.c.poll_id == poll_id)).first()

    row = _run(bind, work)
    return _poll_from_row(row) if row is not None else None


def close_poll(bind: Engine | Connection, poll_id: str) -> Poll | None:
    """Stop taking answers (no change if it was already closed). The poll afterwards, or None."""
    return _move(bind, poll_id, [OPEN], {"state": CLOSED, "closed_at": _now()})


def reveal_poll(bind: Engine | Connection, poll_id: str) -> Poll | None:
    """Show students the right answer and the explanations; closes the poll if it was open."""
    now = _now()
    poll_id = _check_poll_id(poll_id)

    def work(connection: Connection) -> Any:
        table = polls_table
        connection.execute(
            table.update().where(table.c.poll_id == poll_id, table.c.state == OPEN).values(closed_at=now)
        )
        connection.execute(
            table.update()
            .where(table.c.poll_id == poll_id, table.c.state.in_([OPEN, CLOSED]))
            .values(state=REVEALED, revealed_at=now)
        )
        return connection.execute(_select_polls().where(table.c.poll_id == poll_id)).first()

    row = _run(bind, work)
    return _poll_from_row(row) if row is not None else None


def end_poll(bind: Engine | Connection, poll_id: str) -> Poll | None:
    """Take the poll off the students' screens (its answers stay stored)."""
    return _move(bind, poll_id, [OPEN, CLOSED, REVEALED], {"state": ENDED, "ended_at": _now()})


# --------------------------------------------------------------------------- student side


def _insert_answer_if_open(connection: Connection, row: dict) -> int:
    """Insert the answer only while its poll is open and only once per student: 1 stored, 0 not."""
    dialect = connection.dialect.name
    source = sa.select(
        sa.literal(row["poll_id"], sa.String(32)),
        sa.literal(row["student_key"], sa.String(64)),
        sa.literal(row["response"], sa.Text),
        sa.literal(row["answered_at"], sa.DateTime(timezone=True)),
    ).where(
        sa.exists().where(polls_table.c.poll_id == row["poll_id"], polls_table.c.state == OPEN)
    )
    columns = ["poll_id", "student_key", "response", "answered_at"]
    if dialect in ("sqlite", "postgresql"):
        from sqlalchemy.dialects import postgresql, sqlite

        insert: Any = sqlite.insert if dialect == "sqlite" else postgresql.insert
        statement = insert(poll_answers_table).from_select(columns, source).on_conflict_do_nothing(
            index_elements=["poll_id", "student_key"]
        )
        result = connection.execute(statement.execution_options(preserve_rowcount=True))
        if result.rowcount < 0:
            raise PollError(f"The {dialect} driver did not report whether the answer was stored.")
        return int(result.rowcount)
    # other databases: duplicates rejected by the primary key inside a savepoint
    try:
        with connection.begin_nested():
            result = connection.execute(
                poll_answers_table.insert().from_select(columns, source).execution_options(preserve_rowcount=True)
            )
        return max(int(result.rowcount), 0)
    except IntegrityError:
        return 0


def answer_poll(bind: Engine | Connection, poll_id: str, student_key: str, response: Any) -> str:
    """Store one student's answer to an open poll, at most once.

    Returns STORED, ALREADY_ANSWERED (the first answer is kept), NOT_OPEN (closed, revealed or
    ended) or NO_SUCH_POLL. Raises PollResponseError for a response that fits no option and
    PollError when the database fails.
    """
    poll_id = _check_poll_id(poll_id)
    student_key = check_student_key(student_key)
    poll = get_poll(bind, poll_id)
    if poll is None:
        return NO_SUCH_POLL
    keys = normalize_poll_response(poll.question, response)
    row = {"poll_id": poll_id, "student_key": student_key, "response": json.dumps(list(keys)), "answered_at": _now()}

    def work(connection: Connection) -> str:
        if _insert_answer_if_open(connection, row):
            return STORED
        stored = connection.execute(
            sa.select(poll_answers_table.c.response).where(
                poll_answers_table.c.poll_id == poll_id, poll_answers_table.c.student_key == student_key
            )
        ).first()
        return ALREADY_ANSWERED if stored is not None else NOT_OPEN

    return _run(bind, work)


def student_answer(bind: Engine | Connection, poll_id: str, student_key: str) -> tuple[str, ...] | None:
    """The keys this student chose in this poll, or None if they have not answered."""
    poll_id = _check_poll_id(poll_id)
    student_key = check_student_key(student_key)
    statement = sa.select(poll_answers_table.c.response).where(
        poll_answers_table.c.poll_id == poll_id, poll_answers_table.c.student_key == student_key
    )
    row = _run(bind, lambda c: c.execute(statement).first(), wait_for_connection=False)
    return tuple(json.loads(row[0])) if row is not None else None


def _responses(bind: Engine | Connection, poll_id: str) -> list[tuple[str, str, datetime]]:
    poll_id = _check_poll_id(poll_id)
    table = poll_answers_table
    statement = (
        sa.select(table.c.student_key, table.c.response, table.c.answered_at)
        .where(table.c.poll_id == poll_id)
        .order_by(table.c.answered_at, table.c.student_key)
    )
    return [tuple(row) for row in _run(bind, lambda c: c.execute(statement).all())]


def distribution(bind: Engine | Connection, poll: Poll) -> Distribution:
    """Students per option (every option listed, zeros included) and the number who answered."""
    counts = {option.key: 0 for option in poll.question.options}
    rows = _responses(bind, poll.poll_id)
    for _, response, _ in rows:
        for key in json.loads(response):
            if key in counts:
                counts[key] += 1
    return Distribution(counts=counts, students=len(rows))


def distribution_frame(poll: Poll, result: Distribution) -> pd.DataFrame:
    """One row per option in the question's order: key, text, count, share of students, right."""
    right = set(poll.question.answer)
    rows = [
        {
            "key": option.key,
            "option": option.text,
            "count": result.counts.get(option.key, 0),
            "share": result.counts.get(option.key, 0) / result.students if result.students else 0.0,
            "right": option.key in right,
        }
        for option in poll.question.options
    ]
    return pd.DataFrame(rows, columns=["key", "option", "count", "share", "right"])


def pseudonym(student_key: str) -> str:
    """A short stand-in for a student key in exports: the key is the browser's learner id, which
    would let whoever holds it act as that student."""
    return hashlib.sha256(student_key.encode("utf-8")).hexdigest()[:12]


def answers_frame(bind: Engine | Connection, poll: Poll) -> pd.DataFrame:
    """Every answer of a poll, for the instructor's CSV: student (pseudonym), chosen options, right, time."""
    right = set(poll.question.answer)
    rows = []
    for student_key, response, answered_at in _responses(bind, poll.poll_id):
        keys = json.loads(response)
        rows.append({
            "poll_id": poll.poll_id,
            "question": poll.question.label,
            "question_id": poll.question.question_id,
            "student": pseudonym(student_key),
            "response": poll.question.describe(keys),
            "correct": set(keys) == right,
            "answered_at": answered_at,
        })
    columns = ["poll_id", "question", "question_id", "student", "response", "correct", "answered_at"]
    return pd.DataFrame(rows, columns=columns)
