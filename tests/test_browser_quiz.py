"""The quiz in a real browser: answers survive a reload, two tabs are one student, and a server
restart keeps unsent answers sendable. Each test starts its own server on a throwaway database
(LESSON_DATABASE_URL), and reads the stored rows back with sqlite3."""
from __future__ import annotations

import re
import sqlite3
import time
import tomllib
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from lessonkit import progress_store
from tests.conftest import RecordingPage, running_streamlit

ROOT = Path(__file__).resolve().parents[1]


def lesson_question(question_id: str) -> dict:
    for path in (ROOT / "quizzes").glob("*.toml"):
        for question in tomllib.loads(path.read_text(encoding="utf-8"))["questions"]:
            if question["id"] == question_id:
                return question
    raise KeyError(question_id)


def option_text(question_id: str, right: bool) -> str:
    question = lesson_question(question_id)
    return next(o["text"] for o in question["options"] if (o["key"] == question["answer"]) == right)


@pytest.fixture
def database(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "class.sqlite"
    monkeypatch.setenv("LESSON_DATABASE_URL", f"sqlite:///{path}")
    return path


@pytest.fixture
def context(chromium_browser):
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})
    pages: list[RecordingPage] = []
    context.recording_pages = pages
    yield context
    context.close()
    for page in pages:
        assert page.offsite_requests == [], f"requests left the machine: {page.offsite_requests[:5]}"


def open_quiz(context, base: str) -> RecordingPage:
    recording = RecordingPage(context.new_page())
    context.recording_pages.append(recording)
    recording.page.goto(f"{base}/quiz")
    expect(recording.page.get_by_role("heading", name="Final quiz")).to_be_visible(timeout=180_000)
    recording.wait_until_idle(timeout_ms=180_000)
    return recording


def answer(recording: RecordingPage, question_id: str, right: bool) -> None:
    page = recording.page
    page.locator(f".st-key-quiz-{question_id}-choice").get_by_text(option_text(question_id, right), exact=True).click()
    recording.wait_until_idle()
    page.locator(f".st-key-quiz-{question_id}-check button").click()
    expect(page.get_by_text("Right. Your answer" if right else "Not quite. Your answer").first).to_be_visible(
        timeout=60_000)
    recording.wait_until_idle()


def metric_value(recording: RecordingPage, label: str) -> str:
    metric = recording.page.locator('[data-testid="stMetric"]').filter(has_text=label)
    return metric.locator('[data-testid="stMetricValue"]').inner_text()


def send_as(recording: RecordingPage, name: str | None) -> None:
    page = recording.page
    if name is not None:
        box = page.locator(".st-key-quiz-display-name input")
        box.fill(name)
        box.press("Enter")
        recording.wait_until_idle()
    page.locator(".st-key-quiz-submit button").click()
    expect(page.get_by_text("stored for the class as").first).to_be_visible(timeout=60_000)
    recording.wait_until_idle()


