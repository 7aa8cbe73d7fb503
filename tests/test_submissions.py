"""Class-mode storage: display names, idempotent submissions, 50 concurrent students on SQLite, summaries.

Rows are read back with the standard library's sqlite3, not through lessonkit.submissions.
"""
from __future__ import annotations

import json
import random
import sqlite3
import threading
from collections import Counter

import pytest
import sqlalchemy as sa

from lessonkit import submissions
from lessonkit.csv_export import to_safe_csv
from lessonkit.submissions import Answer

N_STUDENTS = 50
QUESTIONS = [(f"q{index:02d}", 1 + index % 7) for index in range(12)]


def student_answers(student: int) -> list[Answer]:
    """A deterministic, different answer sheet for each student."""
    rng = random.Random(student)
    answers = []
    for question_id, section in QUESTIONS:
        choice = rng.choice("abcd")
        answers.append(Answer(question_id, section, choice, f"option {choice}", choice == "a"))
    return answers


def run_concurrent_submissions(engine: sa.Engine, n_students: int = N_STUDENTS) -> dict:
    """n_students threads submit at once; each sends its sheet twice, and a second 'replica' thread
    re-sends every fifth student's sheet at the same moment. Returns what was sent and the results."""
    ids = [submissions.new_submission_id() for _ in range(n_students)]
    sheets = {ids[s]: (f"Student {s}", student_answers(s)) for s in range(n_students)}
    jobs = [(sid, name, answers) for sid, (name, answers) in sheets.items()]
    jobs += [(sid, name, answers) for index, (sid, (name, answers)) in enumerate(sheets.items()) if index % 5 == 0]
    barrier = threading.Barrier(len(jobs))
    results, errors = [], []
    lock = threading.Lock()

    def work(job):
        sid, name, answers = job
        try:
            barrier.wait(timeout=60)
            first = submissions.submit(engine, sid, name, answers)
            again = submissions.submit(engine, sid, name, answers)
            with lock:
                results.append((sid, first, again))
        except Exception as error:  # collected and asserted on below
            with lock:
                errors.append(repr(error))

    threads = [threading.Thread(target=work, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return {"sheets": sheets, "results": results, "errors": errors, "n_jobs": len(jobs)}


def assert_stored_exactly_once(outcome: dict, rows: list[tuple]) -> None:
    """rows: (submission_id, question_id, display_name, response, correct) read independently."""
    assert outcome["errors"] == []
    assert len(outcome["results"]) == outcome["n_jobs"]
    sheets = outcome["sheets"]
    expected = {
        (sid, answer.question_id): (name, json.dumps(answer.response), bool(answer.correct))
        for sid, (name, answers) in sheets.items()
        for answer in answers
    }
    keys = [(row[0], row[1]) for row in rows]
    assert len(rows) == len(expected) == N_STUDENTS * len(QUESTIONS)
    assert Counter(keys).most_common(1)[0][1] == 1
    stored = {(row[0], row[1]): (row[2], row[3], bool(row[4])) for row in rows}
    assert stored == expected
    # every answer was reported as newly inserted exactly once, across all calls
    inserted = sum(first.inserted + again.inserted for _, first, again in outcome["results"])
    assert inserted == len(expected)
    assert all(again.inserted == 0 and again.already_stored == len(QUESTIONS) for _, _, again in outcome["results"])


@pytest.fixture
def sqlite_path(tmp_path):
    return tmp_path / "class.sqlite"


def _sqlite_rows(path) -> list[tuple]:
    with sqlite3.connect(path) as connection:
        return connection.execute(
            "SELECT submission_id, question_id, display_name, response, correct FROM quiz_answers"
        ).fetchall()


def test_fifty_concurrent_students_on_sqlite_are_stored_exactly_once(sqlite_path):
    engine = sa.create_engine(f"sqlite:///{sqlite_path}")
    try:
        outcome = run_concurrent_submissions(engine)
    finally:
        engine.dispose()
    assert_stored_exactly_once(outcome, _sqlite_rows(sqlite_path))


def test_resubmitting_keeps_the_first_answer_and_adds_new_ones(sqlite_path):
    engine = sa.create_engine(f"sqlite:///{sqlite_path}")
    sid = submissions.new_submission_id()
    first = submissions.submit(engine, sid, "Ada", [Answer("q1", 1, "b", "B", False)])
    assert (first.inserted, first.already_stored) == (1, 0)
    # a retry changed q1 to the right answer and answered q2: q1 keeps its first answer
    second = submissions.submit(engine, sid, "Ada", [Answer("q1", 1, "a", "A", True), Answer("q2", 2, 1.5, "1.5", True)])
    assert (second.inserted, second.already_stored) == (1, 1)
    rows = sorted(_sqlite_rows(sqlite_path))
    assert [(r[1], r[3], r[4]) for r in rows] == [("q1", '"b"', 0), ("q2", "1.5", 1)]
    # a new attempt (new submission id) is counted separately
    submissions.submit(engine, submissions.new_submission_id(), "Ada", [Answer("q1", 1, "a", "A", True)])
    assert len(_sqlite_rows(sqlite_path)) == 3
    engine.dispose()


def test_failed_submission_stores_nothing(sqlite_path):
    engine = sa.create_engine(f"sqlite:///{sqlite_path}")
    with pytest.raises(ValueError):
        submissions.submit(engine, submissions.new_submission_id(), "Ada",
                           [Answer("q1", 1, "a", "A", True), Answer("q1", 1, "b", "B", False)])
    with pytest.raises(ValueError):
        submissions.submit(engine, "not-an-id", "Ada", [Answer("q1", 1, "a", "A", True)])
    submissions.ensure_schema(engine)
    assert _sqlite_rows(sqlite_path) == []
    engine.dispose()


@pytest.mark.parametrize(
    "name, cleaned",
    [("Ada", "Ada"), ("  Zoë   M. ", "Zoë M."), ("o'neil-2", "o'neil-2"), ("学生 7", "学生 7"), ("x" * 40, "x" * 40)],
)
def test_display_names_accepted(name, cleaned):
    assert submissions.validate_display_name(name) == cleaned


@pytest.mark.parametrize(
    "name",
    ["", "   ", None, "x" * 41, "<script>alert(1)</script>", "Bob <b>", "=HYPERLINK(1)", "-1", "a@b.com", "null\x00byte", "zero\u200bwidth", "_x"],
)
def test_display_names_refused_with_a_message(name):
    with pytest.raises(submissions.DisplayNameError) as raised:
        submissions.validate_display_name(name)
    assert str(raised.value)


def test_summaries_match_a_count_by_hand(sqlite_path):
    engine = sa.create_engine(f"sqlite:///{sqlite_path}")
    sheets = {}
    for student in range(7):
        sid = submissions.new_submission_id()
        sheets[sid] = student_answers(student)
        submissions.submit(engine, sid, f"S{student % 5}", sheets[sid])
    frame = submissions.fetch_answers(engine)
    counts = submissions.class_counts(frame)
    assert counts == {"attempts": 7, "names": 5, "answers": 7 * len(QUESTIONS)}

    table = submissions.per_question(frame, order=[q for q, _ in QUESTIONS])
    assert list(table["question_id"]) == [q for q, _ in QUESTIONS]
    for question_id, section in QUESTIONS:
        picked = [a for sheet in sheets.values() for a in sheet if a.question_id == question_id]
        row = table[table["question_id"] == question_id].iloc[0]
        assert row["answered"] == len(picked) == 7
        assert row["correct"] == sum(a.correct for a in picked)
        assert row["share_correct"] == pytest.approx(sum(a.correct for a in picked) / 7)
        assert row["section"] == section

    wrong = submissions.common_wrong_answers(frame, top=1)
    for question_id, _ in QUESTIONS:
        tally = Counter(a.response_text for sheet in sheets.values() for a in sheet
                        if a.question_id == question_id and not a.correct)
        rows = wrong[wrong["question_id"] == question_id]
        if not tally:
            assert rows.empty
            continue
        top = max(tally.values())
        assert len(rows) == 1 and rows.iloc[0]["count"] == top and tally[rows.iloc[0]["response_text"]] == top

    csv_text = to_safe_csv(frame).decode("utf-8").splitlines()
    assert csv_text[0].split(",")[:3] == ["submission_id", "display_name", "question_id"]
    assert len(csv_text) == 1 + 7 * len(QUESTIONS)
    engine.dispose()


def test_empty_database_gives_empty_summaries(sqlite_path):
    engine = sa.create_engine(f"sqlite:///{sqlite_path}")
    frame = submissions.fetch_answers(engine)
    assert frame.empty
    assert submissions.class_counts(frame) == {"attempts": 0, "names": 0, "answers": 0}
    assert submissions.per_question(frame).empty and submissions.common_wrong_answers(frame).empty
    engine.dispose()


def test_a_deleted_database_file_is_recreated_on_the_next_submit(sqlite_path):
    """The running-app case: the app keeps one engine (and its pooled connections) while the file goes."""
    engine = sa.create_engine(f"sqlite:///{sqlite_path}")
    submissions.submit(engine, submissions.new_submission_id(), "Ada", [Answer("q1", 1, "a", "A", True)])
    assert len(submissions.fetch_answers(engine)) == 1  # a pooled connection now holds the file open
    sqlite_path.unlink()
    result = submissions.submit(engine, submissions.new_submission_id(), "Bo", [Answer("q1", 1, "b", "B", False)])
    assert (result.inserted, result.recreated) == (1, True)
    assert [(r[1], r[2]) for r in _sqlite_rows(sqlite_path)] == [("q1", "Bo")]
    # the instructor's view, through the same engine, no longer shows the deleted answer
    frame = submissions.fetch_answers(engine)
    assert list(frame["display_name"]) == ["Bo"]
    # and the next submit is an ordinary one
    assert submissions.submit(engine, submissions.new_submission_id(), "Cy", [Answer("q1", 1, "a", "A", True)]).recreated is False
    engine.dispose()


def test_deleted_file_seen_first_by_the_instructor_view(sqlite_path):
    engine = sa.create_engine(f"sqlite:///{sqlite_path}")
    submissions.submit(engine, submissions.new_submission_id(), "Ada", [Answer("q1", 1, "a", "A", True)])
    sqlite_path.unlink()
    frame = submissions.fetch_answers(engine)
    assert frame.empty and frame.attrs["database_recreated"] is True
    assert sqlite_path.exists()
    engine.dispose()


def test_one_learner_is_one_attempt_and_keeps_its_display_name(sqlite_path):
    engine = sa.create_engine(f"sqlite:///{sqlite_path}")
    learner = submissions.new_submission_id()
    attempt = submissions.submission_id_for(learner)
    # derived once, the same every time (reload, second tab, restart), and not the learner id itself
    assert attempt == submissions.submission_id_for(learner) and attempt != learner
    assert submissions.SUBMISSION_ID_PATTERN.match(attempt)
    submissions.submit(engine, attempt, "Ada", [Answer("q1", 1, "a", "A", True)])
    with pytest.raises(submissions.NameLockedError) as raised:
        submissions.submit(engine, attempt, "Mallory", [Answer("q2", 1, "b", "B", False)])
    assert raised.value.locked_name == "Ada"
    status = submissions.attempt_status(engine, attempt)
    assert status.display_name == "Ada" and status.stored_ids == {"q1"}
    rows = _sqlite_rows(sqlite_path)
    assert [(r[1], r[2]) for r in rows] == [("q1", "Ada")]  # nothing of the refused send was stored
    with sqlite3.connect(sqlite_path) as connection:
        assert connection.execute("SELECT submission_id, display_name FROM quiz_attempts").fetchall() == [(attempt, "Ada")]
    engine.dispose()


def test_a_missing_folder_is_named_as_a_configuration_problem(tmp_path):
    path = tmp_path / "no-such-folder" / "class.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}")
    with pytest.raises(submissions.SubmissionError) as raised:
        submissions.submit(engine, submissions.new_submission_id(), "Ada", [Answer("q1", 1, "a", "A", True)])
    error = raised.value
    assert error.kind == "missing_folder" and error.is_configuration_problem
    assert str(path.parent) in str(error)  # the server log gets the path ...
    assert str(tmp_path) not in error.student_message and "again" not in error.student_message  # ... students do not
    engine.dispose()


def _refuse_first_connections(engine: sa.Engine, count: int, message: str) -> list[int]:
    """Make the first ``count`` connections fail the way a DBAPI driver does; returns the attempt counter."""
    attempts = [0]

    @sa.event.listens_for(engine, "do_connect")
    def refuse(dialect, conn_rec, cargs, cparams):
        attempts[0] += 1
        if attempts[0] <= count:
            raise sqlite3.OperationalError(message)
        return None

    return attempts


@pytest.mark.parametrize("message, kind", [
    ('connection to server at "127.0.0.1", port 5432 failed: Connection refused', "unreachable"),
    ("connection to server failed: FATAL:  sorry, too many clients already", "too_many_clients"),
])
def test_a_refused_connection_is_retried_with_backoff_before_anyone_is_told(sqlite_path, monkeypatch, message, kind):
    slept: list[float] = []
    monkeypatch.setattr(submissions, "pause", slept.append)
    engine = sa.create_engine(f"sqlite:///{sqlite_path}")
    attempts = _refuse_first_connections(engine, 2, message)
    result = submissions.submit(engine, submissions.new_submission_id(), "Ada", [Answer("q1", 1, "a", "A", True)])
    assert result.inserted == 1 and attempts[0] == 3
    assert slept == list(submissions.CONNECT_RETRY_DELAYS[:2])  # growing waits, not a hot loop
    engine.dispose()

    # refused for longer than the waits: the student is told the real cause, after every wait was used
    slept.clear()
    other = sa.create_engine(f"sqlite:///{sqlite_path.with_name('other.sqlite')}")
    _refuse_first_connections(other, 100, message)
    with pytest.raises(submissions.SubmissionError) as raised:
        submissions.submit(other, submissions.new_submission_id(), "Ada", [Answer("q1", 1, "a", "A", True)])
    assert raised.value.kind == kind
    assert slept == list(submissions.CONNECT_RETRY_DELAYS)
    assert "press" not in raised.value.student_message.lower()
    if kind == "too_many_clients":
        assert "connection limit" in raised.value.student_message and raised.value.is_configuration_problem
    other.dispose()


def test_a_refused_postgresql_connection_is_reported_as_unreachable(monkeypatch):
    """A real refused TCP connection (a loopback port nobody listens on) through psycopg."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: connections are refused
    slept: list[float] = []
    monkeypatch.setattr(submissions, "pause", slept.append)
    engine = sa.create_engine(f"postgresql+psycopg://nobody:secret@127.0.0.1:{port}/lesson")
    with pytest.raises(submissions.SubmissionError) as raised:
        submissions.submit(engine, submissions.new_submission_id(), "Ada", [Answer("q1", 1, "a", "A", True)])
    assert raised.value.kind == "unreachable"
    assert slept == list(submissions.CONNECT_RETRY_DELAYS)
    assert "refused" in str(raised.value).lower()  # the underlying error is kept for the log
    assert "secret" not in str(raised.value)
    engine.dispose()


def test_the_schema_step_keeps_the_underlying_error(sqlite_path):
    sqlite_path.write_bytes(b"this is not an SQLite database, it only has its name" * 100)
    engine = sa.create_engine(f"sqlite:///{sqlite_path}")
    with pytest.raises(submissions.SubmissionError) as raised:
        submissions.ensure_schema(engine)
    assert raised.value.kind == "schema" and raised.value.is_configuration_problem
    assert isinstance(raised.value.__cause__, sa.exc.DBAPIError)
    assert "not a database" in str(raised.value)  # SQLite's own words, for the server log
    engine.dispose()
