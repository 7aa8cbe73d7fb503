"""Class mode: storing students' quiz answers in a SQL database, and summarising them.

Works on any SQLAlchemy Engine or Connection (SQLite file by default, PostgreSQL for a class
served by several app replicas); no Streamlit here. The page obtains the engine from
``st.connection("submissions", type="sql")``.

Idempotency: every answer row is keyed by (submission_id, question_id). The submission id belongs
to one quiz attempt; the app derives it from the learner's browser id (:func:`submission_id_for`),
so a reload, a second tab or a server restart keeps the same attempt. Every submit inserts with
"ON CONFLICT DO NOTHING" (SQLite and PostgreSQL), so sending the same answers again, from a
double click, a retry after a network error, two tabs or two replicas at once, stores each answer
exactly once; the first answer to a question in an attempt is the one kept. The display name is
fixed by the attempt's first send (table ``quiz_attempts``): a later send under another name is
refused with :class:`NameLockedError`.

Faults are named, not hidden: every database error becomes a :class:`SubmissionError` whose
``kind`` says what happened and whose ``student_message`` is safe to show (no paths, no SQL);
``str(error)`` keeps the underlying error for the server log. A busy database is retried at once
with short back-off; a refused connection (server restarting, or "too many clients") is retried
with back-off (``CONNECT_RETRY_DELAYS``, about 4 s in all) before the student is told. An SQLite
file deleted while the app runs is noticed before the next use: the engine's pooled connections
(which still point at the deleted file) are dropped and a new file is made
(``SubmitResult.recreated``).

Connection pools (PostgreSQL, several replicas): each replica holds one engine whose pool keeps
up to ``pool_size`` connections open and opens up to ``max_overflow`` more under load (SQLAlchemy
defaults 5 and 10). N replicas can thus hold N x (pool_size + max_overflow) connections; keep that
below the server's ``max_connections`` (100 by default, 3 of them reserved for superusers), e.g.
``pool_size = 5, max_overflow = 5`` for up to 9 replicas. Set them per replica in
``[connections.submissions.create_engine_kwargs]`` (see .streamlit/secrets.toml.example). Beyond
the limit PostgreSQL answers "too many clients", reported as kind ``too_many_clients``.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

log = logging.getLogger(__name__)

TABLE_NAME = "quiz_answers"
ATTEMPTS_TABLE_NAME = "quiz_attempts"
MAX_NAME_LENGTH = 40
NAME_PATTERN = re.compile(r"^[^\W_][\w .'-]*$")
SUBMISSION_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
MAX_RESPONSE_TEXT = 1_000
# waits between tries when the database refuses the connection (restarting, or full)
CONNECT_RETRY_DELAYS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0)
pause = time.sleep  # how the back-off waits (tests replace it to record the waits)

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
# one row per attempt: the display name it was first sent under (the name cannot change after)
attempts_table = sa.Table(
    ATTEMPTS_TABLE_NAME,
    metadata,
    sa.Column("submission_id", sa.String(32), primary_key=True),
    sa.Column("display_name", sa.String(MAX_NAME_LENGTH), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
)


class DisplayNameError(ValueError):
    """The display name cannot be used; the message says why (meant for the student)."""


class NameLockedError(DisplayNameError):
    """This attempt was already sent under another display name."""

    def __init__(self, locked_name: str):
        self.locked_name = locked_name
        super().__init__(
            f"This attempt is already sent as “{locked_name}”; a name cannot change in the middle of "
            "an attempt. Your answers are sent under that name."
        )


STUDENT_MESSAGES = {
    "busy": "The class database is busy with many answers at once. Your answers are kept; send them again "
            "in a minute.",
    "unreachable": "The class database cannot be reached right now (it may be restarting). Your answers are "
                   "kept; send them again in a minute.",
    "too_many_clients": "The class database refuses new connections: it has reached its connection limit, a "
                        "setting of the class server. Your answers are kept; please tell your instructor.",
    "missing_folder": "The class database is not set up on this server: the folder for its file does not "
                      "exist. Your answers are kept; please tell your instructor.",
    "read_only": "The class database cannot be written on this server (its file or folder is read-only). "
                 "Your answers are kept; please tell your instructor.",
    "schema": "The class database could not be prepared for answers. Your answers are kept; please tell "
              "your instructor.",
    "other": "The class database did not accept the answers. Your answers are kept; please tell your "
             "instructor if this happens again.",
}
CONFIGURATION_KINDS = frozenset({"too_many_clients", "missing_folder", "read_only", "schema"})


class SubmissionError(RuntimeError):
    """The database could not do what was asked; nothing was lost from the student's session.

    ``kind`` is one of :data:`STUDENT_MESSAGES`' keys; ``student_message`` is safe to show to a
    student; ``str(error)`` (and ``__cause__``) keep the underlying error for the server log.
    """

    def __init__(self, detail: str, kind: str = "other"):
        self.kind = kind if kind in STUDENT_MESSAGES else "other"
        super().__init__(detail)

    @property
    def student_message(self) -> str:
        return STUDENT_MESSAGES[self.kind]

    @property
    def is_configuration_problem(self) -> bool:
        return self.kind in CONFIGURATION_KINDS


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
    recreated: bool = False  # the SQLite file had been deleted and was made again before storing


@dataclass(frozen=True)
class AttemptStatus:
    display_name: str | None  # the name the attempt was sent under, None before its first send
    stored_ids: frozenset[str]  # questions whose first answer the class database holds
    recreated: bool = False


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


def submission_id_for(learner_id: str) -> str:
    """The attempt id of a learner's browser id: the same learner always sends the same attempt.

    A one-way hash, so the id the instructor sees (and downloads) cannot be used to open the
    learner's progress.
    """
    _check_submission_id(learner_id)
    return hashlib.sha256(f"quiz-attempt:{learner_id}".encode("ascii")).hexdigest()[:32]


def _check_submission_id(submission_id: str) -> str:
    if not isinstance(submission_id, str) or not SUBMISSION_ID_PATTERN.match(submission_id):
        raise ValueError("submission_id must be 32 lowercase hex digits (see new_submission_id)")
    return submission_id


# --------------------------------------------------------------------------- what went wrong


def _error_text(error: BaseException) -> str:
    original = getattr(error, "orig", None)
    return str(original if original is not None else error).lower()


def _is_busy(error: BaseException) -> bool:
    text = _error_text(error)
    return "locked" in text or "busy" in text or "could not serialize" in text or "deadlock" in text


def _is_missing_table(error: BaseException) -> bool:
    text = _error_text(error)
    return "no such table" in text or ("relation" in text and "does not exist" in text)


def classify(error: BaseException, bind: Engine | Connection | None = None) -> str:
    """The kind of a database error (a key of STUDENT_MESSAGES)."""
    text = _error_text(error)
    if "too many clients" in text or "remaining connection slots" in text or "too many connections" in text:
        return "too_many_clients"
    if any(marker in text for marker in (
        "connection refused", "could not connect", "server closed the connection", "connection timed out",
        "timeout expired", "terminating connection", "no route to host", "connection reset",
        "the database system is starting up", "the database system is shutting down",
    )):
        return "unreachable"
    if _is_busy(error):
        return "busy"
    if "unable to open database file" in text:
        path = _sqlite_path(bind) if bind is not None else None
        return "missing_folder" if path is not None and not path.parent.is_dir() else "read_only"
    if "readonly database" in text or "read-only" in text:
        return "read_only"
    return "other"


# --------------------------------------------------------------------------- an SQLite file deleted under us

_file_lock = threading.Lock()
_sqlite_inodes: dict[str, int] = {}  # url -> inode of the file the engine was last seen using


def _engine_of(bind: Engine | Connection) -> Engine:
    return bind if isinstance(bind, Engine) else bind.engine


def _sqlite_path(bind: Engine | Connection) -> Path | None:
    """The SQLite database file of this engine, or None (another database, or in memory)."""
    url = _engine_of(bind).url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    if url.database.startswith("file:") or url.query.get("mode") == "memory":
        return None
    return Path(url.database)


def _check_sqlite_file(bind: Engine | Connection) -> bool:
    """Before using an SQLite file: True if it was deleted or replaced since last seen.

    A pooled connection keeps the deleted file open (its writes then fail as "readonly", and
    its reads show the deleted rows), so the pool is emptied and the schema made again. A missing
    folder is a configuration problem, raised at once.
    """
    path = _sqlite_path(bind)
    if path is None:
        return False
    key = _url_key(bind)
    if not path.parent.is_dir():
        raise SubmissionError(f"the folder of the SQLite database {path} does not exist", "missing_folder")
    with _file_lock:
        try:
            inode = path.stat().st_ino
        except FileNotFoundError:
            inode = None
        seen = _sqlite_inodes.get(key)
        if seen is None or inode == seen:
            return False
        log.warning("The SQLite database %s was deleted or replaced while the app ran; making it again.", path)
        _sqlite_inodes.pop(key, None)
        for ready in _ready_sets:  # every module's tables must be made again
            ready.discard(key)
        if isinstance(bind, Engine):
            bind.dispose()
        return True


def _remember_sqlite_file(bind: Engine | Connection) -> None:
    path = _sqlite_path(bind)
    if path is not None:
        with suppress(FileNotFoundError):
            _sqlite_inodes[_url_key(bind)] = path.stat().st_ino


# --------------------------------------------------------------------------- schema

_schema_lock = threading.Lock()
_schema_ready: set[str] = set()
_ready_sets: list[set[str]] = [_schema_ready]  # every ``ready`` set given to ensure_tables


def _url_key(bind: Engine | Connection) -> str:
    return _engine_of(bind).url.render_as_string(hide_password=True)


def _table_exists(connection: Connection, name: str = TABLE_NAME) -> bool:
    return sa.inspect(connection).has_table(name)


def ensure_tables(bind: Engine | Connection, tables: Sequence[sa.Table], ready: set[str],
                  indexes: Sequence[sa.Index] = ()) -> None:
    """Create ``tables`` (and ``indexes``) if they do not exist; safe to call concurrently.

    ``ready`` remembers the databases already prepared. On failure raises SubmissionError whose
    text and ``__cause__`` keep the underlying error (kind ``schema``, or the connection fault).
    """
    key = _url_key(bind)
    if key in ready:
        return
    with _schema_lock:
        if not any(ready is known for known in _ready_sets):
            _ready_sets.append(ready)
        if key in ready:
            return
        last_error: Exception | None = None
        for attempt in range(5):
            try:
                with _transaction(bind) as connection:
                    for table in tables:
                        connection.execute(sa.schema.CreateTable(table, if_not_exists=True))
                    for index in indexes:
                        connection.execute(sa.schema.CreateIndex(index, if_not_exists=True))
                break
            except sa.exc.DBAPIError as error:
                # another process created it at the same moment (PostgreSQL may report that as a
                # unique violation on its catalogue), or SQLite was busy: look, then try again
                last_error = error
                kind = classify(error, bind)
                if kind in ("unreachable", "too_many_clients", "missing_folder", "read_only"):
                    # looking again cannot help; the caller decides about waiting
                    raise SubmissionError(f"Could not create the tables: {_error_text(error)}", kind) from error
                try:
                    with _transaction(bind) as connection:
                        if all(_table_exists(connection, table.name) for table in tables):
                            break
                except sa.exc.DBAPIError:
                    pass
                time.sleep(0.05 * (attempt + 1))
        else:
            last_error = last_error or RuntimeError("unknown")
        if last_error is not None and not _all_exist(bind, tables):
            kind = classify(last_error, bind)
            raise SubmissionError(
                f"Could not create the tables {', '.join(t.name for t in tables)}: {_error_text(last_error)}",
                kind if kind != "other" else "schema",
            ) from last_error
        ready.add(key)
        _remember_sqlite_file(bind)


def _all_exist(bind: Engine | Connection, tables: Sequence[sa.Table]) -> bool:
    try:
        with _transaction(bind) as connection:
            return all(_table_exists(connection, table.name) for table in tables)
    except sa.exc.SQLAlchemyError:
        return False


def ensure_schema(bind: Engine | Connection) -> None:
    """Create the answers and attempts tables if they do not exist (safe to call concurrently)."""
    ensure_tables(bind, (answers_table, attempts_table), _schema_ready, (_question_index,))


# --------------------------------------------------------------------------- running with retries

T = TypeVar("T")


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


def run_in_transaction(
    bind: Engine | Connection,
    work: Callable[[Connection], T],
    prepare: Callable[[Engine | Connection], None],
    forget: Callable[[Engine | Connection], None],
    busy_retries: int = 20,
    sleep: Callable[[float], None] | None = None,
    connect_delays: Sequence[float] | None = None,
) -> tuple[T, bool]:
    """``work(connection)`` in one transaction, with the app's fault handling; (its result, recreated).

    ``prepare`` makes the tables (called before the work and again after a table went missing);
    ``forget`` drops what ``prepare`` remembered. Busy: retried with short back-off. Refused
    connection or "too many clients": retried after each of ``connect_delays`` (default
    CONNECT_RETRY_DELAYS; ``()`` to fail at once, e.g. for saving progress on every page). Anything else,
    or retries used up: SubmissionError (the transaction rolled back, nothing half-stored).
    """
    sleep = sleep or pause
    recreated = False
    delay = 0.02
    connect_waits = list(CONNECT_RETRY_DELAYS if connect_delays is None else connect_delays)
    busy_left, missing_left = busy_retries, 3
    while True:
        try:
            recreated = _check_sqlite_file(bind) or recreated
            prepare(bind)
            with _transaction(bind) as connection:
                if connection.dialect.name == "sqlite":
                    connection.exec_driver_sql("PRAGMA busy_timeout = 10000")
                return work(connection), recreated
        except SubmissionError as error:  # from prepare: maybe a refused connection
            if error.kind in ("unreachable", "too_many_clients") and connect_waits and isinstance(bind, Engine):
                log.warning("Database connection failed (%s); trying again.", error)
                sleep(connect_waits.pop(0))
                continue
            raise
        except (DisplayNameError, ValueError):
            raise
        except sa.exc.DBAPIError as error:
            kind = classify(error, bind)
            if _is_missing_table(error) and missing_left > 0:
                # the table was dropped (or its file deleted) while the app kept running
                missing_left -= 1
                forget(bind)
                continue
            if kind == "read_only" and _sqlite_path(bind) is not None and missing_left > 0:
                missing_left -= 1  # SQLite's "readonly database" when its file was deleted: look again
                if _check_sqlite_file(bind):
                    recreated = True
                    continue
            if not isinstance(bind, Engine):
                raise SubmissionError(f"The database did not accept the request: {_error_text(error)}", kind) from error
            if kind == "busy" and busy_left > 0:
                busy_left -= 1
                sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            if kind in ("unreachable", "too_many_clients") and connect_waits:
                log.warning("Database connection failed (%s); trying again.", _error_text(error))
                sleep(connect_waits.pop(0))
                continue
            raise SubmissionError(f"The database did not accept the request: {_error_text(error)}", kind) from error
        except sa.exc.SQLAlchemyError as error:
            raise SubmissionError(f"The database did not accept the request: {error}", "other") from error


def _forget_schema(bind: Engine | Connection) -> None:
    _schema_ready.discard(_url_key(bind))


# --------------------------------------------------------------------------- writing


def dialect_insert(dialect: str) -> Any:
    """The INSERT construct with ON CONFLICT clauses of SQLite or PostgreSQL."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert
    from sqlalchemy.dialects.postgresql import insert as postgresql_insert

    return postgresql_insert


