"""The final quiz page, driven through AppTest: a whole quiz, feedback, retry, class-mode submit,
progress kept across reloads, one attempt across tabs and restarts, and database faults.

The expected answers are read from the quiz files with tomllib; the live questions' answers are
computed with an independent loop over the model's attention (tests/test_live_questions.py).
A reload or a second tab is a new AppTest session holding the same browser id (what the cookie
gives a real browser; tests/test_browser_quiz.py checks the cookie itself).
"""
from __future__ import annotations

import sqlite3
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_live_questions import loop_delimiter_best, loop_positional_best
from tests.test_quiz import raw_check_yourself_prompts

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "quiz.py")


def raw_questions() -> list[dict]:
    """The final quiz's questions in order, from the files: the quiz page's own section first, then
    every other section's questions that its page's "check yourself" block does not ask."""
    files = sorted((ROOT / "quizzes").glob("*.toml"))
    sections = sorted((tomllib.loads(f.read_text(encoding="utf-8")) for f in files), key=lambda s: s["section"])
    asked = raw_check_yourself_prompts()
    own = [q for section in sections if section["page"] == "pages/quiz.py" for q in section["questions"]]
    rest = [q for section in sections if section["page"] != "pages/quiz.py" for q in section["questions"]
            if q["id"] not in asked]
    return own + rest


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


def new_app(tmp_path, learner: str | None = None, url: str | None = None) -> AppTest:
    """The quiz page in a new session; ``learner`` is the id the browser's cookie would bring back."""
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.secrets["connections"] = {"submissions": {"url": url or f"sqlite:///{tmp_path / 'class.sqlite'}"}}
    if learner is not None:
        at.session_state["quiz_learner_id"] = learner
    return at


def class_rows(tmp_path) -> list[tuple]:
    with sqlite3.connect(tmp_path / "class.sqlite") as connection:
        return sorted(connection.execute(
            "SELECT submission_id, question_id, display_name, response FROM quiz_answers").fetchall())


def question_labels(at: AppTest) -> dict[str, str]:
    """Question id -> the "Q<n>." label drawn above its widgets."""
    labels = {}
    for block in at.markdown:
        if block.value.startswith("**Q"):
            label = block.value.split("**")[1]
            prompt = block.value.split("**", 2)[2].strip()
            labels[prompt] = label
    return labels


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
    assert any("Sending as" in c.value and "Ada L" in c.value and "fixed" in c.value for c in at.caption)
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

    numeric = questions["s1-bert-heads"]
    labels_before = question_labels(at)
    at.number_input(key="quiz-s1-bert-heads-number").set_value(24.0)
    at.button(key="quiz-s1-bert-heads-check").click().run()
    texts = [m.value for m in at.markdown]
    assert numeric["mistakes"][1]["explanation"] in texts  # the "layers and heads multiply" hint
    # link back to the page that teaches section 1 (plain text when the page is run alone)
    assert any("Revisit section 1" in t for t in texts)
    assert any("Section 1:" in t and "1 missed" in t for t in texts)

    assert metric(at, "Score") == f"0 / {len(questions)}"
    at.button(key="quiz-retry-missed").click().run()
    assert not at.exception
    shown = [b.key for b in at.button if b.key and b.key.endswith("-check")]
    assert sorted(shown) == ["quiz-s1-bert-heads-check", "quiz-s7-jain-wallace-check"]
    # a retry keeps each question's number from the whole quiz (it used to count 1, 2 again)
    order = [q["id"] for q in raw_questions()]
    retry_labels = question_labels(at)
    assert retry_labels == {p: labels_before[p] for p in retry_labels}
    assert sorted(retry_labels.values()) == sorted(
        [f"Q{order.index('s1-bert-heads') + 1}.", f"Q{order.index('s7-jain-wallace') + 1}."])
    at.number_input(key="quiz-s1-bert-heads-number").set_value(144.0)
    at.button(key="quiz-s1-bert-heads-check").click().run()
    set_answer(at, first, True, live_answers)
    at.button(key="quiz-s7-jain-wallace-check").click().run()
    assert metric(at, "Score") == f"2 / {len(questions)}"
    assert metric(at, "Right on first try") == f"0 / {len(questions)}"
    at.button(key="quiz-show-all").click().run()
    assert len([b for b in at.button if b.key and b.key.endswith("-check")]) == len(questions) - 2


