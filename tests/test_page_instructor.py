"""The instructor page (AppTest): nothing without the right password, tries limited per session and
per client, the class's numbers under the numbers students see, safe CSV, a live poll run with two
students through the UI, and the page hidden from the navigation when no password is set.

Expected numbers come from separate loops: question numbers read off the quiz page (ids matched to
the TOML files read with tomllib), counts from the answers this test stored, rows read with sqlite3.
"""
from __future__ import annotations

import csv
import functools
import io
import json
import re
import sqlite3
import tomllib
from collections import Counter
from pathlib import Path
from unittest import mock

import pytest
import sqlalchemy as sa
import streamlit as st
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from lessonkit import polls, submissions
from lessonkit.submissions import Answer
from ui import instructor_widgets
from ui.session_keys import QUIZ_LEARNER_ID

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "instructor.py")
APP = str(ROOT / "streamlit_app.py")
PASSWORD = "correct horse battery staple"

# (display name, [(question id, section, response, response text, correct)])
CLASS = [
    ("Ada", [("s1-row-sum", 1, "b", "option b", True), ("s3-kendall", 3, "a", "=HYPERLINK(\"http://x\")", False)]),
    ("Bo", [("s1-row-sum", 1, "c", "option c", False), ("s3-kendall", 3, "a", "=HYPERLINK(\"http://x\")", False)]),
    ("Cy", [("s1-row-sum", 1, "b", "option b", True), ("s3-kendall", 3, "c", "option c", True)]),
    ("Ada", [("s1-row-sum", 1, "c", "option c", False)]),  # a second attempt under the same name
]


def raw_questions() -> list[dict]:
    """Every question of the bank as written in the TOML files (each with its file's section)."""
    files = [tomllib.loads(f.read_text(encoding="utf-8")) for f in sorted((ROOT / "quizzes").glob("*.toml"))]
    return [dict(question, section=data["section"]) for data in files for question in data["questions"]]


@functools.cache
def quiz_page_numbers() -> dict[str, str]:
    """Question id -> "Q<n>" as the quiz page draws it (read off the page; ids matched by prompt)."""
    at = AppTest.from_file(str(ROOT / "pages" / "quiz.py"), default_timeout=300)
    at.secrets["connections"] = {"submissions": {"url": "sqlite:///:memory:"}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]  # else some numbers would be missing
    by_prompt = {question["prompt"]: question["id"] for question in raw_questions() if question["type"] != "live"}
    numbers = {}
    for element in at.markdown:
        match = re.match(r"^\*\*(Q\d+)\.\*\* (.+)$", element.value, re.DOTALL)
        if match and match.group(2) in by_prompt:
            numbers[by_prompt[match.group(2)]] = match.group(1)
    return numbers


def expected_label(question_id: str) -> str:
    """What the instructor page should call a question: its quiz number, else its section's check."""
    section = next(q["section"] for q in raw_questions() if q["id"] == question_id)
    return quiz_page_numbers().get(question_id, f"Section {section} check")


@pytest.fixture(autouse=True)
def fresh_client_limits():
    instructor_widgets.reset_client_limits()
    yield
    instructor_widgets.reset_client_limits()


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "class.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}")
    for name, sheet in CLASS:
        answers = [Answer(q, s, r, text, c) for q, s, r, text, c in sheet]
        submissions.submit(engine, submissions.new_submission_id(), name, answers)
    engine.dispose()
    return path


def app(database: Path, password: str | None = PASSWORD) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.secrets["connections"] = {"submissions": {"url": f"sqlite:///{database}"}}
    if password is not None:
        at.secrets["instructor_password"] = password
    return at


def log_in(at: AppTest, password: str = PASSWORD) -> AppTest:
    at.text_input(key="instructor-password").set_value(password)
    return at.button(key="instructor-open").click().run()