def insert_ignore(connection: Connection, table: sa.Table, row: dict, key_columns: Sequence[str]) -> int:
    """Insert a row unless its key exists; 1 if inserted, 0 if it was already there."""
    dialect = connection.dialect.name
    if dialect in ("sqlite", "postgresql"):
        statement = dialect_insert(dialect)(table).values(**row).on_conflict_do_nothing(index_elements=list(key_columns))
        # rowcount of an INSERT is only kept when asked for (SQLAlchemy 2); 0 means "already there"
        result = connection.execute(statement.execution_options(preserve_rowcount=True))
        if result.rowcount < 0:
            raise SubmissionError(f"The {dialect} driver did not report whether the row was stored.")
        return int(result.rowcount)
    # other databases: a savepoint per row, duplicates rejected by the primary key
    try:
        with connection.begin_nested():
            connection.execute(table.insert().values(**row))
        return 1
    except IntegrityError:
        return 0


def _insert_ignore(connection: Connection, row: dict) -> int:
    return insert_ignore(connection, answers_table, row, ["submission_id", "question_id"])


def submit(
    bind: Engine | Connection,
    submission_id: str,
    display_name: str,
    answers: Sequence[Answer],
    retries: int = 20,
) -> SubmitResult:
    """Store the answers of one attempt, each exactly once, in one transaction.

    Re-sending answers already stored changes nothing (they count as ``already_stored``). The
    attempt's first send fixes its display name; another name raises NameLockedError and stores
    nothing. Database faults raise SubmissionError (see the module docstring) and store nothing
    (the transaction is rolled back), so the caller can keep the answers and send again.
    """
    submission_id = _check_submission_id(submission_id)
    display_name = validate_display_name(display_name)
    now = datetime.now(UTC)
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

    def work(connection: Connection) -> int:
        insert_ignore(connection, attempts_table,
                      {"submission_id": submission_id, "display_name": display_name, "started_at": now},
                      ["submission_id"])
        locked = connection.execute(
            sa.select(attempts_table.c.display_name).where(attempts_table.c.submission_id == submission_id)
        ).scalar_one()
        if locked != display_name:
            raise NameLockedError(locked)
        return sum(_insert_ignore(connection, row) for row in rows)

    inserted, recreated = run_in_transaction(bind, work, ensure_schema, _forget_schema, busy_retries=retries)
    return SubmitResult(inserted=inserted, already_stored=len(rows) - inserted, recreated=recreated)