def test_malformed_answers_get_a_message_not_a_traceback(tmp_path):
    at = new_app(tmp_path).run()
    at.button(key="quiz-s1-heatmap-axes-check").click().run()
    at.button(key="quiz-s1-bert-heads-check").click().run()
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
    assert "section_1_formula.toml" in warning and "s1-row-sum" in warning
    assert str(tmp_path) not in warning and str(ROOT) not in warning  # no server paths for learners
    keys = [b.key for b in at.button if b.key and b.key.endswith("-check")]
    assert "quiz-s1-row-sum-check" not in keys and "quiz-s1-heatmap-axes-check" in keys


def test_in_the_full_app_a_missed_question_links_to_its_lesson_page(tmp_path):
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.secrets["connections"] = {"submissions": {"url": f"sqlite:///{tmp_path / 'class.sqlite'}"}}
    at.run()
    at.switch_page("pages/quiz.py").run()
    assert not at.exception
    question = next(q for q in raw_questions() if q["id"] == "s1-heatmap-axes")
    wrong = next(o["text"] for o in question["options"] if o["key"] != question["answer"])
    at.radio(key="quiz-s1-heatmap-axes-choice").set_value(wrong)
    at.button(key="quiz-s1-heatmap-axes-check").click().run()
    assert not at.exception
    links = [(link.proto.label, link.proto.page) for link in at.get("page_link")]
    assert any("Revisit section 1" in label and page.endswith("formula") for label, page in links), links


# --------------------------------------------------------------------------- kept across reloads, tabs, restarts

LEARNER = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


def answer_two(at: AppTest, live_answers: dict) -> None:
    questions = {q["id"]: q for q in raw_questions()}
    set_answer(at, questions["s7-jain-wallace"], False, live_answers)
    at.button(key="quiz-s7-jain-wallace-check").click().run()
    set_answer(at, questions["s1-heatmap-axes"], True, live_answers)
    at.button(key="quiz-s1-heatmap-axes-check").click().run()
    assert not at.exception


def test_a_reload_brings_the_answers_back(tmp_path, live_answers):
    total = len(raw_questions())
    at = new_app(tmp_path, LEARNER).run()
    answer_two(at, live_answers)
    assert metric(at, "Answered") == f"2 / {total}"

    reloaded = new_app(tmp_path, LEARNER).run()  # a new session, as after a browser reload
    assert not reloaded.exception
    assert metric(reloaded, "Score") == f"1 / {total}" and metric(reloaded, "Answered") == f"2 / {total}"
    assert metric(reloaded, "Right on first try") == f"1 / {total}"
    assert any("Not quite" in e.value for e in reloaded.error)  # the feedback is shown again
    assert any("kept in this browser" in c.value for c in reloaded.caption)
    # "try again" is kept too: after another reload the question is open again
    reloaded.button(key="quiz-s7-jain-wallace-retry").click().run()
    again = new_app(tmp_path, LEARNER).run()
    assert metric(again, "Answered") == f"1 / {total}"
    assert again.radio(key="quiz-s7-jain-wallace-choice").value is None

    # another browser (another id) starts empty
    assert metric(new_app(tmp_path, "f" * 32).run(), "Answered") == f"0 / {total}"


def test_start_over_forgets_the_progress(tmp_path, live_answers):
    total = len(raw_questions())
    at = new_app(tmp_path, LEARNER).run()
    answer_two(at, live_answers)
    at.button(key="quiz-start-over").click().run()
    assert not at.exception
    assert metric(at, "Answered") == f"0 / {total}"
    assert at.session_state["quiz_learner_id"] != LEARNER
    assert metric(new_app(tmp_path, LEARNER).run(), "Answered") == f"0 / {total}"  # deleted on the server too


