"""A learner's progress kept on the server, keyed by the anonymous id their browser keeps.

What is kept: the pages visited, the current answer to each question (with its feedback), and
the first answer to each question (what the class sees). No Streamlit here; the app passes the
same SQLAlchemy engine as for class answers (:mod:`lessonkit.submissions`), and the same fault
handling applies (SubmissionError with a kind and a message safe for students).

Each row has a time (``at``, seconds since the epoch) so that two tabs of one learner, or a tab
whose answers could not be saved for a while, merge without losing anything (:func:`merge`):
visits are a union, a question's current answer is the latest one (a "try again" is kept as a
cleared answer with its time, so it is not brought back by an older copy), and its first answer
is the one stored first.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from lessonkit import submissions

TABLE_NAME = "learner_progress"
MAX_ITEM_LENGTH = 200
KINDS = ("visit", "grade", "first")

progress_table = sa.Table(
    TABLE_NAME,
    submissions.metadata,
    sa.Column("learner_id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(8), primary_key=True),  # visit | grade | first
    sa.Column("item", sa.String(MAX_ITEM_LENGTH), primary_key=True),  # page title or question id
    sa.Column("value", sa.Text, nullable=True),  # JSON record; NULL for a visit or a cleared answer
    sa.Column("at", sa.Float, nullable=False),
)

_ready: set[str] = set()
_ready_lock = threading.Lock()


@dataclass
class Progress:
    """One learner's progress. ``grades`` and ``first`` records carry their time under "at"."""

    visited: set[str] = field(default_factory=set)
    grades: dict[str, dict] = field(default_factory=dict)  # question id -> current answer record
    cleared: dict[str, float] = field(default_factory=dict)  # question id -> when it was cleared
    first: dict[str, dict] = field(default_factory=dict)  # question id -> first answer record

    def is_empty(self) -> bool:
        return not (self.visited or self.grades or self.cleared or self.first)


def _ensure(bind: Engine | Connection) -> None:
    submissions.ensure_tables(bind, (progress_table,), _ready)


def _forget(bind: Engine | Connection) -> None:
    with _ready_lock:
        _ready.discard(submissions._url_key(bind))


def _check_learner(learner_id: str) -> str:
    if not isinstance(learner_id, str) or not submissions.SUBMISSION_ID_PATTERN.match(learner_id):
        raise ValueError("learner_id must be 32 lowercase hex digits")
    return learner_id


def _time(record: dict) -> float:
    value = record.get("at", 0.0)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


# --------------------------------------------------------------------------- merging (pure)


def merge(session: Progress, stored: Progress) -> tuple[Progress, Progress]:
    """(what the learner's progress is now, what the store lacks of it).

    Visits: the union. First answers: the stored one wins (it was stored first), else the
    session's. Current answers: for each question the latest of the session's answer, the
    session's "try again", the stored answer and the stored "try again".
    """
    merged = Progress(visited=set(stored.visited) | set(session.visited), first=dict(stored.first))
    missing = Progress(visited=set(session.visited) - set(stored.visited))
    for question_id, record in session.first.items():
        if question_id not in stored.first:
            merged.first[question_id] = record
            missing.first[question_id] = record
    question_ids = set(session.grades) | set(session.cleared) | set(stored.grades) | set(stored.cleared)
    for question_id in question_ids:
        # (time, rank, record or None); on equal times an answer beats a clear, the store beats the session
        candidates: list[tuple[float, int, dict | None, str]] = []
        if question_id in stored.grades:
            candidates.append((_time(stored.grades[question_id]), 3, stored.grades[question_id], "stored"))
        if question_id in session.grades:
            candidates.append((_time(session.grades[question_id]), 2, session.grades[question_id], "session"))
        if question_id in stored.cleared:
            candidates.append((stored.cleared[question_id], 1, None, "stored"))
        if question_id in session.cleared:
            candidates.append((session.cleared[question_id], 0, None, "session"))
        when, _, latest, source = max(candidates, key=lambda item: (item[0], item[1]))
        if latest is None:
            merged.cleared[question_id] = when
            if source == "session":
                missing.cleared[question_id] = when
        else:
            merged.grades[question_id] = latest
            if source == "session":
                missing.grades[question_id] = latest
    return merged, missing


