"""The lesson's question bank: schema, loading with validation, scoring, and a checking command.

Questions are data: one TOML file per lesson section in ``quizzes/``. A file looks like::

    section = 1
    title = "What attention weights are"
    page = "pages/formula.py"          # the page that teaches this section (the one mapping)

    [[questions]]
    id = "s1-row-sum"                  # unique across the bank; lowercase, digits, - and _
    type = "single"                    # single | multiple | numeric | live
    prompt = "..."
    answer = "b"                       # single: one option key; multiple: a list of keys
    check_yourself = true              # optional: shown in the page's "check yourself"

    [[questions.options]]
    key = "a"
    text = "..."
    explanation = "..."                # every option explains itself

Numeric questions have ``answer`` (a number), ``tolerance`` and ``explanation`` instead of
options, and may list ``[[questions.mistakes]]`` (``value``, ``explanation``) for common wrong
numbers. Live questions name a ``generator`` from :mod:`lessonkit.live_questions` and its
``params``; their options and answer come from the model when the page is shown.

Loading never raises for a bad file: every problem becomes a :class:`BankProblem` naming the file,
the question id and the field, and the valid questions of the other files stay usable.

Check the bank from a shell with ``python -m lessonkit.quiz check quizzes/``.
"""
from __future__ import annotations

import math
import re
import sys
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lessonkit import live_questions

QUESTION_TYPES = ("single", "multiple", "numeric", "live")
QUIZ_PAGE = "pages/quiz.py"  # the final quiz; a section whose page is this one holds the lesson's own questions
CHECK_YOURSELF_LIMIT = 3  # questions in each lesson page's "check yourself" block
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}$")
OPTION_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MAX_TEXT = 2_000
FILE_FIELDS = {"section", "title", "page", "questions"}
COMMON_FIELDS = {"id", "section", "type", "prompt", "check_yourself"}
FIELDS_BY_TYPE = {
    "single": COMMON_FIELDS | {"options", "answer"},
    "multiple": COMMON_FIELDS | {"options", "answer"},
    "numeric": COMMON_FIELDS | {"answer", "tolerance", "explanation", "mistakes"},
    "live": COMMON_FIELDS | {"generator", "params"},
}


# --------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class Option:
    key: str
    text: str
    explanation: str


@dataclass(frozen=True)
class Mistake:
    value: float
    explanation: str


@dataclass(frozen=True)
class Question:
    """One question. For ``live`` questions ``options``/``answer`` are empty until built."""

    id: str
    section: int
    type: str
    prompt: str
    options: tuple[Option, ...] = ()
    answer: Any = None  # str (single), tuple[str, ...] (multiple), float (numeric)
    tolerance: float = 0.0
    explanation: str = ""  # numeric questions: why the answer is what it is
    mistakes: tuple[Mistake, ...] = ()
    generator: str = ""  # live questions
    params: tuple[tuple[str, Any], ...] = ()  # live questions (hashable)
    check_yourself: bool = False
    source: str = ""  # file it came from

    @property
    def is_live(self) -> bool:
        return self.type == "live"

    def option(self, key: str) -> Option | None:
        return next((option for option in self.options if option.key == key), None)

    @property
    def params_dict(self) -> dict[str, Any]:
        return dict(self.params)


@dataclass(frozen=True)
class Section:
    number: int
    title: str
    page: str
    questions: tuple[Question, ...]
    source: str

    def check_yourself_questions(self, limit: int = CHECK_YOURSELF_LIMIT) -> tuple[Question, ...]:
        """The questions marked ``check_yourself`` (at most ``limit``), else the first ``limit``."""
        marked = tuple(question for question in self.questions if question.check_yourself)
        return (marked or self.questions)[:limit]


@dataclass(frozen=True)
class BankProblem:
    file: str
    question_id: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.question_id:
            where += f", question {self.question_id!r}"
        if self.field:
            where += f", field {self.field!r}"
        return f"{where}: {self.message}"

    def short(self) -> str:
        """For learners: the file's name and the question only (no server path, no details)."""
        where = Path(self.file).name
        return f"{where}, question {self.question_id!r}" if self.question_id else where