def test_two_tabs_are_one_attempt_under_one_name(tmp_path, live_answers):
    questions = {q["id"]: q for q in raw_questions()}
    first_tab = new_app(tmp_path, LEARNER).run()
    second_tab = new_app(tmp_path, LEARNER).run()
    set_answer(second_tab, questions["s1-output"], True, live_answers)
    second_tab.button(key="quiz-s1-output-check").click().run()
    answer_two(first_tab, live_answers)
    first_tab.text_input(key="quiz-display-name").set_value("Ada").run()
    first_tab.button(key="quiz-submit").click().run()
    # the first tab sends what the learner answered in both tabs
    assert any("3 answer(s) stored" in s.value for s in first_tab.success)

    # the second tab, drawn before the first one sent, types another name and answers one more
    second_tab.text_input(key="quiz-display-name").set_value("Mallory")
    second_tab.number_input(key="quiz-s1-bert-heads-number").set_value(144.0)
    second_tab.button(key="quiz-s1-bert-heads-check").click().run()
    assert any("Sending as" in c.value and "Ada" in c.value for c in second_tab.caption)
    assert not [t for t in second_tab.text_input if t.key == "quiz-display-name"]
    second_tab.button(key="quiz-submit").click().run()
    assert not second_tab.exception
    assert any("1 answer(s) stored" in s.value and "Ada" in s.value for s in second_tab.success)
    rows = class_rows(tmp_path)
    assert len({row[0] for row in rows}) == 1  # one student, one attempt
    assert sorted(row[1] for row in rows) == ["s1-bert-heads", "s1-heatmap-axes", "s1-output", "s7-jain-wallace"]
    assert {row[2] for row in rows} == {"Ada"}
    # a reload that sends again stores nothing twice
    reloaded = new_app(tmp_path, LEARNER).run()
    assert not [b for b in reloaded.button if b.key == "quiz-submit"]
    assert len(class_rows(tmp_path)) == 4


def test_after_a_server_restart_pending_answers_can_still_be_sent(tmp_path, live_answers):
    import streamlit as st

    at = new_app(tmp_path, LEARNER).run()
    answer_two(at, live_answers)
    assert any("2 answer(s) not sent yet" in c.value for c in at.caption)
    st.cache_resource.clear()  # a new server process: no cached connection, no session
    restarted = new_app(tmp_path, LEARNER).run()
    assert any("2 answer(s) not sent yet" in c.value for c in restarted.caption)
    restarted.text_input(key="quiz-display-name").set_value("Ada").run()
    restarted.button(key="quiz-submit").click().run()
    assert any("2 answer(s) stored" in s.value for s in restarted.success)
    rows = class_rows(tmp_path)
    assert [(row[1], row[2]) for row in rows] == [("s1-heatmap-axes", "Ada"), ("s7-jain-wallace", "Ada")]


def test_a_database_deleted_while_the_app_runs_is_made_again_and_the_student_told(tmp_path, live_answers):
    at = new_app(tmp_path, LEARNER).run()
    answer_two(at, live_answers)
    at.text_input(key="quiz-display-name").set_value("Ada").run()
    at.button(key="quiz-submit").click().run()
    assert len(class_rows(tmp_path)) == 2
    (tmp_path / "class.sqlite").unlink()

    at.run()  # the next interaction, same session and same cached engine
    assert not at.exception
    assert any("deleted on the server" in i.value for i in at.info)
    assert any("no longer in the class database" in w.value for w in at.warning)
    at.text_input(key="quiz-display-name").set_value("Ada").run()
    at.button(key="quiz-submit").click().run()
    assert any("2 answer(s) stored" in s.value for s in at.success)
    assert [(row[1], row[2]) for row in class_rows(tmp_path)] == [("s1-heatmap-axes", "Ada"), ("s7-jain-wallace", "Ada")]
    # the progress was written back into the new file: a reload still has it
    assert metric(new_app(tmp_path, LEARNER).run(), "Answered").startswith("2 /")


