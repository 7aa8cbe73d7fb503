"""The in-memory copy of the server's latest errors that the instructor page shows."""
from __future__ import annotations

import logging

from lessonkit.recent_errors import RecentErrors, install, store


def test_errors_are_kept_newest_first_with_their_traceback_and_warnings_are_not():
    handler = RecentErrors(capacity=3)
    logger = logging.getLogger("tests.recent_errors.kept")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("only a warning")
        for index in range(4):
            try:
                raise KeyError(f"missing number {index}")
            except KeyError:
                logger.exception("step %d failed", index)
        logger.error("no traceback here")
    finally:
        logger.removeHandler(handler)
    records = handler.latest()
    assert [r.message for r in records] == ["no traceback here", "step 3 failed", "step 2 failed"]
    assert records[0].details == ""
    assert "KeyError: 'missing number 3'" in records[1].details and "Traceback" in records[1].details
    assert all(r.logger == "tests.recent_errors.kept" for r in records)


def test_install_attaches_one_store_once_and_catches_app_loggers():
    for _ in range(3):
        install()
    assert logging.getLogger().handlers.count(store()) == 1
    assert logging.getLogger("streamlit.error_util").handlers.count(store()) == 1
    before = len(store().latest())
    logging.getLogger("ui.some_page").error("a page failed: %s", "/srv/app/x.py")
    latest = store().latest()
    assert len(latest) == min(before + 1, 50)
    assert latest[0].message == "a page failed: /srv/app/x.py" and latest[0].logger == "ui.some_page"
