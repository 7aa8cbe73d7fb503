"""The question bank: validation of good and broken files, the check command, and scoring."""
from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import numpy as np
import pytest

from lessonkit import quiz

ROOT = Path(__file__).resolve().parents[1]
BANK = ROOT / "quizzes"
LESSON_SECTIONS = range(1, 9)  # 8: which view is faithful (pages/faithfulness.py)


def raw_files() -> dict[int, dict]:
    """The quiz files read with tomllib alone, independent of lessonkit.quiz."""
    data = {}
    for path in sorted(BANK.glob("*.toml")):
        content = tomllib.loads(path.read_text(encoding="utf-8"))
        data[content["section"]] = content
    return data


# --------------------------------------------------------------------------- the shipped bank


def test_shipped_bank_is_valid_and_covers_every_section():
    bank = quiz.load_bank(BANK)
    assert bank.problems == ()
    raw = raw_files()
    assert sorted(raw) == list(LESSON_SECTIONS)
    for number in LESSON_SECTIONS:
        section = bank.section(number)
        assert section is not None, number
        assert len(section.questions) == len(raw[number]["questions"])
        assert len(section.questions) >= 3
        assert section.page == raw[number]["page"]
    ids = [question["id"] for content in raw.values() for question in content["questions"]]
    assert len(ids) == len(set(ids))


def test_lesson_quiz_opens_with_jain_and_wallace():
    first = raw_files()[7]["questions"][0]
    assert "Jain & Wallace" in first["prompt"]
    right = next(option for option in first["options"] if option["key"] == first["answer"])
    assert "unchanged" in right["text"] and "permuted" in right["text"]
    assert len(raw_files()[7]["questions"]) >= 3


def test_every_option_explains_itself():
    for content in raw_files().values():
        for question in content["questions"]:
            if question["type"] in ("single", "multiple"):
                assert all(option["explanation"].strip() for option in question["options"]), question["id"]
            if question["type"] == "numeric":
                assert question["explanation"].strip()


def _numeric(question_id: str) -> dict:
    for content in raw_files().values():
        for question in content["questions"]:
            if question["id"] == question_id:
                return question
    raise KeyError(question_id)


def test_numeric_answers_match_independent_computations():
    scores = np.array([2.0, 0.0])
    softmax_first = np.exp(scores[0]) / np.exp(scores).sum()
    question = _numeric("s1-softmax-two")
    assert abs(question["answer"] - softmax_first) <= question["tolerance"] / 10

    assert _numeric("s1-bert-heads")["answer"] == 12 * 12

    assert _numeric("s4-entry")["answer"] == pytest.approx(0.5 * abs(-0.2))

    attention = np.array([[0.2, 0.8], [0.6, 0.4]])
    step = (attention + np.eye(2)) / 2
    step = step / step.sum(axis=1, keepdims=True)
    rollout = step @ step
    question = _numeric("s5-two-layers")
    assert abs(question["answer"] - rollout[0, 0]) <= 1e-9
    # each listed mistake must be graded wrong
    for mistake in question["mistakes"]:
        assert abs(mistake["value"] - rollout[0, 0]) > question["tolerance"]


