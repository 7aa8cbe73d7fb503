"""The same 50 concurrent students against a real PostgreSQL server started for this test.

The server is Debian's postgresql (installed by `make system-deps`): initdb + pg_ctl in a
throwaway folder on 127.0.0.1 and a free port, run as the `postgres` OS user when the tests run
as root (PostgreSQL refuses to run as root), stopped and deleted at teardown. Rows are read back
with psycopg directly. Under CI=true this test never skips: missing binaries are a failure.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from lessonkit import submissions
from tests.test_submissions import N_STUDENTS, QUESTIONS, assert_stored_exactly_once, run_concurrent_submissions

ON_CI = os.environ.get("CI", "").lower() == "true"


def _postgres_bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    bindir = _postgres_bindir()
    if bindir is None:
        message = "PostgreSQL server binaries (initdb, pg_ctl) not found; install Debian's postgresql (make system-deps)"
        if ON_CI:
            pytest.fail(message)
        pytest.skip(message)
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="lesson-pg-"))
    if as_root:
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, log = folder / "data", folder / "server.log"
    port = _free_port()

    def run(*command: str, timeout: int = 120) -> None:
        result = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, f"{command[0]} failed:\n{result.stdout}\n{result.stderr}"

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--no-sync", "--no-instructions")
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=120"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
        admin = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute("CREATE DATABASE class_quiz")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/class_quiz"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


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
