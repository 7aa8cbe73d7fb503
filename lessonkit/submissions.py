"""Class mode: storing students' quiz answers in a SQL database, and summarising them.

Works on any SQLAlchemy Engine or Connection (SQLite file by default, PostgreSQL for a class
served by several app replicas); no Streamlit here. The page obtains the engine from
``st.connection("submissions", type="sql")``.

Idempotency: every answer row is keyed by (submission_id, question_id). The submission id is made
once per quiz attempt (in the student's session) and every submit inserts with
"ON CONFLICT DO NOTHING" (SQLite and PostgreSQL), so sending the same answers again, from a
double click, a retry after a network error, or two replicas at once, stores each answer exactly
once; the first answer to a question in an attempt is the one kept.
"""
from __future__ import annotations

import json
import re
import threading
import time
import unicodedata
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator, Sequence

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

TABLE_NAME = "quiz_answers"
MAX_NAME_LENGTH = 40
NAME_PATTERN = re.compile(r"^[^\W_][\w .'-]*$")
SUBMISSION_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
MAX_RESPONSE_TEXT = 1_000

metadata = sa.MetaData()
answers_table = sa.Table(
    TABLE_NAME,
    metadata,
    sa.Column("submission_id", sa.String(32), primary_key=True),
    sa.Column("question_id", sa.String(64), primary_key=True),
    sa.Column("display_name", sa.String(MAX_NAME_LENGTH), nullable=False),
    sa.Column("section", sa.Integer, nullable=False),
    sa.Column("response", sa.Text, nullable=False),  # JSON: key, list of keys, or number
    sa.Column("response_text", sa.Text, nullable=False),  # the response in words, for the instructor
    sa.Column("correct", sa.Boolean, nullable=False),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
)
_question_index = sa.Index("ix_quiz_answers_question", answers_table.c.question_id)


class DisplayNameError(ValueError):
    """The display name cannot be used; the message says why (meant for the student)."""


class SubmissionError(RuntimeError):
    """The answers could not be stored; nothing was lost from the student's session."""


@dataclass(frozen=True)
class Answer:
    question_id: str
    section: int
    response: Any  # JSON-serialisable: an option key, a list of keys, or a number
    response_text: str
    correct: bool


@dataclass(frozen=True)
class SubmitResult:
    inserted: int  # rows newly stored by this call
    already_stored: int  # rows that were stored before (same attempt and question)


# --------------------------------------------------------------------------- input checks


def validate_display_name(name: Any) -> str:
    """The cleaned display name (spaces collapsed), or DisplayNameError with a readable reason."""
    if not isinstance(name, str):
        raise DisplayNameError("Type a display name.")
    cleaned = " ".join(unicodedata.normalize("NFC", name).split())
    if not cleaned:
        raise DisplayNameError("Type a display name (a nickname is fine) to submit your answers.")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise DisplayNameError(f"Your display name has {len(cleaned)} characters; keep it to {MAX_NAME_LENGTH}.")
    if not NAME_PATTERN.match(cleaned):
        raise DisplayNameError(
            "Use letters, digits, spaces and . - _ ' only, starting with a letter or digit "
            "(no <, >, &, @, = or other symbols)."
        )
    return cleaned


def new_submission_id() -> str:
    return uuid.uuid4().hex


def _check_submission_id(submission_id: str) -> str:
    if not isinstance(submission_id, str) or not SUBMISSION_ID_PATTERN.match(submission_id):
        raise ValueError("submission_id must be 32 lowercase hex digits (see new_submission_id)")
    return submission_id


# --------------------------------------------------------------------------- schema

_schema_lock = threading.Lock()
_schema_ready: set[str] = set()


def _url_key(bind: Engine | Connection) -> str:
    engine = bind if isinstance(bind, Engine) else bind.engine
    return engine.url.render_as_string(hide_password=True)


