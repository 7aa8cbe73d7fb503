"""Live polls: 20 concurrent students answer once each (SQLite and a throwaway PostgreSQL), the
states of a poll, response checks, CSV neutralisation, and the password-try limiter.

Stored rows are read back with sqlite3 / psycopg, not through lessonkit.polls; expected counts
come from a separate loop over what each student sent.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
import threading
from collections import Counter

import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa

from lessonkit import polls
from lessonkit.csv_export import neutralise_cell, to_safe_csv
from lessonkit.quiz import Option, Question
from lessonkit.try_limits import SqlTryLimiter, TryLimiter, describe_wait
from tests.test_submissions_postgres import postgres_url  # noqa: F401  (fixture: a throwaway PostgreSQL)
from ui.instructor_widgets import client_from

N_STUDENTS = 20
SINGLE = Question(
    id="p-single", section=1, type="single", prompt="Which is right?",
    options=tuple(Option(k, f"option {k}", f"why {k}") for k in "abcd"), answer="b",
)
MULTIPLE = Question(
    id="p-multiple", section=2, type="multiple", prompt="Tick the right ones.",
    options=tuple(Option(k, f"choice {k}", f"because {k}") for k in "xyz"), answer=("x", "z"),
)


def choice_of(student: int) -> str:
    return "abcd"[(student * 7 + student // 3) % 4]  # uneven on purpose


def run_class(engines: list[sa.Engine], poll: polls.Poll) -> dict:
    """Each student answers from several threads at once (a double click and a second replica),
    then changes their mind; returns every outcome."""
    jobs = [(s, engines[0]) for s in range(N_STUDENTS)] + [(s, engines[-1]) for s in range(N_STUDENTS) if s % 2 == 0]
    barrier = threading.Barrier(len(jobs))
    outcomes: list[tuple[int, str, str]] = []
    errors: list[str] = []
    lock = threading.Lock()

    def work(student: int, engine: sa.Engine) -> None:
        try:
            barrier.wait(timeout=60)
            first = polls.answer_poll(engine, poll.poll_id, f"student-{student}", choice_of(student))
            again = polls.answer_poll(engine, poll.poll_id, f"student-{student}", choice_of(student))
            with lock:
                outcomes.append((student, first, again))
        except Exception as error:
            with lock:
                errors.append(repr(error))

    threads = [threading.Thread(target=work, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    # a change of mind afterwards is not counted
    changed = [polls.answer_poll(engines[0], poll.poll_id, f"student-{s}", "d" if choice_of(s) != "d" else "a")
               for s in range(N_STUDENTS)]
    return {"outcomes": outcomes, "errors": errors, "changed": changed, "n_jobs": len(jobs)}


def check_counted_once(result: dict, rows: list[tuple[str, str, str]], poll: polls.Poll, engine: sa.Engine) -> None:
    """rows: (poll_id, student_key, response JSON) read independently of lessonkit.polls."""
    assert result["errors"] == []
    assert len(result["outcomes"]) == result["n_jobs"]
    assert result["changed"] == [polls.ALREADY_ANSWERED] * N_STUDENTS
    stored_per_student = Counter(student for student, first, again in result["outcomes"]
                                 for outcome in (first, again) if outcome == polls.STORED)
    assert stored_per_student == Counter({s: 1 for s in range(N_STUDENTS)})
    assert all(outcome in (polls.STORED, polls.ALREADY_ANSWERED)
               for _, first, again in result["outcomes"] for outcome in (first, again))

    assert len(rows) == N_STUDENTS
    assert {row[1] for row in rows} == {f"student-{s}" for s in range(N_STUDENTS)}
    assert all(row[0] == poll.poll_id for row in rows)
    assert {row[1]: json.loads(row[2]) for row in rows} == {f"student-{s}": [choice_of(s)] for s in range(N_STUDENTS)}

    expected = Counter(choice_of(s) for s in range(N_STUDENTS))
    distribution = polls.distribution(engine, poll)
    assert distribution.students == N_STUDENTS
    assert distribution.counts == {key: expected.get(key, 0) for key in "abcd"}
    frame = polls.distribution_frame(poll, distribution)
    assert list(frame["key"]) == list("abcd")
    assert list(frame["right"]) == [False, True, False, False]
    assert frame["share"].tolist() == pytest.approx([expected.get(k, 0) / N_STUDENTS for k in "abcd"])


def test_twenty_concurrent_students_on_sqlite_are_counted_once(tmp_path):
    path = tmp_path / "class.sqlite"
    engines = [sa.create_engine(f"sqlite:///{path}") for _ in range(2)]
    try:
        poll = polls.open_poll(engines[0], polls.poll_question(SINGLE, "Q3"))
        result = run_class(engines, poll)
        with sqlite3.connect(path) as connection:
            rows = connection.execute("SELECT poll_id, student_key, response FROM live_poll_answers").fetchall()
        check_counted_once(result, rows, poll, engines[1])
    finally:
        for engine in engines:
            engine.dispose()


def test_twenty_concurrent_students_on_postgresql_are_counted_once(postgres_url):  # noqa: F811
    # two engines: two app replicas sharing one database
    engines = [sa.create_engine(postgres_url, pool_size=25, max_overflow=5) for _ in range(2)]
    try:
        poll = polls.open_poll(engines[0], polls.poll_question(SINGLE, "Q3"))
        assert polls.current_poll(engines[1]).poll_id == poll.poll_id
        result = run_class(engines, poll)
        with psycopg.connect(postgres_url.replace("postgresql+psycopg://", "postgresql://")) as connection:
            rows = connection.execute(
                "SELECT poll_id, student_key, response FROM live_poll_answers WHERE poll_id = %s", (poll.poll_id,)
            ).fetchall()
        check_counted_once(result, rows, poll, engines[1])
        # the other replica closes it: nobody can answer any more, on either replica
        assert polls.close_poll(engines[1], poll.poll_id).state == polls.CLOSED
        assert polls.answer_poll(engines[0], poll.poll_id, "late-student", "a") == polls.NOT_OPEN
    finally:
        for engine in engines:
            engine.dispose()


@pytest.fixture
def engine(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'polls.sqlite'}")
    yield engine
    engine.dispose()


def test_a_poll_goes_open_closed_revealed_ended_and_a_new_one_ends_the_old(engine):
    assert polls.current_poll(engine) is None
    first = polls.open_poll(engine, polls.poll_question(SINGLE, "Q3"))
    assert polls.current_poll(engine).poll_id == first.poll_id
    assert polls.answer_poll(engine, first.poll_id, "ada", "b") == polls.STORED

    assert polls.close_poll(engine, first.poll_id).state == polls.CLOSED
    assert polls.answer_poll(engine, first.poll_id, "bo", "a") == polls.NOT_OPEN
    assert polls.answer_poll(engine, first.poll_id, "ada", "c") == polls.ALREADY_ANSWERED
    revealed = polls.reveal_poll(engine, first.poll_id)
    assert revealed.state == polls.REVEALED and revealed.revealed_at is not None and revealed.closed_at is not None
    assert polls.close_poll(engine, first.poll_id).state == polls.REVEALED  # no step back

    second = polls.open_poll(engine, polls.poll_question(MULTIPLE, "Q7"))
    assert polls.get_poll(engine, first.poll_id).state == polls.ENDED
    current = polls.current_poll(engine)
    assert (current.poll_id, current.question.label, current.question.kind) == (second.poll_id, "Q7", "multiple")
    assert current.question.answer == ("x", "z")
    assert [o.text for o in current.question.options] == ["choice x", "choice y", "choice z"]

    assert polls.answer_poll(engine, second.poll_id, "ada", ["z", "x", "x"]) == polls.STORED
    assert polls.answer_poll(engine, second.poll_id, "bo", ["y"]) == polls.STORED
    assert polls.student_answer(engine, second.poll_id, "ada") == ("x", "z")
    assert polls.student_answer(engine, second.poll_id, "cy") is None
    result = polls.distribution(engine, current)
    assert (result.counts, result.students) == ({"x": 1, "y": 1, "z": 1}, 2)
    answers = polls.answers_frame(engine, current)
    ada, bo = (hashlib.sha256(name.encode()).hexdigest()[:12] for name in ("ada", "bo"))
    assert dict(zip(answers["student"], answers["correct"])) == {ada: True, bo: False}
    assert dict(zip(answers["student"], answers["response"])) == {ada: "choice x; choice z", bo: "choice y"}

    assert polls.end_poll(engine, second.poll_id).state == polls.ENDED
    assert polls.current_poll(engine) is None
    assert polls.answer_poll(engine, second.poll_id, "cy", ["x"]) == polls.NOT_OPEN
    assert polls.answer_poll(engine, "0" * 32, "cy", ["x"]) == polls.NO_SUCH_POLL


@pytest.mark.parametrize("response", [None, "e", ["b"], 2, ""])
def test_a_single_choice_poll_refuses_a_response_that_is_not_one_option(engine, response):
    poll = polls.open_poll(engine, polls.poll_question(SINGLE, "Q3"))
    with pytest.raises(polls.PollResponseError):
        polls.answer_poll(engine, poll.poll_id, "ada", response)
    assert polls.student_answer(engine, poll.poll_id, "ada") is None


@pytest.mark.parametrize("response", [[], "x", ["x", "w"], None, [1]])
def test_a_multiple_choice_poll_refuses_empty_or_unknown_ticks(engine, response):
    poll = polls.open_poll(engine, polls.poll_question(MULTIPLE, "Q7"))
    with pytest.raises(polls.PollResponseError):
        polls.answer_poll(engine, poll.poll_id, "ada", response)


@pytest.mark.parametrize("student", ["", "a" * 65, "name with space", "<script>", None, "ü"])
def test_student_keys_are_checked(engine, student):
    poll = polls.open_poll(engine, polls.poll_question(SINGLE, "Q3"))
    with pytest.raises(ValueError):
        polls.answer_poll(engine, poll.poll_id, student, "a")


def test_numeric_and_unbuilt_live_questions_cannot_be_polled():
    numeric = Question(id="p-num", section=1, type="numeric", prompt="How many?", answer=2.0, tolerance=0.1)
    live = Question(id="p-live", section=2, type="live", prompt="Which head {x}?", generator="positional")
    for question in (numeric, live):
        with pytest.raises(ValueError):
            polls.poll_question(question, "Q1")


def test_a_dropped_poll_table_is_recreated(tmp_path):
    path = tmp_path / "polls.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        poll = polls.open_poll(engine, polls.poll_question(SINGLE, "Q3"))
        with sqlite3.connect(path) as connection:
            connection.execute("DROP TABLE live_poll_answers")
        assert polls.student_answer(engine, poll.poll_id, "ada") is None
        assert polls.answer_poll(engine, poll.poll_id, "ada", "a") == polls.STORED
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- CSV


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised():
    frame = pd.DataFrame({
        "name": ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd", "  =1+1",
                 "Ada", "a=b", "", "'already"],
        "section": [1, 2, -3, 4, 5, 6, 7, 8, 9, 10, 11],
        "correct": [True, False, True, False, True, False, True, False, True, False, True],
    })
    text = to_safe_csv(frame).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == 1 + len(frame)  # a CR inside a cell does not split its row
    assert rows[0] == ["name", "section", "correct"]
    assert [row[0] for row in rows[1:]] == [
        "'=HYPERLINK(\"http://x\",\"y\")", "'+1+1", "'-2+3", "'@SUM(A1)", "'\tcmd", "'\rcmd", "'  =1+1",
        "Ada", "a=b", "", "'already",
    ]
    # numbers and booleans are not text: written as they are
    assert [row[1] for row in rows[1:]] == ["1", "2", "-3", "4", "5", "6", "7", "8", "9", "10", "11"]
    assert rows[1][2] == "True"
    assert neutralise_cell(-1.5) == -1.5 and neutralise_cell(None) is None
    assert frame.loc[0, "name"].startswith("=")  # the caller's frame is left as it was


# --------------------------------------------------------------------------- password tries


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_try_limiter_locks_after_the_limit_until_the_oldest_try_leaves_the_window():
    clock = FakeClock()
    limiter = TryLimiter(3, 60, clock=clock)
    for offset in (0, 10, 20):  # failures at t = 1000, 1010, 1020
        clock.now = 1000 + offset
        assert limiter.wait_seconds("k") == 0
        limiter.record_failure("k")
    assert limiter.failures_left("k") == 0
    clock.now = 1025
    assert limiter.wait_seconds("k") == pytest.approx(35)  # 1000 + 60 - 1025
    assert limiter.wait_seconds("other") == 0
    clock.now = 1060
    assert limiter.wait_seconds("k") == 0 and limiter.failures_left("k") == 1
    limiter.record_failure("k")  # 1010, 1020, 1060 in the window
    assert limiter.wait_seconds("k") == pytest.approx(10)  # until 1010 leaves at 1070


def check_shared_limiter(engines: list[sa.Engine], stored_times) -> None:
    clock = FakeClock()
    replicas = [SqlTryLimiter(engine, 3, 60, clock=clock) for engine in engines]
    for index, offset in enumerate((0, 10, 20)):  # failures at t = 1000, 1010, 1020, alternating replicas
        clock.now = 1000 + offset
        assert replicas[index % 2].wait_seconds("203.0.113.7") == 0
        replicas[index % 2].record_failure("203.0.113.7")
    clock.now = 1025
    assert replicas[1].wait_seconds("203.0.113.7") == pytest.approx(35)  # 1000 + 60 - 1025
    assert replicas[0].wait_seconds("198.51.100.1") == 0
    assert replicas[0].failures_left("203.0.113.7") == 0
    clock.now = 1060
    assert replicas[1].wait_seconds("203.0.113.7") == 0 and replicas[0].failures_left("203.0.113.7") == 1
    replicas[1].record_failure("203.0.113.7")  # also deletes the rows that left the window
    assert replicas[0].wait_seconds("203.0.113.7") == pytest.approx(10)
    assert sorted(stored_times()) == [1010.0, 1020.0, 1060.0]


def test_sql_try_limiter_is_shared_by_two_replicas(tmp_path):
    path = tmp_path / "tries.sqlite"
    engines = [sa.create_engine(f"sqlite:///{path}") for _ in range(2)]

    def stored_times() -> list[float]:
        with sqlite3.connect(path) as connection:
            return [row[0] for row in connection.execute("SELECT failed_at FROM instructor_login_failures")]

    try:
        check_shared_limiter(engines, stored_times)
    finally:
        for engine in engines:
            engine.dispose()


def test_sql_try_limiter_is_shared_by_two_replicas_on_postgresql(postgres_url):  # noqa: F811
    engines = [sa.create_engine(postgres_url) for _ in range(2)]

    def stored_times() -> list[float]:
        with psycopg.connect(postgres_url.replace("postgresql+psycopg://", "postgresql://")) as connection:
            return [row[0] for row in connection.execute("SELECT failed_at FROM instructor_login_failures")]

    try:
        check_shared_limiter(engines, stored_times)
    finally:
        for engine in engines:
            engine.dispose()


def test_wait_in_words_and_client_address():
    assert [describe_wait(s) for s in (0.2, 45, 59.1, 60, 185)] == ["1 s", "45 s", "1 min", "1 min", "3 min 5 s"]
    assert client_from("203.0.113.7, 10.0.0.2", "10.0.0.2") == "203.0.113.7"
    assert client_from(" 198.51.100.1 ", "127.0.0.1") == "198.51.100.1"
    assert client_from(None, "127.0.0.1") == "127.0.0.1"
    assert client_from("", None) == "unknown"