def shows_class_data(at: AppTest) -> bool:
    return bool(at.metric) or bool(at.get("vega_lite_chart")) or bool(at.dataframe) or bool(at.get("download_button"))


def table_with(at: AppTest, column: str):
    """The first st.dataframe with this column (AppTest does not expose dataframe keys)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def chart_rows(chart) -> list[dict]:
    spec = json.loads(chart.proto.spec)
    rows = [row for data in spec.get("datasets", {}).values() for row in data]
    for dataset in chart.proto.datasets:  # Streamlit ships chart data as Arrow
        rows += convert_arrow_bytes_to_pandas_df(dataset.data.data).to_dict("records")
    return rows


def test_without_a_configured_password_nothing_is_shown(database):
    at = app(database, password=None).run()
    assert not at.exception
    assert not shows_class_data(at) and not at.text_input
    assert any("instructor_password" in i.value for i in at.info)


def test_a_wrong_password_is_refused_and_shows_nothing(database):
    at = app(database).run()
    assert not shows_class_data(at)
    for left, attempt in zip([4, 3, 2, 1], ["", "wrong", PASSWORD.upper(), PASSWORD + " "]):
        log_in(at, attempt)
        assert not at.exception
        errors = [e.value for e in at.error]
        assert any("not right" in e and f"{left} more tr" in e for e in errors), (attempt, errors)
        assert not shows_class_data(at), attempt
    log_in(at, PASSWORD)  # the fifth try is right: still allowed
    assert not at.exception and shows_class_data(at)


def test_five_wrong_tries_lock_this_session_even_for_the_right_password(database):
    at = app(database).run()
    for attempt in range(5):
        log_in(at, f"guess {attempt}")
    assert any("locked for 5 min" in e.value for e in at.error), [e.value for e in at.error]
    log_in(at, PASSWORD)
    assert not shows_class_data(at)
    assert any("Too many wrong passwords" in e.value and "locked for" in e.value for e in at.error)
    assert not any("not right" in e.value for e in at.error)  # a locked form does not even check


def test_wrong_tries_from_one_client_add_up_across_sessions(database):
    # each session may fail 5 times; the client (the same address for every AppTest) 20 times in all,
    # counted in this process and in the class database
    for session in range(instructor_widgets.CLIENT_MAX_FAILURES // instructor_widgets.SESSION_MAX_FAILURES):
        at = app(database).run()
        for attempt in range(instructor_widgets.SESSION_MAX_FAILURES):
            log_in(at, f"session {session} guess {attempt}")
            assert not shows_class_data(at)
    fresh = app(database).run()
    # locked until the first failure is 15 minutes old (a few seconds have passed since)
    assert any(re.search(r"Too many wrong passwords\. Password entry is locked for (14 min \d+ s|15 min);", e.value)
               for e in fresh.error), [e.value for e in fresh.error]
    log_in(fresh, PASSWORD)
    assert not shows_class_data(fresh)
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT COUNT(*) FROM instructor_login_failures").fetchone()[0] == 20
    instructor_widgets.reset_client_limits()  # another replica, or a restart: nothing in its memory...
    log_in(fresh, PASSWORD)
    assert not shows_class_data(fresh)  # ...but the shared database still holds the 20 wrong tries
    with sqlite3.connect(database) as connection:  # the window passes
        connection.execute("DELETE FROM instructor_login_failures")
    log_in(fresh, PASSWORD)
    assert shows_class_data(fresh)


def test_the_right_password_shows_numbered_questions_counts_options_and_a_safe_csv(database, monkeypatch):
    downloads: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def recording(self, path_or_data, mimetype, kind, filename=None):
        downloads[filename] = path_or_data
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", recording)
    at = log_in(app(database).run())
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Quiz attempts": "4", "Display names": "3", "Answers stored": "7"}

    answered, right = Counter(), Counter()
    for _, sheet in CLASS:
        for question_id, _, _, _, correct in sheet:
            answered[question_id] += 1
            right[question_id] += correct
    charts = [chart_rows(chart) for chart in at.get("vega_lite_chart")]
    overview = next(rows for rows in charts if rows and "share_correct" in rows[0])
    by_label = {row["question"]: row for row in overview}
    assert set(by_label) == {expected_label(q) for q in answered}
    for question_id, count in answered.items():
        row = by_label[expected_label(question_id)]
        assert row["question_id"] == question_id
        assert row["answered"] == count
        assert row["share_correct"] == pytest.approx(right[question_id] / count)

    # per-option counts of the first question in the selectbox (s1-row-sum), from the stored rows
    options = table_with(at, "right answer")
    question = next(q for q in raw_questions() if q["id"] == "s1-row-sum")
    with sqlite3.connect(database) as connection:
        stored = Counter(json.loads(r[0]) for r in connection.execute(
            "SELECT response FROM quiz_answers WHERE question_id = 's1-row-sum'"))
    texts = {o["key"]: o["text"] for o in question["options"]}
    assert len(options) == len(texts)
    for key, text in texts.items():
        row = options[options["option"] == instructor_widgets.short(text, 60)].iloc[0]
        assert row["students"] == stored.get(key, 0)
        assert bool(row["right answer"]) == (key == question["answer"])

    wrong = table_with(at, "wrong answer")
    top = wrong[wrong["question"] == expected_label("s3-kendall")].iloc[0]
    assert (top["times"], top["wrong answer"]) == (2, "=HYPERLINK(\"http://x\")")  # shown as text on screen

    text = downloads["quiz_answers.csv"].decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == 7
    formulas = [row["response_text"] for row in rows if "HYPERLINK" in row["response_text"]]
    assert formulas == ["'=HYPERLINK(\"http://x\")"] * 2
    assert {row["question"] for row in rows} == {expected_label("s1-row-sum"), expected_label("s3-kendall")}

    at.button(key="instructor-lock").click().run()
    assert not shows_class_data(at)


# --------------------------------------------------------------------------- a live poll through the UI


def student_script():
    from ui.live_poll import show_open_poll

    show_open_poll()


def student(database: Path) -> AppTest:
    at = AppTest.from_function(student_script, default_timeout=60)
    at.secrets["connections"] = {"submissions": {"url": f"sqlite:///{database}"}}
    return at.run()


def poll_box_text(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown) + " " + " ".join(
        e.value for kind in (at.success, at.error, at.info, at.caption, at.warning) for e in kind)


def test_a_poll_opened_in_the_ui_reaches_two_students_who_are_counted_once(database):
    label = expected_label("s1-row-sum")
    question = next(q for q in raw_questions() if q["id"] == "s1-row-sum")
    students = [student(database), student(database)]
    for at in students:
        assert not at.exception and not at.radio  # no poll yet: nothing shown

    teacher = log_in(app(database).run())
    assert any("No poll is running" in i.value for i in teacher.info)
    teacher.selectbox(key="instructor-poll-question").set_value("s1-row-sum")
    teacher.button(key="instructor-poll-open").click().run()
    assert not teacher.exception, [e.value for e in teacher.exception]
    assert any(f"{label} is open" in t.value for t in teacher.toast), ([t.value for t in teacher.toast], [e.value for e in teacher.error])

    picks = [question["answer"], next(o["key"] for o in question["options"] if o["key"] != question["answer"])]
    for at, pick in zip(students, picks):
        at.run()  # the fragment's next refresh
        assert f"Live poll from your instructor · {label}" in poll_box_text(at)
        at.radio[0].set_value(pick)
        send = next(b for b in at.button if b.proto.label.endswith("Send my answer"))
        send.click().run()
        assert not at.exception
        assert "Your answer is in" in poll_box_text(at)
        assert not at.radio  # answered: the question is not asked again
    # the first student again, from a second tab (the same browser id): not asked, not counted twice
    again = AppTest.from_function(student_script, default_timeout=60)
    again.secrets["connections"] = {"submissions": {"url": f"sqlite:///{database}"}}
    again.session_state[QUIZ_LEARNER_ID] = students[0].session_state[QUIZ_LEARNER_ID]
    again.run()
    assert "Your answer is in" in poll_box_text(again) and not again.radio

    teacher.run()
    table = table_with(teacher, "% of answers")
    expected = Counter(picks)
    texts = {o["key"]: o["text"] for o in question["options"]}
    for key, text in texts.items():
        row = table[table["option"] == text].iloc[0]
        assert row["students"] == expected.get(key, 0), key
    assert {m.label: m.value for m in teacher.metric}["Students who answered"] == "2"
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT COUNT(*) FROM live_poll_answers").fetchone()[0] == 2

    teacher.button(key="instructor-poll-close").click().run()
    students[0].run()
    assert "The poll is closed" in poll_box_text(students[0])
    teacher.button(key="instructor-poll-reveal").click().run()
    right_text = texts[question["answer"]]
    for at, verdict in zip(students, ["You were right", "Not this time"]):
        at.run()
        shown = poll_box_text(at)
        assert verdict in shown and right_text in shown, shown
        for option in question["options"]:
            assert option["explanation"] in shown
    teacher.button(key="instructor-poll-end").click().run()
    students[1].run()
    assert "Live poll" not in poll_box_text(students[1])


def test_a_student_never_sees_a_traceback_when_the_database_fails(database, caplog):
    at = AppTest.from_function(student_script, default_timeout=60)
    at.secrets["connections"] = {"submissions": {"url": "sqlite:////nonexistent-folder/x/class.sqlite"}}
    at.run()
    assert not at.exception
    assert any("not available right now" in c.value for c in at.caption)
    shown = poll_box_text(at)
    assert "/nonexistent-folder" not in shown and "Traceback" not in shown
    assert any("live poll" in record.message for record in caplog.records)
    # the instructor can read the details (this server process's latest errors)
    teacher = log_in(app(database).run())
    labels = [e.label for e in teacher.expander]
    assert any("ui.live_poll" in label and "reading the current poll failed" in label for label in labels), labels
    assert any("nonexistent-folder" in code.value for code in teacher.code)


# --------------------------------------------------------------------------- navigation


def navigation_pages(password: str | None) -> list:
    """Every st.Page the entry script gives st.navigation (AppTest on streamlit_app.py)."""
    seen: list = []
    real = st.navigation

    def recording(pages, **options):
        seen.extend(page for group in (pages.values() if isinstance(pages, dict) else [pages]) for page in group)
        return real(pages, **options)

    at = AppTest.from_file(APP, default_timeout=300)
    if password is not None:
        at.secrets["instructor_password"] = password
    with mock.patch.object(st, "navigation", recording):
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return seen


def test_the_instructor_page_is_hidden_from_the_navigation_without_a_password():
    pages = navigation_pages(None)
    instructor = [page for page in pages if page.url_path == "instructor"]
    assert len(instructor) == 1 and instructor[0].visibility == "hidden"
    assert all(page.visibility == "visible" for page in pages if page.url_path != "instructor")

    pages = navigation_pages(PASSWORD)
    instructor = [page for page in pages if page.url_path == "instructor"]
    assert len(instructor) == 1 and instructor[0].visibility == "visible"


def test_storage_counts_match_the_ui_for_a_poll_opened_directly(database):
    """The instructor's live table reads the same rows a poll opened from code stores."""
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        from lessonkit.quiz import load_bank

        bank = load_bank(ROOT / "quizzes")
        question = bank.question("s1-row-sum")
        poll = polls.open_poll(engine, polls.poll_question(question, "Q1"))
        choices = ["a", "b", "b", "c", "b"]
        for index, choice in enumerate(choices):
            polls.answer_poll(engine, poll.poll_id, f"s{index}", choice)
    finally:
        engine.dispose()
    teacher = log_in(app(database).run())
    table = table_with(teacher, "% of answers")
    expected = Counter(choices)
    for option in question.options:
        assert table[table["option"] == option.text].iloc[0]["students"] == expected.get(option.key, 0)
    assert table["% of answers"].tolist() == pytest.approx(
        [round(100 * expected.get(o.key, 0) / len(choices), 1) for o in question.options])


