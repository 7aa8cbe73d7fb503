"""A learner's settings survive a visit to another page (Streamlit drops a widget's value after any run
that does not draw it; streamlit_app.py stores the values in ui.session_keys.KEPT_ACROSS_PAGES again
every run). Before, going formula -> head explorer -> formula raised KeyError: 'real_layer'."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui import session_keys as keys

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")

# (page, widget kind, key, a value other than the default)
SETTINGS = [
    ("formula", "slider", keys.FORMULA_LAYER, 3),
    ("head_explorer", "slider", keys.HX_LAYER, 5),
    ("head_explorer", "toggle", keys.HX_HIDE, True),
    ("not_explanation", "radio", keys.NE_MODEL, "transformer"),
    ("gradient_attention", "slider", keys.GA_LAYER, 2),
    ("rollout_flow", "selectbox", keys.RF_FUSION, "max"),
    ("uses", "toggle", keys.US_TOKEN, False),
]


def _widget(at: AppTest, kind: str, key: str):
    return getattr(at, kind)(key=key)


@pytest.mark.parametrize("page, kind, key, value", SETTINGS, ids=[f"{p}-{k}" for p, _, k, _ in SETTINGS])
def test_a_setting_survives_a_visit_to_another_page(page, kind, key, value):
    at = AppTest.from_file(APP, default_timeout=600).run()
    at.switch_page(f"pages/{page}.py").run()
    assert _widget(at, kind, key).value != value  # the test changes something
    _widget(at, kind, key).set_value(value).run()
    assert not at.exception, [e.value for e in at.exception]
    other = "home" if page != "home" else "quiz"
    at.switch_page(f"pages/{other}.py").run()
    at.switch_page("pages/head_finder.py").run()  # two runs of pages that do not draw the widget
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert _widget(at, kind, key).value == value
    assert not [w.value for w in at.warning if "Session State" in str(w.value)]


def test_the_formula_page_opens_again_after_the_explorer():
    at = AppTest.from_file(APP, default_timeout=600).run()
    for page in ("formula", "head_explorer", "formula", "head_explorer", "formula"):
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
    assert at.slider(key=keys.FORMULA_LAYER).value == 1  # the default layer, read from the URL once
