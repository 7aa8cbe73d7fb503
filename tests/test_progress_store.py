"""A learner's progress kept on the server: merging two copies by hand-written cases, and the store.

Stored rows are read back with the standard library's sqlite3, not through lessonkit.progress_store.
"""
from __future__ import annotations

import json
import sqlite3

import pytest
import sqlalchemy as sa

from lessonkit import progress_store, submissions
from lessonkit.progress_store import Progress

LEARNER = "0123456789abcdef0123456789abcdef"


def record(correct: bool, at: float, response: str = "a") -> dict:
    return {"response": response, "response_text": response.upper(), "correct": correct, "feedback": [],
            "section": 1, "at": at}


def test_merge_keeps_the_latest_answer_the_first_first_answer_and_every_visit():
    session = Progress(
        visited={"Formula", "Quiz"},
        grades={"q1": record(True, 20.0, "b"), "q2": record(False, 5.0)},
        cleared={"q3": 30.0},
        first={"q1": record(False, 10.0), "q4": record(True, 12.0)},
    )
    stored = Progress(
        visited={"Home", "Formula"},
        grades={"q1": record(False, 10.0), "q2": record(True, 8.0, "c"), "q3": record(True, 25.0)},
        cleared={"q5": 40.0},
        first={"q1": record(False, 9.0, "z"), "q2": record(False, 5.0)},
    )
    merged, missing = progress_store.merge(session, stored)
    assert merged.visited == {"Home", "Formula", "Quiz"} and missing.visited == {"Quiz"}
    # q1: the session's answer is newer (20 > 10); q2: the stored one is newer (8 > 5)
    assert merged.grades["q1"]["response"] == "b" and merged.grades["q2"]["response"] == "c"
    # q3: "try again" at 30 beats the stored answer of 25; q5: cleared in another tab
    assert "q3" not in merged.grades and merged.cleared == {"q3": 30.0, "q5": 40.0}
    assert set(merged.grades) == {"q1", "q2"}
    # first answers: the stored one stays even if the session has another; new ones are added
    assert merged.first["q1"]["response"] == "z" and merged.first["q4"]["correct"] is True
    assert set(merged.first) == {"q1", "q2", "q4"}
    # what the store lacks: exactly the session's newer or new items
    assert set(missing.grades) == {"q1"} and missing.cleared == {"q3": 30.0} and set(missing.first) == {"q4"}


def test_merge_with_an_empty_store_writes_everything_back():
    """E.g. the database file was deleted and made again: the session still has it all."""
    session = Progress(visited={"Quiz"}, grades={"q1": record(True, 1.0)}, cleared={"q2": 2.0},
                       first={"q1": record(True, 1.0)})
    merged, missing = progress_store.merge(session, Progress())
    assert merged == session and missing == session


@pytest.fixture
def engine(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'app.sqlite'}")
    yield engine
    engine.dispose()


def _rows(engine) -> list[tuple]:
    with sqlite3.connect(engine.url.database) as connection:
        return sorted(connection.execute(
            "SELECT kind, item, value, at FROM learner_progress WHERE learner_id = ?", (LEARNER,)).fetchall())


def test_store_round_trip_and_newer_wins(engine):
    first = Progress(visited={"Quiz"}, grades={"q1": record(False, 10.0)}, first={"q1": record(False, 10.0)})
    progress_store.save(engine, LEARNER, first)
    rows = _rows(engine)
    assert [(kind, item) for kind, item, _, _ in rows] == [("first", "q1"), ("grade", "q1"), ("visit", "Quiz")]
    assert json.loads(rows[1][2])["correct"] is False and rows[1][3] == 10.0

    # an older copy (a stale tab) does not overwrite; a newer one does; the first answer never changes
    progress_store.save(engine, LEARNER, Progress(grades={"q1": record(True, 5.0)}, first={"q1": record(True, 5.0)}))
    assert json.loads(_rows(engine)[1][2])["correct"] is False
    progress_store.save(engine, LEARNER, Progress(cleared={"q1": 15.0}))
    assert _rows(engine)[1][2:] == (None, 15.0)
    progress_store.save(engine, LEARNER, Progress(grades={"q1": record(True, 20.0)}))
    loaded, recreated = progress_store.load(engine, LEARNER)
    assert recreated is False
    assert loaded.grades["q1"]["correct"] is True and loaded.cleared == {}
    assert loaded.first["q1"]["correct"] is False and loaded.visited == {"Quiz"}

    progress_store.clear(engine, LEARNER)
    assert _rows(engine) == []


def test_other_learners_are_not_touched(engine):
    other = "f" * 32
    progress_store.save(engine, LEARNER, Progress(visited={"Quiz"}))
    progress_store.save(engine, other, Progress(visited={"Home"}))
    progress_store.clear(engine, LEARNER)
    assert progress_store.load(engine, other)[0].visited == {"Home"}
    with pytest.raises(ValueError):
        progress_store.load(engine, "not-an-id")


def test_progress_survives_a_deleted_file_through_the_same_engine(engine):
    progress_store.save(engine, LEARNER, Progress(visited={"Quiz"}))
    submissions.fetch_answers(engine)  # the class tables live in the same file
    from pathlib import Path

    Path(engine.url.database).unlink()
    loaded, recreated = progress_store.load(engine, LEARNER)
    assert recreated is True and loaded.is_empty()
    # the session's copy is written back into the new file
    merged, missing = progress_store.merge(Progress(visited={"Quiz"}), loaded)
    progress_store.save(engine, LEARNER, missing)
    assert [(kind, item) for kind, item, _, _ in _rows(engine)] == [("visit", "Quiz")]
