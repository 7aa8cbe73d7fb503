"""The "check yourself" block, run on its own page, and the quiz score it feeds into the sidebar."""
from __future__ import annotations

import tomllib
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def section_file(number: int) -> dict:
    for path in (ROOT / "quizzes").glob("*.toml"):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        if data["section"] == number:
            return data
    raise KeyError(number)


def page(section: int) -> AppTest:
    script = (
        "from ui.check_yourself import check_yourself\n"
        "from ui.sidebar import show_quiz_progress\n"
        "import streamlit as st\n"
        f"check_yourself({section}, key_prefix='cy{section}')\n"
        "with st.sidebar:\n    show_quiz_progress()\n"
    )
    return AppTest.from_string(script, default_timeout=120)


def test_check_yourself_asks_the_marked_questions_and_updates_the_score():
    data = section_file(3)
    marked = [q for q in data["questions"] if q.get("check_yourself")][:3] or data["questions"][:3]
    at = page(3).run()
    assert not at.exception
    shown = sorted(b.key for b in at.button if b.key and b.key.endswith("-check"))
    assert shown == sorted(f"cy3-{q['id']}-check" for q in marked)
    # the final quiz leaves out what the check-yourself blocks ask (sections 1-6 and 8, three each)
    asked = 0
    for n in (1, 2, 3, 4, 5, 6, 8):
        questions = section_file(n)["questions"]
        asked += len(([q for q in questions if q.get("check_yourself")] or questions)[:3])
    quiz_total = sum(len(section_file(n)["questions"]) for n in range(1, 9)) - asked
    assert at.sidebar.get("progress")[0].proto.text.startswith(f"Quiz: 0 of {quiz_total} right")

    def check_caption():
        return next(c.value for c in at.sidebar.caption if c.value.startswith("Check yourself"))

    assert check_caption() == f"Check yourself: 0 of {asked} right (0 answered)"

    question = marked[0]
    right_text = next(o["text"] for o in question["options"] if o["key"] == question["answer"])
    at.radio(key=f"cy3-{question['id']}-choice").set_value(right_text)
    at.button(key=f"cy3-{question['id']}-check").click().run()
    assert any(right_text in s.value for s in at.success)
    # the sidebar, drawn in the same run, already counts the answer
    assert check_caption() == f"Check yourself: 1 of {asked} right (1 answered)"
    assert any("1 of 3 right so far" in c.value for c in at.caption)
    # try again clears it
    second = marked[1]
    wrong = next(o["text"] for o in second["options"] if o["key"] != second["answer"])
    at.radio(key=f"cy3-{second['id']}-choice").set_value(wrong)
    at.button(key=f"cy3-{second['id']}-check").click().run()
    assert check_caption() == f"Check yourself: 1 of {asked} right (2 answered)"
    at.button(key=f"cy3-{second['id']}-retry").click().run()
    assert at.radio(key=f"cy3-{second['id']}-choice").value is None
    assert check_caption() == f"Check yourself: 1 of {asked} right (1 answered)"


def test_check_yourself_for_a_section_without_questions_says_so():
    at = page(42).run()
    assert not at.exception
    assert any("no questions for section 42" in i.value for i in at.info)


def test_check_yourself_answers_come_back_after_a_reload(tmp_path):
    """In the full app (the sidebar keeps progress): section 6's block (pages/uses.py), then a new
    session with the same browser id, as after a reload."""
    learner = "0f" * 16

    def full_app() -> AppTest:
        at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
        at.secrets["connections"] = {"submissions": {"url": f"sqlite:///{tmp_path / 'app.sqlite'}"}}
        at.session_state["quiz_learner_id"] = learner
        return at

    question = next(q for q in section_file(6)["questions"] if q["id"] == "s6-punctuation")
    right_text = next(o["text"] for o in question["options"] if o["key"] == question["answer"])
    at = full_app().run()
    at.switch_page("pages/uses.py").run()
    at.radio(key="uses_check-s6-punctuation-choice").set_value(right_text)
    at.button(key="uses_check-s6-punctuation-check").click().run()
    assert not at.exception
    reloaded = full_app().run()
    reloaded.switch_page("pages/uses.py").run()
    assert not reloaded.exception
    assert any(right_text in s.value for s in reloaded.success)  # the block shows the kept answer
    assert not [b for b in reloaded.button if b.key == "uses_check-s6-punctuation-check"]
    caption = next(c.value for c in reloaded.sidebar.caption if c.value.startswith("Check yourself"))
    assert caption.startswith("Check yourself: 1 of") and caption.endswith("(1 answered)")