# --------------------------------------------------------------------------- reading and summaries

COLUMNS = ["submission_id", "display_name", "question_id", "section", "response", "response_text", "correct", "submitted_at"]


def attempt_status(bind: Engine | Connection, submission_id: str, connect_retry: bool = True) -> AttemptStatus:
    """The display name an attempt was sent under and the questions it has stored.

    ``connect_retry=False`` fails at once on a refused connection (for drawing a page).
    """
    submission_id = _check_submission_id(submission_id)

    def work(connection: Connection) -> AttemptStatus:
        name = connection.execute(
            sa.select(attempts_table.c.display_name).where(attempts_table.c.submission_id == submission_id)
        ).scalar_one_or_none()
        answered = connection.execute(
            sa.select(answers_table.c.question_id, answers_table.c.display_name)
            .where(answers_table.c.submission_id == submission_id)
        ).all()
        if name is None and answered:  # stored before attempts were recorded
            name = answered[0][1]
        return AttemptStatus(name, frozenset(row[0] for row in answered))

    status, recreated = run_in_transaction(bind, work, ensure_schema, _forget_schema,
                                           connect_delays=None if connect_retry else ())
    return AttemptStatus(status.display_name, status.stored_ids, recreated)


def fetch_answers(bind: Engine | Connection) -> pd.DataFrame:
    """Every stored answer, oldest first (an empty frame with the columns if there are none).

    ``frame.attrs["database_recreated"]`` is True when the SQLite file had been deleted and was
    made again just now (the deleted answers are gone; the instructor should be told).
    """
    statement = sa.select(*[answers_table.c[name] for name in COLUMNS]).order_by(
        answers_table.c.submitted_at, answers_table.c.submission_id, answers_table.c.question_id
    )
    rows, recreated = run_in_transaction(bind, lambda connection: connection.execute(statement).all(),
                                         ensure_schema, _forget_schema)
    frame = pd.DataFrame([tuple(row) for row in rows], columns=COLUMNS)
    frame["correct"] = frame["correct"].astype(bool)
    frame.attrs["database_recreated"] = recreated
    return frame


def class_counts(answers: pd.DataFrame) -> dict[str, int]:
    """How many attempts (submission ids), distinct display names and answers are stored."""
    return {
        "attempts": int(answers["submission_id"].nunique()),
        "names": int(answers["display_name"].nunique()),
        "answers": len(answers),
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