def _table_exists(connection: Connection) -> bool:
    return sa.inspect(connection).has_table(TABLE_NAME)


def ensure_schema(bind: Engine | Connection) -> None:
    """Create the answers table and its index if they do not exist (safe to call concurrently)."""
    key = _url_key(bind)
    if key in _schema_ready:
        return
    with _schema_lock:
        if key in _schema_ready:
            return
        for attempt in range(5):
            try:
                with _transaction(bind) as connection:
                    connection.execute(sa.schema.CreateTable(answers_table, if_not_exists=True))
                    connection.execute(sa.schema.CreateIndex(_question_index, if_not_exists=True))
                break
            except (IntegrityError, ProgrammingError, OperationalError):
                # another process created it at the same moment (PostgreSQL may report that as a
                # unique violation on its catalogue), or SQLite was busy: look, then try again
                try:
                    with _transaction(bind) as connection:
                        if _table_exists(connection):
                            break
                except OperationalError:
                    pass
                time.sleep(0.05 * (attempt + 1))
        else:
            raise SubmissionError("Could not create the submissions table.")
        _schema_ready.add(key)


# --------------------------------------------------------------------------- writing


@contextmanager
def _transaction(bind: Engine | Connection) -> Iterator[Connection]:
    if isinstance(bind, Engine):
        with bind.begin() as connection:
            yield connection
    elif bind.in_transaction():
        yield bind
    else:
        with bind.begin():
            yield bind


def _insert_ignore(connection: Connection, row: dict) -> int:
    """Insert a row unless its key exists; 1 if inserted, 0 if it was already there."""
    dialect = connection.dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        statement = insert(answers_table).values(**row).on_conflict_do_nothing(
            index_elements=["submission_id", "question_id"]
        )
        # rowcount of an INSERT is only kept when asked for (SQLAlchemy 2); 0 means "already there"
        result = connection.execute(statement.execution_options(preserve_rowcount=True))
        if result.rowcount < 0:
            raise SubmissionError(f"The {dialect} driver did not report whether the answer was stored.")
        return int(result.rowcount)
    # other databases: a savepoint per row, duplicates rejected by the primary key
    try:
        with connection.begin_nested():
            connection.execute(answers_table.insert().values(**row))
        return 1
    except IntegrityError:
        return 0


def _is_busy(error: OperationalError) -> bool:
    text = str(error.orig).lower() if error.orig is not None else str(error).lower()
    return "locked" in text or "busy" in text or "could not serialize" in text or "deadlock" in text


def _is_missing_table(error: sa.exc.DBAPIError) -> bool:
    text = str(error.orig if error.orig is not None else error).lower()
    return "no such table" in text or ("relation" in text and "does not exist" in text)


def submit(
    bind: Engine | Connection,
    submission_id: str,
    display_name: str,
    answers: Sequence[Answer],
    retries: int = 20,
) -> SubmitResult:
    """Store the answers of one attempt, each exactly once, in one transaction.

    Re-sending answers already stored changes nothing (they count as ``already_stored``).
    A busy database is retried with back-off; any other failure raises SubmissionError and
    stores nothing (the transaction is rolled back), so the caller can simply send again.
    """
    submission_id = _check_submission_id(submission_id)
    display_name = validate_display_name(display_name)
    now = datetime.now(timezone.utc)
    rows = [
        {
            "submission_id": submission_id,
            "question_id": answer.question_id,
            "display_name": display_name,
            "section": int(answer.section),
            "response": json.dumps(answer.response, sort_keys=True),
            "response_text": str(answer.response_text)[:MAX_RESPONSE_TEXT],
            "correct": bool(answer.correct),
            "submitted_at": now,
        }
        for answer in answers
    ]
    if len({row["question_id"] for row in rows}) != len(rows):
        raise ValueError("each question may appear only once in a submission")
    ensure_schema(bind)
    delay = 0.02
    for attempt in range(retries + 1):
        try:
            with _transaction(bind) as connection:
                if connection.dialect.name == "sqlite":
                    connection.exec_driver_sql("PRAGMA busy_timeout = 10000")
                inserted = sum(_insert_ignore(connection, row) for row in rows)
            return SubmitResult(inserted=inserted, already_stored=len(rows) - inserted)
        except (OperationalError, ProgrammingError) as error:
            if _is_missing_table(error) and attempt < retries:
                # the table was dropped (e.g. the SQLite file deleted) while the app kept running
                _schema_ready.discard(_url_key(bind))
                ensure_schema(bind)
                continue
            if not _is_busy(error) or attempt == retries or not isinstance(bind, Engine):
                raise SubmissionError(f"The database did not accept the answers: {error.orig or error}") from error
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        except sa.exc.SQLAlchemyError as error:
            raise SubmissionError(f"The database did not accept the answers: {error}") from error
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- reading and summaries

