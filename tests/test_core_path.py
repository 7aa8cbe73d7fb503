"""Issue 10: the whole core path, in order, in one learner's session: every page runs, the sidebar counts
the visits, and the summary ends up with a number from each page that measures one."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
CORE_PATH = ["home", "formula", "head_explorer", "not_explanation", "gradient_attention", "rollout_flow", "uses",
             "summary", "quiz"]


def test_a_learner_walks_the_core_path_in_order():
    at = AppTest.from_file(APP, default_timeout=600).run()
    for step, page in enumerate(CORE_PATH, start=1):
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert at.title, page
        visited = [c.value for c in at.sidebar.caption if c.value.startswith("Pages visited")]
        assert visited == [f"Pages visited: {step}"], (page, visited)
        if page == "summary":
            measured = [m.value for m in at.markdown if m.value.startswith("**You measured:**")]
            assert len(measured) == 6, measured  # formula, heads, J&W, gradient, rollout, uses
    assert [q for q in at.radio] or [q for q in at.multiselect], "the quiz asks its questions"
