"""A live poll in real browsers: the instructor (password sent with Enter) opens a question, two
students see it appear on their quiz page without reloading, answer, and the instructor's count
rises to 2 without reloading; a reload shows the student's answer instead of asking again;
revealing reaches the students the same way.

Its own server: `streamlit run` on 127.0.0.1 with a throwaway secrets file (instructor password,
SQLite file in a temporary folder). Screenshots at 1400 px go to artifacts/screenshots/.
"""
from __future__ import annotations

import json
import sqlite3

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from lessonkit import submissions
from lessonkit.quiz import load_bank, question_numbers
from tests.conftest import REPO, RecordingPage, running_streamlit

PASSWORD = "a long classroom passphrase"
APPEAR_MS = 20_000  # the students' fragment refreshes every 3 s, the instructor's every 2 s


@pytest.fixture(scope="module")
def class_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    database = folder / "class.sqlite"
    secrets = folder / "secrets.toml"
    secrets.write_text(
        f'instructor_password = "{PASSWORD}"\n[connections.submissions]\nurl = "sqlite:///{database}"\n',
        encoding="utf-8",
    )
    with running_streamlit(".pytest-streamlit-poll.log", ["--secrets.files", str(secrets)]) as base:
        yield base, database


def new_page(browser) -> tuple:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    return context, RecordingPage(context.new_page())


def first_pollable_question():
    """The question the instructor's list offers first: the lowest-numbered one with options."""
    bank = load_bank(REPO / "quizzes", project_root=REPO)
    numbers = question_numbers(bank)
    choices = [q for q in bank.questions if q.type in ("single", "multiple") and q.id in numbers]
    return min(choices, key=lambda q: numbers[q.id]), numbers


