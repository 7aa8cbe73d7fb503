"""The same 50 concurrent students against a real PostgreSQL server started for this test.

The server is Debian's postgresql (installed by `make system-deps`), started by
deploy.class_server.throwaway_postgres: initdb + pg_ctl in a throwaway folder on 127.0.0.1 and a
free port, run as the `postgres` OS user when the tests run as root (PostgreSQL refuses to run as
root), stopped and deleted at teardown. Rows are read back with psycopg directly. Under CI=true
this test never skips: missing binaries are a failure.
"""
from __future__ import annotations

import os

import psycopg
import pytest
import sqlalchemy as sa

from deploy.class_server import postgres_bindir, throwaway_postgres
from lessonkit import submissions
from tests.test_submissions import N_STUDENTS, QUESTIONS, assert_stored_exactly_once, run_concurrent_submissions

ON_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="module")
def postgres_url():
    """SQLAlchemy URL of a throwaway database: postgresql+psycopg://postgres@127.0.0.1:<port>/class_quiz."""
    if postgres_bindir() is None:
        message = "PostgreSQL server binaries (initdb, pg_ctl) not found; install Debian's postgresql (make system-deps)"
        if ON_CI:
            pytest.fail(message)
        pytest.skip(message)
    with throwaway_postgres() as url:
        yield url


def _rows(url: str) -> list[tuple]:
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo) as connection:
        return connection.execute(
            "SELECT submission_id, question_id, display_name, response, correct FROM quiz_answers"
        ).fetchall()


def test_fifty_concurrent_students_on_postgresql_are_stored_exactly_once(postgres_url):
    # separate engines, as if the class were served by two app replicas
    engines = [sa.create_engine(postgres_url, pool_size=30, max_overflow=10) for _ in range(2)]
    try:
        outcome = run_concurrent_submissions(engines[0])
        # the second replica re-sends everything: nothing new may be stored
        for sid, (name, answers) in outcome["sheets"].items():
            again = submissions.submit(engines[1], sid, name, answers)
            assert (again.inserted, again.already_stored) == (0, len(QUESTIONS))
        frame = submissions.fetch_answers(engines[1])
    finally:
        for engine in engines:
            engine.dispose()
    rows = _rows(postgres_url)
    assert_stored_exactly_once(outcome, rows)
    assert len(frame) == N_STUDENTS * len(QUESTIONS)
    assert submissions.class_counts(frame)["attempts"] == N_STUDENTS
