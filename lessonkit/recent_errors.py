"""The server's latest logged errors, kept in memory so the instructor can read them in the app.

Students see short messages; the details (exception type, message, traceback with server paths)
go to the server log, and a copy of the latest ones is kept here. One store per server process:
each app replica keeps its own.
"""
from __future__ import annotations

import logging
import threading
import traceback
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

MAX_RECORDS = 50
MAX_TEXT = 8_000


@dataclass(frozen=True)
class ErrorRecord:
    at: datetime
    logger: str
    message: str
    details: str  # the traceback, when there was one


class RecentErrors(logging.Handler):
    """A logging handler that keeps the last ``capacity`` records of level ERROR and above."""

    def __init__(self, capacity: int = MAX_RECORDS):
        super().__init__(level=logging.ERROR)
        self._records: deque[ErrorRecord] = deque(maxlen=capacity)
        self._records_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            details = "".join(traceback.format_exception(*record.exc_info)) if record.exc_info else ""
            entry = ErrorRecord(
                at=datetime.fromtimestamp(record.created, UTC),
                logger=record.name,
                message=record.getMessage()[:MAX_TEXT],
                details=details[-MAX_TEXT:],
            )
        except Exception:  # a log record that cannot be formatted must not break the app
            self.handleError(record)
            return
        with self._records_lock:
            self._records.append(entry)

    def latest(self) -> list[ErrorRecord]:
        """Newest first."""
        with self._records_lock:
            return list(reversed(self._records))

    def clear(self) -> None:
        with self._records_lock:
            self._records.clear()


_store = RecentErrors()
_install_lock = threading.Lock()


# Streamlit's loggers do not pass records on to the root logger; this one logs a page's uncaught
# exception (the crash box that students see without details).
STREAMLIT_UNCAUGHT = "streamlit.error_util"


def install(logger_names: tuple[str, ...] = ("", STREAMLIT_UNCAUGHT)) -> RecentErrors:
    """Attach the store to the root logger and to Streamlit's uncaught-exception logger; safe to
    call on every run. The root logger keeps printing warnings and errors to the server log."""
    with _install_lock:
        for name in logger_names:
            logger = logging.getLogger(name)
            if _store in logger.handlers:
                continue
            if name == "" and not logger.handlers:
                # without any handler Python prints warnings to stderr by itself; adding ours would
                # silence that, so print them explicitly
                console = logging.StreamHandler()
                console.setLevel(logging.WARNING)
                console.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
                logger.addHandler(console)
            logger.addHandler(_store)
    return _store


def store() -> RecentErrors:
    return _store
