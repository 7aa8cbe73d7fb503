"""AppTest helpers shared by the single-page tests."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

TIMEOUT = 900  # the machine is shared; the pages' own work is bounded (the lab by its time budget)


def page_app(page_file: str, **query) -> AppTest:
    """An AppTest of one page file, opened with ``query`` as its URL's parameters."""
    at = AppTest.from_file(page_file, default_timeout=TIMEOUT)
    for name, value in query.items():
        at.query_params[name] = value
    return at


def ok(at: AppTest) -> AppTest:
    """``at`` after checking that its last run showed no exception."""
    assert not at.exception, [e.message for e in at.exception]
    return at
