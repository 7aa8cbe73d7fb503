"""Presenter mode reveals a page's steps one at a time; a learner sees them all at once."""
from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
CHECK = "✅ Check yourself"


def _page(present: bool) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    if present:
        at.query_params["present"] = "1"
    at.run()
    at.switch_page("pages/rollout_flow.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _step(at: AppTest) -> tuple[int, int] | None:
    for markdown in at.markdown:
        found = re.search(r"Step (\d+) of (\d+)", markdown.value)
        if found:
            return int(found.group(1)), int(found.group(2))
    return None


def _next(at: AppTest):
    return next(b for b in at.button if b.label == "Next ▶")


def test_a_learner_sees_every_step_at_once():
    learner = _page(present=False)
    assert CHECK in [s.value for s in learner.subheader]
    assert _step(learner) is None and not [b for b in learner.button if b.label == "Next ▶"]


def test_a_presenter_reveals_one_step_per_click_and_can_go_back():
    at = _page(present=True)
    assert _step(at) == (1, 4) and CHECK not in [s.value for s in at.subheader]
    for expected in (2, 3, 4):
        _next(at).click().run()
        assert _step(at) == (expected, 4)
    assert CHECK in [s.value for s in at.subheader] and _next(at).disabled
    next(b for b in at.button if b.label == "◀ Back").click().run()
    assert _step(at) == (3, 4) and CHECK not in [s.value for s in at.subheader]
