"""The final quiz page, driven through AppTest: a whole quiz, feedback, retry, class-mode submit.

The expected answers are read from the quiz files with tomllib; the live questions' answers are
computed with an independent loop over the model's attention (tests/test_live_questions.py).
"""
from __future__ import annotations

import sqlite3
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_live_questions import loop_delimiter_best, loop_positional_best

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "quiz.py")


def raw_questions() -> list[dict]:
    files = sorted((ROOT / "quizzes").glob("*.toml"))
    sections = sorted((tomllib.loads(f.read_text(encoding="utf-8")) for f in files), key=lambda s: s["section"])
    return [question for section in sections for question in section["questions"]]


@pytest.fixture(scope="module")
def live_answers(loaded_model):
    from lessonkit.analysis import analyse_sentence

    loaded = loaded_model
    answers = {}
    for question in raw_questions():
        if question["type"] != "live":
            continue
        result = analyse_sentence(loaded, question["params"]["sentence"])
        if question["generator"] == "positional_head":
            layer, head = loop_positional_best(result.attn, question["params"].get("offset", -1))
        else:
            layer, head = loop_delimiter_best(result.attn, result.tokens)
        answers[question["id"]] = f"layer {layer + 1}, head {head + 1}"  # the page counts from 1
    return answers


def new_app(tmp_path, password: str | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.secrets["connections"] = {"submissions": {"url": f"sqlite:///{tmp_path / 'class.sqlite'}"}}
    return at


def set_answer(at: AppTest, question: dict, right: bool, live_answers: dict) -> None:
    qid, kind = question["id"], question["type"]
    if kind == "numeric":
        value = question["answer"] if right else question["answer"] + 10 * question["tolerance"] + 1
        at.number_input(key=f"quiz-{qid}-number").set_value(value)
    elif kind == "multiple":
        chosen = set(question["answer"]) if right else {question["options"][0]["key"]} ^ set(question["answer"]) or {"x"}
        for option in question["options"]:
            at.checkbox(key=f"quiz-{qid}-opt-{option['key']}").set_value(option["key"] in chosen)
    else:
        if kind == "live":
            answer = live_answers[qid]
        else:
            answer = next(o["text"] for o in question["options"] if o["key"] == question["answer"])
        radio = at.radio(key=f"quiz-{qid}-choice")
        assert answer in radio.options
        radio.set_value(answer if right else next(o for o in radio.options if o != answer))


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_whole_quiz_all_right_then_class_submit(tmp_path, live_answers):
    questions = raw_questions()
    at = new_app(tmp_path).run()
    assert not at.exception
    assert metric(at, "Score") == f"0 / {len(questions)}"
    # every question is on the page
    for question in questions:
        assert at.button(key=f"quiz-{question['id']}-check") is not None
    for question in questions:
        set_answer(at, question, True, live_answers)
        at.button(key=f"quiz-{question['id']}-check").click().run()
        assert not at.exception, question["id"]
    assert metric(at, "Score") == f"{len(questions)} / {len(questions)}"
    assert metric(at, "Right on first try") == f"{len(questions)} / {len(questions)}"
    assert len(at.success) >= len(questions)
    assert any("Everything right" in s.value for s in at.success)

    # class mode: an HTML name is refused with a message, a plain one is stored once per question
    at.text_input(key="quiz-display-name").set_value("<b>Ada</b>").run()
    at.button(key="quiz-submit").click().run()
    assert any("Use letters" in w.value for w in at.warning)
    at.text_input(key="quiz-display-name").set_value("  Ada  L. ").run()
    at.button(key="quiz-submit").click().run()
    assert not at.exception
    assert any(f"{len(questions)} answer(s) stored" in s.value for s in at.success)
    with sqlite3.connect(tmp_path / "class.sqlite") as connection:
        rows = connection.execute("SELECT question_id, display_name, correct FROM quiz_answers").fetchall()
    assert sorted(r[0] for r in rows) == sorted(q["id"] for q in questions)
    assert {r[1] for r in rows} == {"Ada L."} and all(r[2] == 1 for r in rows)
    # nothing left to send: the button is gone at once, and the name is shown, not editable
    assert any("Sending as" in c.value and "Ada L" in c.value for c in at.caption)
    assert not [t for t in at.text_input if t.key == "quiz-display-name"]
    assert not [b for b in at.button if b.key == "quiz-submit"]


def test_wrong_answers_feedback_link_back_and_retry(tmp_path, live_answers):
    questions = {q["id"]: q for q in raw_questions()}
    at = new_app(tmp_path).run()
    first = questions["s7-jain-wallace"]
    set_answer(at, first, False, live_answers)
    at.button(key="quiz-s7-jain-wallace-check").click().run()
    wrong_key = next(o["key"] for o in first["options"] if o["key"] != first["answer"])
    wrong_explanation = next(o["explanation"] for o in first["options"] if o["key"] == wrong_key)
    right_explanation = next(o["explanation"] for o in first["options"] if o["key"] == first["answer"])
    texts = [m.value for m in at.markdown]
    assert wrong_explanation in texts and any(right_explanation in t for t in texts)
    assert any("Not quite" in e.value for e in at.error)

    numeric = questions["s1-softmax-two"]
    at.number_input(key="quiz-s1-softmax-two-number").set_value(1.0)
    at.button(key="quiz-s1-softmax-two-check").click().run()
    texts = [m.value for m in at.markdown]
    assert numeric["mistakes"][0]["explanation"] in texts  # the "1 is argmax" hint
    # link back to the page that teaches section 1 (plain text when the page is run alone)
    assert any("Revisit section 1" in t for t in texts)
    assert any("Section 1:" in t and "1 missed" in t for t in texts)

    assert metric(at, "Score") == f"0 / {len(questions)}"
    at.button(key="quiz-retry-missed").click().run()
    assert not at.exception
    shown = [b.key for b in at.button if b.key and b.key.endswith("-check")]
    assert sorted(shown) == ["quiz-s1-softmax-two-check", "quiz-s7-jain-wallace-check"]
    at.number_input(key="quiz-s1-softmax-two-number").set_value(0.881)
    at.button(key="quiz-s1-softmax-two-check").click().run()
    set_answer(at, first, True, live_answers)
    at.button(key="quiz-s7-jain-wallace-check").click().run()
    assert metric(at, "Score") == f"2 / {len(questions)}"
    assert metric(at, "Right on first try") == f"0 / {len(questions)}"
    at.button(key="quiz-show-all").click().run()
    assert len([b for b in at.button if b.key and b.key.endswith("-check")]) == len(questions) - 2


def test_malformed_answers_get_a_message_not_a_traceback(tmp_path):
    at = new_app(tmp_path).run()
    at.button(key="quiz-s1-row-sum-check").click().run()
    at.button(key="quiz-s1-softmax-two-check").click().run()
    at.button(key="quiz-s1-output-check").click().run()
    assert not at.exception
    messages = [w.value for w in at.warning]
    assert "Pick one of the options." in messages and "Type a number." in messages and "Tick at least one option." in messages


def test_broken_quiz_file_is_reported_and_the_rest_still_works(tmp_path, monkeypatch):
    import shutil

    import ui.quiz_widgets as widgets

    monkeypatch.setattr(widgets, "BANK_DIR", widgets.BANK_DIR)  # restored after the test
    folder = tmp_path / "quizzes"
    shutil.copytree(ROOT / "quizzes", folder)
    text = (folder / "section_1_formula.toml").read_text(encoding="utf-8")
    (folder / "section_1_formula.toml").write_text(text.replace('answer = "b"', 'answer = "zz"', 1), encoding="utf-8")
    at = AppTest.from_string(
        f"import ui.quiz_widgets as w\nfrom pathlib import Path\nw.BANK_DIR = Path({str(folder)!r})\n"
        + Path(PAGE).read_text(encoding="utf-8"),
        default_timeout=120,
    )
    at.secrets["connections"] = {"submissions": {"url": f"sqlite:///{tmp_path / 'c.sqlite'}"}}
    at.run()
    assert not at.exception
    warning = next(w.value for w in at.warning if "could not be loaded" in w.value)
    assert "section_1_formula.toml" in warning and "s1-row-sum" in warning and "'answer'" in warning
    keys = [b.key for b in at.button if b.key and b.key.endswith("-check")]
    assert "quiz-s1-row-sum-check" not in keys and "quiz-s1-softmax-two-check" in keys
    assert len(keys) == len(raw_questions()) - 1


def test_in_the_full_app_a_missed_question_links_to_its_lesson_page(tmp_path):
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.secrets["connections"] = {"submissions": {"url": f"sqlite:///{tmp_path / 'class.sqlite'}"}}
    at.run()
    at.switch_page("pages/quiz.py").run()
    assert not at.exception
    question = next(q for q in raw_questions() if q["id"] == "s1-row-sum")
    wrong = next(o["text"] for o in question["options"] if o["key"] != question["answer"])
    at.radio(key="quiz-s1-row-sum-choice").set_value(wrong)
    at.button(key="quiz-s1-row-sum-check").click().run()
    assert not at.exception
    links = [(link.proto.label, link.proto.page) for link in at.get("page_link")]
    assert any("Revisit section 1" in label and page.endswith("formula") for label, page in links), links
