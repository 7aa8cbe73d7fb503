"""Limits on wrong password tries: at most ``max_failures`` in a sliding ``window`` seconds per key.

A key (a browser session, a client address) that reached the limit is locked until its oldest
counted failure leaves the window, so the wait is exact and can be shown to the person. Thread
safe: one limiter is shared by every session of a server process.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


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