def test_a_database_that_cannot_be_used_gives_a_clear_message_and_keeps_the_answers(tmp_path, live_answers):
    missing = tmp_path / "no-such-folder" / "class.sqlite"
    at = new_app(tmp_path, LEARNER, url=f"sqlite:///{missing}").run()
    assert not at.exception
    answer_two(at, live_answers)
    total = len(raw_questions())
    assert metric(at, "Answered") == f"2 / {total}"  # the session keeps working
    assert any("not being saved" in w.value for w in at.warning)
    at.text_input(key="quiz-display-name").set_value("Ada").run()
    at.button(key="quiz-submit").click().run()
    assert not at.exception
    messages = [e.value for e in at.error]
    assert any("not set up" in m and "tell your instructor" in m for m in messages)
    assert not any(str(tmp_path) in m or "press" in m.lower() for m in messages)
    assert any("2 answer(s) not sent yet" in c.value for c in at.caption)  # nothing lost, still sendable


def test_in_the_full_app_pages_visited_come_back_after_a_reload(tmp_path):
    def full_app() -> AppTest:
        at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
        at.secrets["connections"] = {"submissions": {"url": f"sqlite:///{tmp_path / 'class.sqlite'}"}}
        at.session_state["quiz_learner_id"] = LEARNER
        return at

    def visited(at: AppTest) -> str:
        return next(c.value for c in at.sidebar.caption if c.value.startswith("Pages visited"))

    at = full_app().run()
    at.switch_page("pages/quiz.py").run()
    assert not at.exception
    assert visited(at) == "Pages visited: 2"
    reloaded = full_app().run()  # the start page again, in a new session
    assert visited(reloaded) == "Pages visited: 2"
    assert any("kept in this browser" in c.value for c in reloaded.sidebar.caption)


def test_pool_sizes_from_the_secrets_reach_the_engine(tmp_path):
    at = AppTest.from_string(
        "import streamlit as st\nfrom ui.quiz_widgets import submissions_engine\n"
        "engine = submissions_engine()\nst.write(f'pool {engine.pool.size()} {engine.pool._max_overflow}')\n",
        default_timeout=60,
    )
    at.secrets["connections"] = {"submissions": {
        "url": f"sqlite:///{tmp_path / 'pool.sqlite'}",
        "create_engine_kwargs": {"pool_size": 3, "max_overflow": 2},
    }}
    at.run()
    assert not at.exception
    assert any(m.value == "pool 3 2" for m in at.markdown)


def test_a_database_that_is_down_is_named_and_nothing_is_lost(tmp_path, live_answers, monkeypatch):
    import socket

    from lessonkit import submissions

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nobody listens there once the block ends
    waits: list[float] = []
    monkeypatch.setattr(submissions, "pause", waits.append)
    at = new_app(tmp_path, LEARNER, url=f"postgresql+psycopg://quiz:secret@127.0.0.1:{port}/lesson").run()
    assert not at.exception
    answer_two(at, live_answers)
    assert waits == []  # drawing the page does not wait on a database that is down
    assert any("not being saved" in w.value and "cannot be reached" in w.value for w in at.warning)
    at.text_input(key="quiz-display-name").set_value("Ada").run()
    at.button(key="quiz-submit").click().run()
    assert not at.exception
    assert waits == list(submissions.CONNECT_RETRY_DELAYS)  # sending waits, with back-off, before telling
    assert any("cannot be reached right now" in e.value for e in at.error)
    assert not any("secret" in e.value or str(port) in e.value for e in at.error)
    assert any("2 answer(s) not sent yet" in c.value for c in at.caption)
    assert metric(at, "Answered").startswith("2 /")
