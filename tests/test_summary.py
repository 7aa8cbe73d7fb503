"""The summary page shows the numbers the learner measured on the lesson's pages, and only those."""
from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")


def test_the_summary_carries_the_numbers_a_learner_saw():
    at = AppTest.from_file(APP, default_timeout=300).run()
    at.switch_page("pages/summary.py").run()
    assert not at.exception
    assert not [m for m in at.markdown if m.value.startswith("**You measured:**")]  # nothing visited yet

    at.switch_page("pages/rollout_flow.py").run()
    assert not at.exception
    guide = next(i.value for i in at.info if "Try this" in i.value)
    shares = re.search(r"falls from (\d+%) to (\d+%)", guide).groups()

    at.switch_page("pages/summary.py").run()
    measured = [m.value for m in at.markdown if m.value.startswith("**You measured:**")]
    assert len(measured) == 1
    text = measured[0].replace("\\", "")  # markdown escapes
    assert shares[0] in text and shares[1] in text and "rollout" in text