@dataclass(frozen=True)
class Bank:
    sections: tuple[Section, ...]
    problems: tuple[BankProblem, ...] = ()
    warnings: tuple[BankProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def questions(self) -> tuple[Question, ...]:
        return tuple(question for section in self.sections for question in section.questions)

    def section(self, number: int) -> Section | None:
        return next((section for section in self.sections if section.number == number), None)

    def question(self, question_id: str) -> Question | None:
        return next((question for question in self.questions if question.id == question_id), None)

    def page_for_section(self, number: int) -> str | None:
        section = self.section(number)
        return section.page if section else None


# --------------------------------------------------------------------------- which questions go where


def check_yourself_questions(bank: Bank) -> tuple[Question, ...]:
    """Every question a lesson page's "check yourself" block asks (the quiz page has no such block)."""
    return tuple(
        question
        for section in bank.sections
        if section.page != QUIZ_PAGE
        for question in section.check_yourself_questions(CHECK_YOURSELF_LIMIT)
    )


def final_quiz(bank: Bank) -> tuple[Question, ...]:
    """The final quiz, in order: the lesson's own questions first (the sections taught on the quiz
    page, Jain & Wallace's question opening it), then, section by section, the questions that no
    "check yourself" block asks, so the quiz never repeats one of those blocks word for word."""
    asked = {question.id for question in check_yourself_questions(bank)}
    own = [question for section in bank.sections if section.page == QUIZ_PAGE for question in section.questions]
    mixed = [
        question
        for section in bank.sections
        if section.page != QUIZ_PAGE
        for question in section.questions
        if question.id not in asked
    ]
    return tuple(own + mixed)


def question_numbers(bank: Bank) -> dict[str, int]:
    """Question id -> the number the learner sees (1, 2, ...), fixed by the question's place in the
    whole final quiz: the same in the quiz, in a retry of the missed questions and on the
    instructor page. Questions asked only in "check yourself" blocks have no number."""
    return {question.id: number for number, question in enumerate(final_quiz(bank), start=1)}


class QuizFileError(ValueError):
    """Raised by :func:`load_bank_strict` with every problem listed."""

    def __init__(self, problems: Sequence[BankProblem]):
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


# --------------------------------------------------------------------------- loading


class _Collector:
    def __init__(self, file: str):
        self.file = file
        self.problems: list[BankProblem] = []

    def add(self, message: str, question_id: str | None = None, field_name: str | None = None) -> None:
        self.problems.append(BankProblem(self.file, question_id, field_name, message))


def _text(value: Any, problems: _Collector, qid: str | None, name: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        problems.add("must be a non-empty text", qid, name)
        return None
    if len(value) > MAX_TEXT:
        problems.add(f"is {len(value)} characters long; the limit is {MAX_TEXT}", qid, name)
        return None
    return value.strip()


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _parse_options(raw: Any, problems: _Collector, qid: str) -> tuple[Option, ...] | None:
    if not isinstance(raw, list) or len(raw) < 2:
        problems.add("needs at least two options ([[questions.options]] tables)", qid, "options")
        return None
    options, ok = [], True
    for index, item in enumerate(raw):
        where = f"options[{index}]"
        if not isinstance(item, dict):
            problems.add("must be a table with key, text and explanation", qid, where)
            ok = False
            continue
        unknown = set(item) - {"key", "text", "explanation"}
        if unknown:
            problems.add(f"unknown field(s) {', '.join(sorted(unknown))}", qid, where)
            ok = False
        key = item.get("key")
        if not isinstance(key, str) or not OPTION_KEY_PATTERN.match(key):
            problems.add("key must be a short word of letters, digits, - or _", qid, f"{where}.key")
            ok = False
        text = _text(item.get("text"), problems, qid, f"{where}.text")
        explanation = _text(item.get("explanation"), problems, qid, f"{where}.explanation")
        if text is None or explanation is None:
            ok = False
        elif isinstance(key, str):
            options.append(Option(key=key, text=text, explanation=explanation))
    keys = [option.key for option in options]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        problems.add(f"duplicate option key(s) {', '.join(duplicates)}", qid, "options")
        ok = False
    return tuple(options) if ok else None


def _parse_question(raw: Any, index: int, file_section: int | None, problems: _Collector) -> Question | None:
    if not isinstance(raw, dict):
        problems.add("must be a [[questions]] table", f"#{index + 1}", None)
        return None
    qid_raw = raw.get("id")
    qid = qid_raw if isinstance(qid_raw, str) and qid_raw else f"#{index + 1}"
    before = len(problems.problems)
    if not isinstance(qid_raw, str) or not ID_PATTERN.match(qid_raw):
        problems.add("is required: 2-64 characters, lowercase letters, digits, - or _", qid, "id")
    qtype = raw.get("type")
    if qtype not in QUESTION_TYPES:
        problems.add(f"must be one of {', '.join(QUESTION_TYPES)} (got {qtype!r})", qid, "type")
        return None
    unknown = set(raw) - FIELDS_BY_TYPE[qtype]
    for name in sorted(unknown):
        problems.add(f"is not a field of a {qtype} question", qid, name)
    section = raw.get("section", file_section)
    if isinstance(section, bool) or not isinstance(section, int) or (file_section is not None and section != file_section):
        problems.add(f"must be the file's section number {file_section}", qid, "section")
    prompt = _text(raw.get("prompt"), problems, qid, "prompt")
    check_yourself = raw.get("check_yourself", False)
    if not isinstance(check_yourself, bool):
        problems.add("must be true or false", qid, "check_yourself")
    kwargs: dict[str, Any] = {}
    if qtype in ("single", "multiple"):
        options = _parse_options(raw.get("options"), problems, qid)
        answer = raw.get("answer")
        keys = {option.key for option in options} if options else set()
        if qtype == "single":
            if not isinstance(answer, str):
                problems.add("must be the key of the correct option", qid, "answer")
            elif options and answer not in keys:
                problems.add(f"{answer!r} is not one of the option keys {sorted(keys)}", qid, "answer")
            kwargs.update(options=options or (), answer=answer)
        else:
            if not isinstance(answer, list) or not answer or not all(isinstance(a, str) for a in answer):
                problems.add("must be a non-empty list of option keys", qid, "answer")
            elif len(set(answer)) != len(answer):
                problems.add("lists an option twice", qid, "answer")
            elif options and not set(answer) <= keys:
                problems.add(f"{sorted(set(answer) - keys)} are not option keys", qid, "answer")
            else:
                kwargs.update(answer=tuple(answer))
            kwargs.update(options=options or ())
    elif qtype == "numeric":
        answer = _number(raw.get("answer"))
        if answer is None:
            problems.add("must be a finite number", qid, "answer")
        tolerance = _number(raw.get("tolerance"))
        if tolerance is None or tolerance < 0:
            problems.add("must be a number >= 0 (how far an answer may be from the correct one)", qid, "tolerance")
        explanation = _text(raw.get("explanation"), problems, qid, "explanation")
        mistakes = []
        raw_mistakes = raw.get("mistakes", [])
        if not isinstance(raw_mistakes, list):
            problems.add("must be a list of [[questions.mistakes]] tables", qid, "mistakes")
            raw_mistakes = []
        for m_index, item in enumerate(raw_mistakes):
            value = _number(item.get("value")) if isinstance(item, dict) else None
            if value is None:
                problems.add("needs a finite number", qid, f"mistakes[{m_index}].value")
                continue
            text = _text(item.get("explanation"), problems, qid, f"mistakes[{m_index}].explanation")
            if text is not None:
                mistakes.append(Mistake(value=value, explanation=text))
        kwargs.update(answer=answer, tolerance=tolerance or 0.0, explanation=explanation or "", mistakes=tuple(mistakes))
    else:  # live
        generator = raw.get("generator")
        params = raw.get("params", {})
        if prompt is not None and (template_problem := live_questions.check_prompt_template(prompt)):
            problems.add(template_problem, qid, "prompt")
        if generator not in live_questions.GENERATORS:
            problems.add(
                f"{generator!r} is not a live-question generator; known: {', '.join(sorted(live_questions.GENERATORS))}",
                qid,
                "generator",
            )
        elif not isinstance(params, dict):
            problems.add("must be a table", qid, "params")
        else:
            for name, message in live_questions.validate_params(generator, params):
                problems.add(message, qid, f"params.{name}")
        if isinstance(params, dict):
            kwargs.update(generator=generator or "", params=tuple(sorted(params.items())))
    if len(problems.problems) > before:
        return None
    assert isinstance(qid_raw, str) and isinstance(section, int) and prompt is not None  # checked above
    return Question(
        id=qid_raw, section=section, type=qtype, prompt=prompt, check_yourself=check_yourself,
        source=problems.file, **kwargs,
    )


def load_section_file(path: str | Path) -> tuple[Section | None, list[BankProblem]]:
    """Read and validate one file: (its section with the valid questions, or None; the problems)."""
    path = Path(path)
    problems = _Collector(str(path))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        problems.add(f"cannot be read: {error}")
        return None, problems.problems
    except tomllib.TOMLDecodeError as error:
        problems.add(f"is not valid TOML: {error}")
        return None, problems.problems
    for name in sorted(set(data) - FILE_FIELDS):
        problems.add("is not a top-level field of a quiz file", None, name)
    number = data.get("section")
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 99:
        problems.add("must be the lesson section number (1, 2, ...)", None, "section")
        number = None
    title = _text(data.get("title"), problems, None, "title")
    page = data.get("page")
    if not isinstance(page, str) or not page.endswith(".py") or ".." in Path(page).parts or Path(page).is_absolute():
        problems.add("must be the page file that teaches this section, e.g. 'pages/formula.py'", None, "page")
        page = None
    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        problems.add("needs at least one [[questions]] table", None, "questions")
        raw_questions = []
    if number is None or title is None or page is None:
        return None, problems.problems
    questions: list[Question] = []
    for index, raw in enumerate(raw_questions):
        question = _parse_question(raw, index, number, problems)
        if question is None:
            continue
        if any(q.id == question.id for q in questions):
            problems.add("is used twice in this file", question.id, "id")
            continue
        questions.append(question)
    return Section(number=number, title=title, page=page, questions=tuple(questions), source=str(path)), problems.problems


def load_bank(folder: str | Path, project_root: str | Path | None = None) -> Bank:
    """Every ``*.toml`` file of ``folder``, validated. Bad files or questions are left out and reported.

    ``project_root`` (default: the folder's parent) is where each file's ``page`` is looked for;
    a page that does not exist yet is a warning, not an error.
    """
    folder = Path(folder)
    root = Path(project_root) if project_root is not None else folder.resolve().parent
    if not folder.is_dir():
        return Bank(sections=(), problems=(BankProblem(str(folder), None, None, "is not a folder of quiz files"),))
    files = sorted(folder.glob("*.toml"))
    if not files:
        return Bank(sections=(), problems=(BankProblem(str(folder), None, None, "holds no *.toml quiz files"),))
    problems: list[BankProblem] = []
    warnings: list[BankProblem] = []
    sections: dict[int, Section] = {}
    seen_ids: dict[str, str] = {}
    for path in files:
        section, file_problems = load_section_file(path)
        problems.extend(file_problems)
        if section is None:
            continue
        if section.number in sections:
            problems.append(BankProblem(str(path), None, "section",
                                        f"section {section.number} is already defined in {sections[section.number].source}"))
            continue
        kept = []
        for question in section.questions:
            if question.id in seen_ids:
                problems.append(BankProblem(str(path), question.id, "id", f"is already used in {seen_ids[question.id]}"))
                continue
            seen_ids[question.id] = str(path)
            kept.append(question)
        if not (root / section.page).is_file():
            warnings.append(BankProblem(str(path), None, "page", f"{section.page} does not exist (yet)"))
        sections[section.number] = Section(section.number, section.title, section.page, tuple(kept), section.source)
    ordered = tuple(sections[number] for number in sorted(sections))
    return Bank(sections=ordered, problems=tuple(problems), warnings=tuple(warnings))


def load_bank_strict(folder: str | Path) -> Bank:
    bank = load_bank(folder)
    if bank.problems:
        raise QuizFileError(bank.problems)
    return bank


def build_live(question: Question, attn, tokens: list[str], model_name: str) -> Question:
    """A live question made concrete for this model's attention: a single-choice question.

    Keeps the id and section; ``type`` stays ``live`` so pages and records can tell.
    """
    built = live_questions.build(question.generator, question.params_dict, question.prompt, attn, tokens, model_name)
    options = tuple(Option(option.key, option.text, option.explanation) for option in built.options)
    return replace(question, prompt=built.prompt, options=options, answer=built.answer)


# --------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class Grade:
    correct: bool
    feedback: tuple[str, ...] = field(default_factory=tuple)  # explanations relevant to the response


class ResponseError(ValueError):
    """The response has the wrong shape for the question (a message for the learner)."""


def normalize_response(question: Question, response: Any) -> Any:
    """The canonical, storable form of a response: key, sorted tuple of keys, or float."""
    if question.type in ("single", "live"):
        if not isinstance(response, str) or question.option(response) is None:
            raise ResponseError("Pick one of the options.")
        return response
    if question.type == "multiple":
        if isinstance(response, str) or not isinstance(response, Iterable):
            raise ResponseError("Tick the options you think are right.")
        keys = tuple(sorted(set(response)))
        if not keys:
            raise ResponseError("Tick at least one option.")
        if any(question.option(key) is None for key in keys):
            raise ResponseError("That is not one of the options.")
        return keys
    number = _number(response)
    if number is None:
        raise ResponseError("Type a number.")
    return number


def grade(question: Question, response: Any) -> Grade:
    """Whether ``response`` answers ``question``, with the explanations the learner should read.

    single/live: the chosen key must be the answer. multiple: the set of chosen keys must equal
    the answer's (all or nothing). numeric: within ``tolerance`` of the answer, inclusive.
    """
    if question.is_live and not question.options:
        raise ValueError(f"live question {question.id!r} must be built with lessonkit.live_questions first")
    response = normalize_response(question, response)
    if question.type in ("single", "live"):
        picked = question.option(response)
        right = question.option(question.answer)
        assert picked is not None and right is not None  # normalize_response and the loader checked both
        correct = response == question.answer
        feedback = [picked.explanation]
        if not correct:
            feedback.append(f"The answer is “{right.text}”: {right.explanation}")
        return Grade(correct, tuple(feedback))
    if question.type == "multiple":
        ticked, answer = set(response), set(question.answer)
        correct = ticked == answer
        feedback = []
        for option in question.options:
            if option.key in ticked or option.key in answer:
                mark = "✔" if option.key in answer else "✘"
                missed = " (you did not tick it)" if option.key in answer and option.key not in ticked else ""
                feedback.append(f"{mark} “{option.text}”{missed}: {option.explanation}")
        return Grade(correct, tuple(feedback))
    correct = abs(response - question.answer) <= question.tolerance + 1e-12
    feedback = []
    if not correct:
        for mistake in question.mistakes:
            if abs(response - mistake.value) <= max(question.tolerance, 1e-9):
                feedback.append(mistake.explanation)
                break
        feedback.append(f"The answer is {format_number(question.answer)} (within ±{format_number(question.tolerance)}).")
    feedback.append(question.explanation)
    return Grade(correct, tuple(feedback))


def format_number(value: float) -> str:
    return f"{value:.6g}"


def describe_response(question: Question, response: Any) -> str:
    """The response in words (option texts, or the number)."""
    if question.type == "numeric":
        return format_number(float(response))
    keys = [response] if isinstance(response, str) else list(response)
    texts = []
    for key in keys:
        option = question.option(key)
        texts.append(option.text if option is not None else key)
    return "; ".join(texts)


def score(questions: Sequence[Question], grades: dict[str, Grade]) -> tuple[int, int]:
    """(number correct, number of questions) over ``questions``, counting only graded ones as correct."""
    correct = sum(1 for question in questions if question.id in grades and grades[question.id].correct)
    return correct, len(questions)


# --------------------------------------------------------------------------- command line


def check_command(folder: str) -> int:
    bank = load_bank(folder)
    for section in bank.sections:
        kinds: dict[str, int] = {}
        for question in section.questions:
            kinds[question.type] = kinds.get(question.type, 0) + 1
        summary = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
        print(f"section {section.number} ({section.page}): {len(section.questions)} questions ({summary}) - {section.source}")
    for warning in bank.warnings:
        print(f"warning: {warning}")
    for problem in bank.problems:
        print(f"error: {problem}", file=sys.stderr)
    total = len(bank.questions)
    if bank.problems:
        print(f"{len(bank.problems)} problem(s) in the question bank; {total} valid questions.", file=sys.stderr)
        return 1
    print(f"OK: {total} questions in {len(bank.sections)} sections.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 2 or argv[0] != "check":
        print("usage: python -m lessonkit.quiz check QUIZ_FOLDER", file=sys.stderr)
        return 2
    return check_command(argv[1])


if __name__ == "__main__":
    raise SystemExit(main())