def test_a_live_question_is_built_from_the_model_when_opened(database, loaded_model):
    from lessonkit.analysis import analyse_sentence
    from tests.test_live_questions import loop_positional_best

    question = next(q for q in raw_questions() if q["type"] == "live" and q["generator"] == "positional_head")
    result = analyse_sentence(loaded_model, question["params"]["sentence"])
    layer, head = loop_positional_best(result.attn, question["params"].get("offset", -1))

    teacher = log_in(app(database).run())
    teacher.selectbox(key="instructor-poll-question").set_value(question["id"])
    teacher.button(key="instructor-poll-open").click().run()
    assert not teacher.exception, [e.value for e in teacher.exception]
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        poll = polls.current_poll(engine)
    finally:
        engine.dispose()
    assert poll.question.question_id == question["id"]
    right = [poll.question.option(key).text for key in poll.question.answer]
    assert right == [f"layer {layer + 1}, head {head + 1}"]  # the app counts from 1
    assert len(poll.question.options) >= 2 and "{" not in poll.question.prompt

    at = student(database)
    shown = poll_box_text(at)
    assert question["params"]["sentence"] in shown and at.radio and not at.exception


def test_a_student_ticks_two_options_of_a_multiple_choice_poll(database):
    question = next(q for q in raw_questions() if q["type"] == "multiple")
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        from lessonkit.quiz import load_bank

        bank_question = load_bank(ROOT / "quizzes").question(question["id"])
        polls.open_poll(engine, polls.poll_question(bank_question, "Q9"))
    finally:
        engine.dispose()
    at = student(database)
    assert "Tick every option" in poll_box_text(at)
    ticked = [question["options"][0]["key"], question["options"][-1]["key"]]
    for box in at.checkbox:
        if any(box.key.endswith(f"-opt-{key}") for key in ticked):
            box.check()
    next(b for b in at.button if b.proto.label.endswith("Send my answer")).click().run()
    assert not at.exception and "Your answer is in" in poll_box_text(at)
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT response FROM live_poll_answers").fetchall()
    assert [json.loads(row[0]) for row in rows] == [sorted(ticked)]


