"""Limits on wrong password tries: at most ``max_failures`` in a sliding ``window`` seconds per key.

A key (a browser session, a client address) that reached the limit is locked until its oldest
counted failure leaves the window, so the wait is exact and can be shown to the person.
:class:`TryLimiter` keeps the tries in memory (thread safe, one per server process or session);
:class:`SqlTryLimiter` keeps them in the class database, shared by every app replica.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

import sqlalchemy as sa


class TryLimiter:
    def __init__(self, max_failures: int, window: float, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 10_000):
        if max_failures < 1 or window <= 0:
            raise ValueError("max_failures must be >= 1 and window > 0")
        self.max_failures = max_failures
        self.window = float(window)
        self._clock = clock
        self._max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures

    def wait_seconds(self, key: str) -> float:
        """0 when ``key`` may try now, else the seconds until it may try again."""
        with self._lock:
            now = self._clock()
            failures = self._recent(key, now)
            if len(failures) < self.max_failures:
                return 0.0
            return failures[-self.max_failures] + self.window - now

    def record_failure(self, key: str) -> None:
        with self._lock:
            now = self._clock()
            self._recent(key, now)
            if key not in self._failures and len(self._failures) >= self._max_keys:
                # bounded memory: forget the key whose latest failure is oldest
                oldest = min(self._failures, key=lambda k: self._failures[k][-1])
                del self._failures[oldest]
            self._failures.setdefault(key, deque()).append(now)

    def failures_left(self, key: str) -> int:
        with self._lock:
            return max(self.max_failures - len(self._recent(key, self._clock())), 0)


def describe_wait(seconds: float) -> str:
    """A wait in words, rounded up: '45 s', '3 min 5 s'."""
    total = max(int(-(-seconds // 1)), 1)
    minutes, rest = divmod(total, 60)
    if not minutes:
        return f"{rest} s"
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


class SqlTryLimiter:
    """The same limit kept in the class database, so every app replica counts the same tries.

    One row per wrong try (key, time); rows older than the window are deleted as new ones come in.
    Times are the app servers' UTC clocks, which replicas are expected to keep in step.
    """

    def __init__(self, bind, max_failures: int, window: float, clock: Callable[[], float] = time.time):
        if max_failures < 1 or window <= 0:
            raise ValueError("max_failures must be >= 1 and window > 0")
        self.bind = bind
        self.max_failures = max_failures
        self.window = float(window)
        self._clock = clock

    def _run(self, work):
        from lessonkit import submissions

        result, _ = submissions.run_in_transaction(self.bind, work, _ensure_failures_table, _forget_failures_table,
                                                   connect_delays=())
        return result

    def _recent(self, connection, key: str, now: float) -> list[float]:
        table = failures_table
        rows = connection.execute(
            sa.select(table.c.failed_at)
            .where(table.c.client == key[:64], table.c.failed_at > now - self.window)
            .order_by(table.c.failed_at.desc())
            .limit(self.max_failures)
        ).all()
        return sorted(float(row[0]) for row in rows)

    def wait_seconds(self, key: str) -> float:
        now = self._clock()
        recent = self._run(lambda connection: self._recent(connection, key, now))
        if len(recent) < self.max_failures:
            return 0.0
        return recent[-self.max_failures] + self.window - now

    def record_failure(self, key: str) -> None:
        now = self._clock()

        def work(connection) -> None:
            connection.execute(failures_table.delete().where(failures_table.c.failed_at <= now - self.window))
            connection.execute(failures_table.insert().values(client=key[:64], failed_at=now))

        self._run(work)

    def failures_left(self, key: str) -> int:
        now = self._clock()
        return max(self.max_failures - len(self._run(lambda connection: self._recent(connection, key, now))), 0)


failures_metadata = sa.MetaData()
failures_table = sa.Table(
    "instructor_login_failures",
    failures_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("client", sa.String(64), nullable=False),
    sa.Column("failed_at", sa.Float, nullable=False),  # seconds since the epoch (UTC)
)
_failures_index = sa.Index("ix_instructor_login_failures_client", failures_table.c.client, failures_table.c.failed_at)
_failures_ready: set[str] = set()


def _ensure_failures_table(bind) -> None:
    from lessonkit import submissions

    submissions.ensure_tables(bind, (failures_table,), _failures_ready, (_failures_index,))


def _forget_failures_table(bind) -> None:
    from lessonkit import submissions

    _failures_ready.discard(submissions._url_key(bind))