COLUMNS = ["submission_id", "display_name", "question_id", "section", "response", "response_text", "correct", "submitted_at"]


def fetch_answers(bind: Engine | Connection) -> pd.DataFrame:
    """Every stored answer, oldest first (an empty frame with the columns if there are none)."""
    ensure_schema(bind)
    statement = sa.select(*[answers_table.c[name] for name in COLUMNS]).order_by(
        answers_table.c.submitted_at, answers_table.c.submission_id, answers_table.c.question_id
    )
    try:
        with _transaction(bind) as connection:
            rows = connection.execute(statement).all()
    except (OperationalError, ProgrammingError) as error:
        if not _is_missing_table(error):
            raise
        _schema_ready.discard(_url_key(bind))
        ensure_schema(bind)
        rows = []
    frame = pd.DataFrame([tuple(row) for row in rows], columns=COLUMNS)
    frame["correct"] = frame["correct"].astype(bool)
    return frame


def class_counts(answers: pd.DataFrame) -> dict[str, int]:
    """How many attempts (submission ids), distinct display names and answers are stored."""
    return {
        "attempts": int(answers["submission_id"].nunique()),
        "names": int(answers["display_name"].nunique()),
        "answers": int(len(answers)),
    }


def per_question(answers: pd.DataFrame, order: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per question: answered, correct, share correct (0..1), in ``order`` when given."""
    columns = ["question_id", "section", "answered", "correct", "share_correct"]
    if answers.empty:
        return pd.DataFrame(columns=columns)
    grouped = answers.groupby("question_id").agg(
        section=("section", "first"), answered=("correct", "size"), correct=("correct", "sum")
    ).reset_index()
    grouped["correct"] = grouped["correct"].astype(int)
    grouped["share_correct"] = grouped["correct"] / grouped["answered"]
    if order is not None:
        rank = {question_id: index for index, question_id in enumerate(order)}
        grouped["_rank"] = grouped["question_id"].map(lambda q: rank.get(q, len(rank)))
        grouped = grouped.sort_values(["_rank", "question_id"]).drop(columns="_rank")
    else:
        grouped = grouped.sort_values(["section", "question_id"])
    return grouped[columns].reset_index(drop=True)


def common_wrong_answers(answers: pd.DataFrame, top: int = 3) -> pd.DataFrame:
    """For each question, its ``top`` most frequent wrong responses with counts."""
    columns = ["question_id", "response_text", "count"]
    wrong = answers[~answers["correct"]]
    if wrong.empty:
        return pd.DataFrame(columns=columns)
    counts = wrong.groupby(["question_id", "response_text"]).size().reset_index(name="count")
    counts = counts.sort_values(["question_id", "count", "response_text"], ascending=[True, False, True])
    return counts.groupby("question_id").head(top).reset_index(drop=True)[columns]


def to_csv(answers: pd.DataFrame) -> bytes:
    """The answers as UTF-8 CSV for download."""
    return answers.to_csv(index=False).encode("utf-8")