def test_with_auto_refresh_off_the_page_offers_refresh_buttons(database):
    at = log_in(app(database).run())
    assert not {"instructor-poll-refresh", "instructor-refresh"} & {b.key for b in at.button}
    at.toggle(key="instructor-auto-refresh").set_value(False).run()
    assert not at.exception
    assert {"instructor-poll-refresh", "instructor-refresh"} <= {b.key for b in at.button}
    assert {m.label: m.value for m in at.metric}["Answers stored"] == "7"


def test_a_broken_database_gives_the_instructor_short_messages_and_no_traceback(tmp_path):
    missing = tmp_path / "no-such-folder" / "class.sqlite"
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.secrets["connections"] = {"submissions": {"url": f"sqlite:///{missing}"}}
    at.secrets["instructor_password"] = PASSWORD
    at = log_in(at.run(), "wrong")  # the try is still counted (in memory) without the database
    assert any("4 more tries" in e.value for e in at.error), [e.value for e in at.error]
    log_in(at, PASSWORD)
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert any(e.startswith("Could not read the current poll") for e in errors), errors
    assert any(e.startswith("Could not read the submissions database") for e in errors), errors
    assert not any("No poll is running" in i.value for i in at.info)
    assert all(str(tmp_path) not in e and "Traceback" not in e for e in errors)