def test_a_live_poll_reaches_two_students_and_the_count_updates_without_reloading(
        class_server, chromium_browser, screenshot_dir):
    base, database = class_server
    question, numbers = first_pollable_question()
    label = f"Q{numbers[question.id]}"
    contexts, pages = [], []
    try:
        for _ in range(3):
            context, page = new_page(chromium_browser)
            contexts.append(context)
            pages.append(page)
        teacher, students = pages[0], pages[1:]

        teacher.page.goto(f"{base}/instructor", timeout=120_000)
        box = teacher.page.get_by_label("Instructor password")
        expect(box).to_be_visible(timeout=120_000)
        expect(teacher.page.locator('[data-testid="stSidebarNav"]')).to_contain_text("Instructor view")
        box.fill(PASSWORD)
        box.press("Enter")  # Enter submits the form
        expect(teacher.page.get_by_text("No poll is running")).to_be_visible(timeout=60_000)
        teacher.wait_until_idle()

        for student in students:
            student.page.goto(f"{base}/quiz", timeout=120_000)
            expect(student.page.get_by_role("heading", name="Final quiz")).to_be_visible(timeout=120_000)
            student.wait_until_idle()
            expect(student.page.get_by_text("Live poll from your instructor")).to_have_count(0)

        teacher.page.get_by_role("button", name="Open to the class").click()
        expect(teacher.page.get_by_text(f"{label} is open to the class")).to_be_visible(timeout=60_000)
        teacher.wait_until_idle()

        loads_before = [student.page.evaluate("performance.getEntriesByType('navigation').length")
                        for student in students]
        for index, student in enumerate(students):
            poll = student.page.locator('[class*="st-key-poll-box-"]')
            expect(poll.get_by_text(f"Live poll from your instructor · {label}")).to_be_visible(timeout=APPEAR_MS)
            if question.type == "single":
                poll.locator('[data-testid="stRadio"] [data-testid="stRadioOption"]').nth(index).click()
            else:
                poll.locator('[data-testid="stCheckbox"] label').nth(index).click()
            poll.get_by_role("button", name="Send my answer").click()
            expect(poll.get_by_text("Your answer is in")).to_be_visible(timeout=60_000)
            # pressing nothing else: the answer is stored once
        shown = [student.page.evaluate("performance.getEntriesByType('navigation').length") for student in students]
        assert shown == loads_before  # no page load happened: the poll came in through the fragment

        answered = teacher.page.locator('[data-testid="stMetric"]').filter(has_text="Students who answered")
        expect(answered).to_contain_text("2", timeout=APPEAR_MS)
        with sqlite3.connect(database) as connection:
            rows = connection.execute("SELECT student_key, response FROM live_poll_answers").fetchall()
        assert len(rows) == 2 and len({row[0] for row in rows}) == 2
        keys = [option.key for option in question.options]
        assert sorted(json.loads(row[1]) for row in rows) == sorted([[keys[0]], [keys[1]]])  # student i picked option i
        # a reload is the same student (the browser keeps the id): the answer is shown, not asked again
        students[0].page.reload()
        poll = students[0].page.locator('[class*="st-key-poll-box-"]')
        expect(poll.get_by_text("Your answer is in")).to_be_visible(timeout=120_000)
        expect(poll.get_by_role("button", name="Send my answer")).to_have_count(0)
        teacher.wait_until_idle()
        teacher.page.screenshot(path=str(screenshot_dir / "instructor_live_poll.png"), full_page=True)
        students[0].page.screenshot(path=str(screenshot_dir / "student_poll_answered.png"))

        teacher.page.get_by_role("button", name="Reveal the answer").click()
        right = question.option(question.answer if isinstance(question.answer, str) else question.answer[0])
        for student in students:
            poll = student.page.locator('[class*="st-key-poll-box-"]')
            expect(poll.get_by_text("The answer:")).to_be_visible(timeout=APPEAR_MS)
            expect(poll).to_contain_text(right.explanation[:60])
        students[0].page.screenshot(path=str(screenshot_dir / "student_poll_revealed.png"))

        # the class's quiz answers, on the other tab: question numbers as students see them
        engine = sa.create_engine(f"sqlite:///{database}")
        try:
            for name, key in [("Ada", question.options[0].key), ("Bo", question.options[1].key)]:
                answer = submissions.Answer(question.id, question.section, key, question.option(key).text,
                                            key == question.answer)
                submissions.submit(engine, submissions.new_submission_id(), name, [answer])
        finally:
            engine.dispose()
        teacher.page.get_by_role("tab", name="Quiz answers").click()
        stored = teacher.page.locator('[data-testid="stMetric"]').filter(has_text="Answers stored")
        expect(stored).to_contain_text("2", timeout=APPEAR_MS)  # the tab refreshes itself
        teacher.wait_until_idle()
        teacher.page.screenshot(path=str(screenshot_dir / "instructor_quiz_answers.png"), full_page=True)
        texts = {
            "instructor (quiz answers tab)": teacher.page.inner_text("[data-testid='stMain']"),
            "student": students[0].page.locator('[class*="st-key-poll-box-"]').inner_text(),
        }
        (screenshot_dir / "live_poll_texts.txt").write_text(
            "\n\n".join(f"== {name}\n{text}" for name, text in texts.items()), encoding="utf-8")
        for text in texts.values():
            assert "Traceback" not in text and str(REPO) not in text
    finally:
        for page, context in zip(pages, contexts):
            assert page.offsite_requests == [], page.offsite_requests[:5]
            context.close()


def test_without_a_password_the_instructor_page_is_not_in_the_navigation(streamlit_server, browser_page):
    """The shared test server has no secrets file, so no instructor password."""
    page = browser_page.page
    page.goto(streamlit_server)
    navigation = page.locator('[data-testid="stSidebarNav"]')
    expect(navigation).to_contain_text("Final quiz", timeout=120_000)
    expect(navigation).not_to_contain_text("Instructor view")
    page.goto(f"{streamlit_server}/instructor")  # still reachable by its address, where it says how to switch on
    expect(page.get_by_text("no password is set")).to_be_visible(timeout=60_000)
