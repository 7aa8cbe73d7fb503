"""The instructor page: nothing without the right password; with it, the class's numbers."""
from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from lessonkit import submissions
from lessonkit.submissions import Answer

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "instructor.py")
PASSWORD = "correct horse battery staple"

# (display name, [(question id, section, response text, correct)])
CLASS = [
    ("Ada", [("s1-row-sum", 1, "b", True), ("s3-kendall", 3, "a", False)]),
    ("Bo", [("s1-row-sum", 1, "c", False), ("s3-kendall", 3, "a", False)]),
    ("Cy", [("s1-row-sum", 1, "b", True), ("s3-kendall", 3, "c", True)]),
    ("Ada", [("s1-row-sum", 1, "c", False)]),  # a second attempt under the same name
]


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "class.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}")
    for name, sheet in CLASS:
        answers = [Answer(q, s, r, f"option {r}", c) for q, s, r, c in sheet]
        submissions.submit(engine, submissions.new_submission_id(), name, answers)
    engine.dispose()
    return path


def app(database: Path, password: str | None = PASSWORD) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.secrets["connections"] = {"submissions": {"url": f"sqlite:///{database}"}}
    if password is not None:
        at.secrets["instructor_password"] = password
    return at


def shows_class_data(at: AppTest) -> bool:
    return bool(at.metric) or bool(at.get("vega_lite_chart")) or bool(at.dataframe) or bool(at.get("download_button"))


def test_without_a_configured_password_nothing_is_shown(database):
    at = app(database, password=None).run()
    assert not at.exception
    assert not shows_class_data(at) and not at.text_input
    assert any("instructor_password" in i.value for i in at.info)


def test_a_wrong_password_is_refused_and_shows_nothing(database):
    at = app(database).run()
    assert not shows_class_data(at)
    for attempt in ["", "wrong", PASSWORD.upper(), PASSWORD + " ", "<script>"]:
        at.text_input(key="instructor-password").set_value(attempt)
        at.button(key="instructor-open").click().run()
        assert not at.exception
        assert any("not right" in e.value for e in at.error), attempt
        assert not shows_class_data(at), attempt


def test_the_right_password_shows_counts_chart_wrong_answers_and_csv(database):
    at = app(database).run()
    at.text_input(key="instructor-password").set_value(PASSWORD)
    at.button(key="instructor-open").click().run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Quiz attempts": "4", "Display names": "3", "Answers stored": "7"}

    chart = at.get("vega_lite_chart")[0]
    spec = json.loads(chart.proto.spec)
    rows = [row for data in spec.get("datasets", {}).values() for row in data]
    for dataset in chart.proto.datasets:  # Streamlit ships chart data as Arrow
        rows += convert_arrow_bytes_to_pandas_df(dataset.data.data).to_dict("records")
    by_question = {row["question_id"]: row for row in rows}
    expected = Counter()
    right = Counter()
    for _, sheet in CLASS:
        for question_id, _, _, correct in sheet:
            expected[question_id] += 1
            right[question_id] += correct
    assert set(by_question) == set(expected)
    for question_id, row in by_question.items():
        assert row["answered"] == expected[question_id]
        assert row["share_correct"] == pytest.approx(right[question_id] / expected[question_id])
    assert {t["field"] for t in spec["encoding"]["tooltip"]} >= {"question_id", "answered", "prompt"}

    wrong = at.dataframe[0].value
    top = wrong[wrong["question"] == "s3-kendall"].iloc[0]
    assert (top["wrong answer"], top["times"]) == ("option a", 2)
    top = wrong[wrong["question"] == "s1-row-sum"].iloc[0]
    assert (top["wrong answer"], top["times"]) == ("option c", 2)

    download = at.get("download_button")[0]
    assert download.proto.label.startswith("⬇️ Download")
    with sqlite3.connect(database) as connection:
        stored = connection.execute("SELECT COUNT(*) FROM quiz_answers").fetchone()[0]
    assert stored == 7

    # locking the page hides everything again
    at.button(key="instructor-lock").click().run()
    assert not shows_class_data(at)


def test_csv_export_has_every_stored_answer(database):
    engine = sa.create_engine(f"sqlite:///{database}")
    text = submissions.to_csv(submissions.fetch_answers(engine)).decode("utf-8")
    engine.dispose()
    rows = list(csv.DictReader(io.StringIO(text)))
    with sqlite3.connect(database) as connection:
        stored = connection.execute("SELECT submission_id, question_id, display_name FROM quiz_answers").fetchall()
    assert sorted((r["submission_id"], r["question_id"], r["display_name"]) for r in rows) == sorted(stored)