def test_check_command_on_the_shipped_bank():
    result = subprocess.run(
        [sys.executable, "-m", "lessonkit.quiz", "check", "quizzes"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert f"{sum(len(c['questions']) for c in raw_files().values())} questions" in result.stdout


# --------------------------------------------------------------------------- broken files

GOOD_FILE = """
section = 1
title = "Good"
page = "pages/formula.py"

[[questions]]
id = "good-one"
type = "single"
prompt = "Pick b."
answer = "b"
[[questions.options]]
key = "a"
text = "A"
explanation = "Not this one."
[[questions.options]]
key = "b"
text = "B"
explanation = "This one."
"""


def _bank_with(tmp_path: Path, broken: str, name: str = "zz_broken.toml") -> quiz.Bank:
    folder = tmp_path / "quizzes"
    folder.mkdir()
    (folder / "good.toml").write_text(GOOD_FILE, encoding="utf-8")
    (folder / name).write_text(textwrap.dedent(broken), encoding="utf-8")
    return quiz.load_bank(folder)


BROKEN_CASES = {
    "answer-not-an-option": (
        """
        section = 2
        title = "T"
        page = "pages/x.py"
        [[questions]]
        id = "bad-answer"
        type = "single"
        prompt = "P"
        answer = "z"
        [[questions.options]]
        key = "a"
        text = "A"
        explanation = "E"
        [[questions.options]]
        key = "b"
        text = "B"
        explanation = "E"
        """,
        "bad-answer", "answer",
    ),
    "missing-explanation": (
        """
        section = 2
        title = "T"
        page = "pages/x.py"
        [[questions]]
        id = "no-expl"
        type = "single"
        prompt = "P"
        answer = "a"
        [[questions.options]]
        key = "a"
        text = "A"
        explanation = "E"
        [[questions.options]]
        key = "b"
        text = "B"
        """,
        "no-expl", "options[1].explanation",
    ),
    "numeric-without-tolerance": (
        """
        section = 2
        title = "T"
        page = "pages/x.py"
        [[questions]]
        id = "num"
        type = "numeric"
        prompt = "P"
        answer = 1.5
        explanation = "E"
        """,
        "num", "tolerance",
    ),
    "typo-in-field": (
        """
        section = 2
        title = "T"
        page = "pages/x.py"
        [[questions]]
        id = "typo"
        type = "numeric"
        prompt = "P"
        answr = 1.5
        answer = 1.5
        tolerance = 0.1
        explanation = "E"
        """,
        "typo", "answr",
    ),
    "unknown-type": (
        """
        section = 2
        title = "T"
        page = "pages/x.py"
        [[questions]]
        id = "kind"
        type = "essay"
        prompt = "P"
        """,
        "kind", "type",
    ),
    "unknown-generator": (
        """
        section = 2
        title = "T"
        page = "pages/x.py"
        [[questions]]
        id = "live-bad"
        type = "live"
        prompt = "Which head in {model}?"
        generator = "crystal_ball"
        params = { sentence = "Hi." }
        """,
        "live-bad", "generator",
    ),
    "multiple-answer-not-a-list": (
        """
        section = 2
        title = "T"
        page = "pages/x.py"
        [[questions]]
        id = "multi"
        type = "multiple"
        prompt = "P"
        answer = "a"
        [[questions.options]]
        key = "a"
        text = "A"
        explanation = "E"
        [[questions.options]]
        key = "b"
        text = "B"
        explanation = "E"
        """,
        "multi", "answer",
    ),
    "duplicate-id-across-files": (
        GOOD_FILE.replace("section = 1", "section = 2"),
        "good-one", "id",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN_CASES))
def test_broken_file_names_file_question_and_field(tmp_path, case):
    text, question_id, field = BROKEN_CASES[case]
    bank = _bank_with(tmp_path, text)
    assert not bank.ok
    problem = next((p for p in bank.problems if p.question_id == question_id and p.field == field), None)
    assert problem is not None, [str(p) for p in bank.problems]
    assert problem.file.endswith("broken.toml")
    message = str(problem)
    assert "broken.toml" in message and question_id in message and field in message
    # the good file is untouched
    assert bank.section(1) is not None and [q.id for q in bank.section(1).questions] == ["good-one"]


def test_invalid_toml_is_reported_and_the_rest_loads(tmp_path):
    bank = _bank_with(tmp_path, 'section = 2\ntitle = "unclosed\n')
    assert [p.file.endswith("broken.toml") for p in bank.problems] == [True]
    assert "TOML" in str(bank.problems[0])
    assert bank.section(1) is not None and bank.section(2) is None


def test_bad_question_is_dropped_but_valid_siblings_stay(tmp_path):
    text = GOOD_FILE.replace("section = 1", "section = 3").replace("good-one", "sibling-ok") + textwrap.dedent(
        """
        [[questions]]
        id = "sibling-bad"
        type = "numeric"
        prompt = "P"
        answer = "one"
        tolerance = 0
        explanation = "E"
        """
    )
    bank = _bank_with(tmp_path, text)
    assert [q.id for q in bank.section(3).questions] == ["sibling-ok"]
    assert [(p.question_id, p.field) for p in bank.problems] == [("sibling-bad", "answer")]


def test_check_command_fails_on_a_broken_bank(tmp_path):
    folder = tmp_path / "quizzes"
    shutil.copytree(BANK, folder)
    (folder / "zz_broken.toml").write_text(textwrap.dedent(BROKEN_CASES["answer-not-an-option"][0]).replace("section = 2", "section = 9"))
    result = subprocess.run(
        [sys.executable, "-m", "lessonkit.quiz", "check", str(folder)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert "zz_broken.toml" in result.stderr and "bad-answer" in result.stderr and "'answer'" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_folder_is_a_problem_not_a_crash(tmp_path):
    bank = quiz.load_bank(tmp_path / "nowhere")
    assert bank.sections == () and len(bank.problems) == 1


# --------------------------------------------------------------------------- scoring


def _numeric_question(answer=0.8808, tolerance=0.005):
    return quiz.Question(id="n", section=1, type="numeric", prompt="p", answer=answer, tolerance=tolerance,
                         explanation="because", mistakes=(quiz.Mistake(1.0, "argmax"),))


@pytest.mark.parametrize(
    "response, expected",
    [(0.8808, True), (0.88, True), (0.8855, True), (0.8765, True), (0.875, False), (0.886, False), (1.0, False), (-0.88, False)],
)
def test_numeric_tolerance(response, expected):
    assert quiz.grade(_numeric_question(), response).correct is expected


def test_numeric_tolerance_boundary_is_inclusive_and_zero_tolerance_is_exact():
    assert quiz.grade(_numeric_question(answer=1.0, tolerance=0.25), 1.25).correct
    assert not quiz.grade(_numeric_question(answer=1.0, tolerance=0.25), 1.2500001).correct
    assert quiz.grade(_numeric_question(answer=144, tolerance=0), 144).correct
    assert not quiz.grade(_numeric_question(answer=144, tolerance=0), 143).correct


def test_numeric_mistake_feedback_and_bad_input():
    grade = quiz.grade(_numeric_question(), 1.0)
    assert not grade.correct and grade.feedback[0] == "argmax"
    for bad in (None, "abc", float("nan"), float("inf"), True):
        with pytest.raises(quiz.ResponseError):
            quiz.grade(_numeric_question(), bad)


def _multiple_question():
    options = tuple(quiz.Option(k, k.upper(), f"about {k}") for k in "abcd")
    return quiz.Question(id="m", section=1, type="multiple", prompt="p", options=options, answer=("a", "c"))


@pytest.mark.parametrize(
    "response, expected",
    [(["a", "c"], True), (["c", "a"], True), (("a", "c", "a"), True), (["a"], False), (["a", "b", "c"], False),
     (["b", "d"], False)],
)
def test_multiple_choice_is_all_or_nothing(response, expected):
    assert quiz.grade(_multiple_question(), response).correct is expected


def test_multiple_choice_feedback_mentions_chosen_and_missed_options():
    grade = quiz.grade(_multiple_question(), ["a", "b"])
    text = "\n".join(grade.feedback)
    assert "about a" in text and "about b" in text and "about c" in text and "did not tick" in text
    assert "about d" not in text
    for bad in ([], "a", ["z"]):
        with pytest.raises(quiz.ResponseError):
            quiz.grade(_multiple_question(), bad)


def test_single_choice_grading_on_the_real_bank():
    bank = quiz.load_bank(BANK)
    raw = raw_files()[7]["questions"][0]
    question = bank.question(raw["id"])
    assert quiz.grade(question, raw["answer"]).correct
    wrong = next(option["key"] for option in raw["options"] if option["key"] != raw["answer"])
    grade = quiz.grade(question, wrong)
    assert not grade.correct
    assert grade.feedback[0] == next(o["explanation"] for o in raw["options"] if o["key"] == wrong)


def test_score_counts_correct_answers_over_all_questions():
    questions = [_numeric_question(), _multiple_question()]
    grades = {"n": quiz.grade(questions[0], 0.88)}
    assert quiz.score(questions, grades) == (1, 2)
    grades["m"] = quiz.grade(questions[1], ["a"])
    assert quiz.score(questions, grades) == (1, 2)


# --------------------------------------------------------------------------- the final quiz


def _normalised(text: str) -> str:
    return " ".join(text.lower().split())


def raw_check_yourself_prompts() -> dict[str, str]:
    """What each lesson page's "check yourself" block asks, read from the files with tomllib: up to
    three questions marked check_yourself, else the first three; the quiz page has no such block."""
    asked = {}
    for content in raw_files().values():
        if content["page"] == "pages/quiz.py":
            continue
        marked = [q for q in content["questions"] if q.get("check_yourself")]
        for question in (marked or content["questions"])[:3]:
            asked[question["id"]] = question["prompt"]
    return asked


def test_final_quiz_opens_with_the_lessons_own_question_on_jain_and_wallace():
    bank = quiz.load_bank(BANK)
    first = quiz.final_quiz(bank)[0]
    assert first.section == 7 and "Jain & Wallace" in first.prompt
    right = first.option(first.answer).text
    assert "permuted" in right and "adversarial" in right and "unchanged" in right
    own = [q["id"] for q in raw_files()[7]["questions"]]
    assert [q.id for q in quiz.final_quiz(bank)[: len(own)]] == own


def test_final_quiz_never_repeats_a_check_yourself_question_word_for_word():
    bank = quiz.load_bank(BANK)
    asked = {_normalised(prompt) for prompt in raw_check_yourself_prompts().values()}
    # the block's own choice, through the code the pages use, is the same set
    assert {_normalised(q.prompt) for q in quiz.check_yourself_questions(bank)} == asked
    final = quiz.final_quiz(bank)
    repeated = [q.id for q in final if _normalised(q.prompt) in asked]
    assert repeated == []
    # and nothing is lost: every question is asked somewhere, once
    all_ids = [q["id"] for content in raw_files().values() for q in content["questions"]]
    assert sorted([q.id for q in final] + list(raw_check_yourself_prompts())) == sorted(all_ids)
    assert len(final) >= 10


def test_question_numbers_are_positions_in_the_whole_final_quiz():
    bank = quiz.load_bank(BANK)
    raw = raw_files()
    asked = raw_check_yourself_prompts()
    expected_order = [q["id"] for q in raw[7]["questions"]] + [
        q["id"] for number in range(1, 7) for q in raw[number]["questions"] if q["id"] not in asked
    ]
    numbers = quiz.question_numbers(bank)
    assert numbers == {question_id: index + 1 for index, question_id in enumerate(expected_order)}
    assert numbers["s7-jain-wallace"] == 1


def test_problems_shown_to_learners_carry_no_server_path(tmp_path):
    folder = tmp_path / "quizzes"
    shutil.copytree(BANK, folder)
    path = folder / "section_1_formula.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('answer = "b"', 'answer = "zz"', 1), encoding="utf-8")
    bank = quiz.load_bank(folder)
    assert bank.problems
    for problem in bank.problems:
        assert str(tmp_path) in str(problem)  # the full text (server log, check command) names the file
        assert str(tmp_path) not in problem.short() and problem.short().startswith("section_1_formula.toml")