# --------------------------------------------------------------------------- the store


def load(bind: Engine | Connection, learner_id: str, connect_retry: bool = True) -> tuple[Progress, bool]:
    """(the learner's stored progress, whether the SQLite file had to be made again)."""
    learner_id = _check_learner(learner_id)
    statement = sa.select(progress_table.c.kind, progress_table.c.item, progress_table.c.value,
                          progress_table.c.at).where(progress_table.c.learner_id == learner_id)
    rows, recreated = submissions.run_in_transaction(
        bind, lambda connection: connection.execute(statement).all(), _ensure, _forget,
        connect_delays=None if connect_retry else (),
    )
    progress = Progress()
    for kind, item, value, at in rows:
        record = _decode(value)
        if kind == "visit":
            progress.visited.add(item)
        elif kind == "first" and record is not None:
            progress.first[item] = record
        elif kind == "grade":
            if record is None:
                progress.cleared[item] = float(at)
            else:
                progress.grades[item] = record
    return progress, recreated


def _decode(value: str | None) -> dict | None:
    if value is None:
        return None
    try:
        record = json.loads(value)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _rows(learner_id: str, progress: Progress) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for page in sorted(progress.visited):
        rows.append({"kind": "visit", "item": page[:MAX_ITEM_LENGTH], "value": None, "at": 0.0})
    for question_id, record in progress.first.items():
        rows.append({"kind": "first", "item": question_id, "value": json.dumps(record), "at": _time(record)})
    for question_id, record in progress.grades.items():
        rows.append({"kind": "grade", "item": question_id, "value": json.dumps(record), "at": _time(record)})
    for question_id, when in progress.cleared.items():
        rows.append({"kind": "grade", "item": question_id, "value": None, "at": float(when)})
    for row in rows:
        row["learner_id"] = learner_id
    return rows


def _upsert_newer(connection: Connection, row: dict) -> None:
    """Insert, or replace the stored row only if this one is newer (two tabs may race)."""
    dialect = connection.dialect.name
    if dialect in ("sqlite", "postgresql"):
        statement = submissions.dialect_insert(dialect)(progress_table).values(**row)
        statement = statement.on_conflict_do_update(
            index_elements=["learner_id", "kind", "item"],
            set_={"value": statement.excluded.value, "at": statement.excluded.at},
            where=progress_table.c.at < statement.excluded.at,
        )
        connection.execute(statement)
        return
    key = (progress_table.c.learner_id == row["learner_id"]) & (progress_table.c.kind == row["kind"]) & (
        progress_table.c.item == row["item"])
    if not submissions.insert_ignore(connection, progress_table, row, ["learner_id", "kind", "item"]):
        connection.execute(progress_table.update().where(key & (progress_table.c.at < row["at"]))
                           .values(value=row["value"], at=row["at"]))


def save(bind: Engine | Connection, learner_id: str, progress: Progress, connect_retry: bool = True) -> bool:
    """Store ``progress`` (visits and first answers kept if already there; answers if newer).

    Returns whether the SQLite file had to be made again.
    """
    learner_id = _check_learner(learner_id)
    rows = _rows(learner_id, progress)

    def work(connection: Connection) -> None:
        for row in rows:
            if row["kind"] == "grade":
                _upsert_newer(connection, row)
            else:
                submissions.insert_ignore(connection, progress_table, row, ["learner_id", "kind", "item"])

    if not rows:
        return False
    _, recreated = submissions.run_in_transaction(bind, work, _ensure, _forget,
                                                  connect_delays=None if connect_retry else ())
    return recreated


def clear(bind: Engine | Connection, learner_id: str) -> None:
    """Forget everything stored for this learner (the "start over" button)."""
    learner_id = _check_learner(learner_id)
    submissions.run_in_transaction(
        bind, lambda connection: connection.execute(
            progress_table.delete().where(progress_table.c.learner_id == learner_id)), _ensure, _forget)

