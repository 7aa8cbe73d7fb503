"""Connection limits on a real PostgreSQL server (Debian's, started for this module on loopback):
a full server is retried with back-off, succeeds if a slot frees up, and is otherwise named as
the configuration problem it is. Rows are read back with psycopg directly."""
from __future__ import annotations

import time

import psycopg
import pytest
import sqlalchemy as sa

from lessonkit import submissions
from lessonkit.submissions import Answer
from tests.test_submissions_postgres import postgres_url  # noqa: F401  (the server fixture)


@pytest.fixture
def limited_role(postgres_url):  # noqa: F811
    """A login role allowed 2 connections, and its URL; the server's own limit stays high."""
    admin = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute("DROP ROLE IF EXISTS few_slots")
        connection.execute("CREATE ROLE few_slots LOGIN CONNECTION LIMIT 2")
        connection.execute("GRANT ALL ON SCHEMA public TO few_slots")
        connection.execute("GRANT ALL ON ALL TABLES IN SCHEMA public TO few_slots")
    url = postgres_url.replace("postgres@", "few_slots@")
    yield url
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute("REASSIGN OWNED BY few_slots TO postgres")
        connection.execute("DROP OWNED BY few_slots")
        connection.execute("DROP ROLE few_slots")


def test_a_full_server_is_waited_for_then_used(limited_role, monkeypatch):
    conninfo = limited_role.replace("postgresql+psycopg://", "postgresql://")
    held = [psycopg.connect(conninfo) for _ in range(2)]  # every slot of the role is taken
    waits: list[float] = []

    admin = limited_role.replace("postgresql+psycopg://few_slots@", "postgresql://postgres@")

    def wait(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:  # a slot frees up during the second wait (the server notices a moment later)
            held.pop().close()
            with psycopg.connect(admin, autocommit=True) as connection:  # fresh statistics each query
                for _ in range(200):
                    count = connection.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE usename = 'few_slots'").fetchone()[0]
                    if count < 2:
                        break
                    time.sleep(0.02)

    monkeypatch.setattr(submissions, "pause", wait)
    engine = sa.create_engine(limited_role, pool_size=1, max_overflow=0)
    try:
        sid = submissions.new_submission_id()
        result = submissions.submit(engine, sid, "Ada", [Answer("q1", 1, "a", "A", True)])
    finally:
        engine.dispose()
        for connection in held:
            connection.close()
    assert result.inserted == 1
    assert waits == list(submissions.CONNECT_RETRY_DELAYS[:2])
    with psycopg.connect(conninfo) as connection:
        rows = connection.execute("SELECT submission_id, display_name FROM quiz_answers WHERE submission_id = %s",
                                  (sid,)).fetchall()
    assert rows == [(sid, "Ada")]


def test_a_server_that_stays_full_is_named_as_a_configuration_problem(limited_role, monkeypatch):
    conninfo = limited_role.replace("postgresql+psycopg://", "postgresql://")
    held = [psycopg.connect(conninfo) for _ in range(2)]
    waits: list[float] = []
    monkeypatch.setattr(submissions, "pause", waits.append)
    engine = sa.create_engine(limited_role)
    try:
        with pytest.raises(submissions.SubmissionError) as raised:
            submissions.submit(engine, submissions.new_submission_id(), "Ada", [Answer("q1", 1, "a", "A", True)])
    finally:
        engine.dispose()
        for connection in held:
            connection.close()
    error = raised.value
    assert error.kind == "too_many_clients" and error.is_configuration_problem
    assert waits == list(submissions.CONNECT_RETRY_DELAYS)
    assert "too many connections" in str(error)  # PostgreSQL's own words, for the server log
    assert "connection limit" in error.student_message and "press" not in error.student_message.lower()