def stored_rows(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as connection:
        return sorted(connection.execute("SELECT submission_id, question_id, display_name FROM quiz_answers").fetchall())


def test_answers_survive_a_reload_and_two_tabs_are_one_student(database, context, screenshot_dir):
    with running_streamlit(".pytest-streamlit-quiz.log") as base:
        tab = open_quiz(context, base)
        answer(tab, "s7-jain-wallace", right=True)
        answer(tab, "s7-single-layer", right=False)
        assert metric_value(tab, "Answered").startswith("2 /")
        cookies = {c["name"]: c["value"] for c in context.cookies()}
        assert len(cookies.get("attention_lesson_learner", "")) == 32
        tab.page.screenshot(path=str(screenshot_dir / "quiz_answered.png"), full_page=True)

        tab.page.reload()
        expect(tab.page.get_by_role("heading", name="Final quiz")).to_be_visible(timeout=120_000)
        tab.wait_until_idle()
        expect(tab.page.get_by_text("Not quite. Your answer").first).to_be_visible(timeout=60_000)
        assert metric_value(tab, "Answered").startswith("2 /")
        assert metric_value(tab, "Score").startswith("1 /")
        expect(tab.page.get_by_text("Your progress is kept in this browser").first).to_be_visible()
        tab.page.screenshot(path=str(screenshot_dir / "quiz_after_reload.png"), full_page=True)
        tab.page.locator(".st-key-quiz-s1-heatmap-axes-check").scroll_into_view_if_needed()
        tab.page.screenshot(path=str(screenshot_dir / "quiz_mixed_questions.png"))

        second = open_quiz(context, base)  # a second tab of the same browser
        assert metric_value(second, "Answered").startswith("2 /")
        send_as(tab, "Ada")
        # the second tab answers one more; its next run shows the fixed name, and it sends as Ada
        answer(second, "s7-it-animal", right=True)
        expect(second.page.get_by_text("Sending as").first).to_be_visible()
        send_as(second, None)
        rows = stored_rows(database)
        assert len({row[0] for row in rows}) == 1
        assert sorted(row[1] for row in rows) == ["s7-it-animal", "s7-jain-wallace", "s7-single-layer"]
        assert {row[2] for row in rows} == {"Ada"}

        tab.page.reload()  # a reload after sending has nothing left to send
        expect(tab.page.get_by_text("Everything you have answered is stored").first).to_be_visible(timeout=120_000)
        tab.wait_until_idle()
        assert tab.page.locator(".st-key-quiz-submit").count() == 0
        tab.page.screenshot(path=str(screenshot_dir / "quiz_sent.png"), full_page=True)
        assert len(stored_rows(database)) == 3

        # start over: the browser gets a new id, so after a reload it is a new, empty attempt
        old_id = {c["name"]: c["value"] for c in context.cookies()}["attention_lesson_learner"]
        tab.page.locator(".st-key-quiz-start-over").get_by_role("button", name="Start over").first.click()
        expect(tab.page.get_by_text("Started over").first).to_be_visible(timeout=60_000)
        tab.wait_until_idle()
        new_id = {c["name"]: c["value"] for c in context.cookies()}["attention_lesson_learner"]
        assert new_id != old_id and len(new_id) == 32
        tab.page.reload()
        expect(tab.page.locator(".st-key-quiz-display-name input")).to_be_visible(timeout=120_000)
        tab.wait_until_idle()
        assert metric_value(tab, "Answered").startswith("0 /")
        assert len(stored_rows(database)) == 3  # what the class received stays


def test_after_a_server_restart_unsent_answers_are_still_there_and_sendable(database, context):
    with running_streamlit(".pytest-streamlit-quiz-1.log") as base:
        tab = open_quiz(context, base)
        answer(tab, "s7-jain-wallace", right=True)
        expect(tab.page.get_by_text("1 answer(s) not sent yet").first).to_be_visible()
    # the server is gone; a new one starts on the same database (another port: the cookie is per host)
    with running_streamlit(".pytest-streamlit-quiz-2.log") as base:
        tab = open_quiz(context, base)
        assert metric_value(tab, "Answered").startswith("1 /")
        expect(tab.page.get_by_text("1 answer(s) not sent yet").first).to_be_visible()
        send_as(tab, "Bo")
        assert [(row[1], row[2]) for row in stored_rows(database)] == [("s7-jain-wallace", "Bo")]


def test_a_tab_opened_at_the_same_moment_takes_the_id_the_browser_already_keeps(database, context):
    """Two tabs opened at once each get an id; the second script to run must keep the first one's.

    Set-up: the other tab's id is in a cookie the page's script can read but that Streamlit's
    connection (/_stcore/stream) does not carry (path /quiz), as when the other tab's script
    wrote it just after this tab connected. Under that id, one answer is already stored.
    """
    other = "c0ffee" + "0" * 26
    engine = sa.create_engine(f"sqlite:///{database}")
    question = lesson_question("s7-jain-wallace")
    record = {"response": question["answer"], "response_text": option_text("s7-jain-wallace", True),
              "correct": True, "feedback": ["(kept)"], "section": 7, "at": time.time()}
    progress_store.save(engine, other, progress_store.Progress(grades={"s7-jain-wallace": record},
                                                               first={"s7-jain-wallace": record}))
    engine.dispose()
    with running_streamlit(".pytest-streamlit-quiz-3.log") as base:
        context.add_cookies([{"name": "attention_lesson_learner", "value": other, "domain": "127.0.0.1",
                              "path": "/quiz"}])
        tab = open_quiz(context, base)
        metric = tab.page.locator('[data-testid="stMetric"]').filter(has_text="Answered")
        expect(metric.locator('[data-testid="stMetricValue"]')).to_have_text(re.compile(r"^1 /"), timeout=60_000)
        tab.wait_until_idle()
        kept = [c for c in context.cookies() if c["name"] == "attention_lesson_learner" and c["path"] == "/"]
        assert [c["value"] for c in kept] == [other]
