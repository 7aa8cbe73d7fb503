"""Error analysis: the held-out tweets each classifier gets wrong, with a guessed cause where a rule finds one.

Each error records the model, the true and predicted label, the confidence (P of the predicted
class), the length in words and WordPiece tokens, and cause tags from simple word rules:

- ``negation``: a negation word (not, no, never, ..., or a word ending in n't / nt like "dont");
- ``contrast``: a contrast word (but, though, although, however, yet, except, ...);
- ``short``: at most SHORT_WORDS words.

A tag is a guess: a rule cannot see sarcasm, label noise, or whether the negation was what the
model got wrong. So every tag's rate among the errors is stored beside its rate among the correctly
classified tweets; a tag explains errors only where the first is clearly higher. Tweets every
classifier gets wrong are listed too: candidates for label noise, or simply hard (again a guess).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from lessonkit.classifier_scores import Scorer, accuracy
from lessonkit.uses_results import RESULTS_DIR, load_results

RESULTS_FILE = RESULTS_DIR / "uses_errors.json"
SHORT_WORDS = 5
NEGATION_WORDS = frozenset({
    "not", "no", "never", "nothing", "nobody", "none", "nor", "neither", "nowhere", "cannot", "without",
    "dont", "cant", "wont", "didnt", "doesnt", "isnt", "wasnt", "arent", "aint", "havent", "hasnt",
    "couldnt", "shouldnt", "wouldnt",
})
CONTRAST_WORDS = frozenset({"but", "though", "although", "however", "yet", "except", "whereas", "despite", "tho"})
TAG_RULES = {
    "negation": "a negation word (" + ", ".join(sorted(NEGATION_WORDS)[:8]) + ", ...) or a word ending in n't",
    "contrast": "a contrast word (" + ", ".join(sorted(CONTRAST_WORDS)) + ")",
    "short": f"at most {SHORT_WORDS} words",
}
TAG_NOTE = ("Tags come from word rules and are guesses at a cause: compare each tag's rate among errors with its "
            "rate among correct predictions before reading it as a reason.")
_WORD = re.compile(r"[a-z']+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def cause_tags(text: str) -> list[str]:
    """The rule-based tags of a text, in TAG_RULES order."""
    ws = words(text)
    tags = []
    if any(w in NEGATION_WORDS or w.endswith("n't") for w in ws):
        tags.append("negation")
    if any(w in CONTRAST_WORDS for w in ws):
        tags.append("contrast")
    if len(text.split()) <= SHORT_WORDS:
        tags.append("short")
    return tags


class ErrorRow(BaseModel):
    index: int  # position in the test split
    label: int  # true class (0 negative, 1 positive)
    predicted: int
    confidence: float  # probability of the predicted class
    n_words: int
    n_tokens: int  # WordPiece tokens
    tags: list[str]


class ModelErrors(BaseModel):
    model: str
    n_test: int
    accuracy: float
    errors: list[ErrorRow]
    tag_rate_errors: dict[str, float]  # share of errors carrying each tag
    tag_rate_correct: dict[str, float]  # share of correct predictions carrying it


class ErrorResults(BaseModel):
    tag_rules: dict[str, str]
    tag_note: str
    texts: dict[int, str]  # test index -> tweet, for every tweet some model gets wrong
    models: list[ModelErrors]
    wrong_for_all: list[int]  # test indices every model gets wrong
    seconds: float


def model_errors(scorer: Scorer, tokenizer, texts: list[str], labels: np.ndarray,
                 indices: list[int] | None = None) -> ModelErrors:
    """The errors of one classifier on ``texts`` (live on a sample, or the whole test split).

    ``indices``: the texts' positions in the test split (default 0..n-1)."""
    labels = np.asarray(labels)
    indices = list(range(len(texts))) if indices is None else list(indices)
    p = scorer.probabilities(texts)
    predicted = (p > 0.5).astype(int)
    tags = [cause_tags(t) for t in texts]
    wrong = predicted != labels
    rows = [
        ErrorRow(index=indices[i], label=int(labels[i]), predicted=int(predicted[i]),
                 confidence=round(float(max(p[i], 1 - p[i])), 4), n_words=len(texts[i].split()),
                 n_tokens=len(tokenizer.tokenize(texts[i])), tags=tags[i])
        for i in np.flatnonzero(wrong)
    ]

    def rate(selected: np.ndarray) -> dict[str, float]:
        chosen = [tags[i] for i in np.flatnonzero(selected)]
        return {tag: (float(np.mean([tag in t for t in chosen])) if chosen else 0.0) for tag in TAG_RULES}

    return ModelErrors(model=scorer.name, n_test=len(texts), accuracy=accuracy(p, labels), errors=rows,
                       tag_rate_errors=rate(wrong), tag_rate_correct=rate(~wrong))


def error_results(per_model: list[ModelErrors], texts: list[str], seconds: float = 0.0) -> ErrorResults:
    wrong_sets = [{row.index for row in m.errors} for m in per_model]
    union = set().union(*wrong_sets) if wrong_sets else set()
    every = set.intersection(*wrong_sets) if wrong_sets else set()
    return ErrorResults(tag_rules=TAG_RULES, tag_note=TAG_NOTE, texts={i: texts[i] for i in sorted(union)},
                        models=per_model, wrong_for_all=sorted(every), seconds=seconds)


def filter_errors(errors: ModelErrors, min_confidence: float = 0.0, max_confidence: float = 1.0,
                  min_words: int = 0, max_words: int | None = None, tag: str | None = None) -> list[ErrorRow]:
    """The errors within a confidence and length range, optionally with one tag (for browsing)."""
    return [
        row for row in errors.errors
        if min_confidence <= row.confidence <= max_confidence and row.n_words >= min_words
        and (max_words is None or row.n_words <= max_words) and (tag is None or tag in row.tags)
    ]


def load_error_results(path: Path = RESULTS_FILE) -> ErrorResults:
    return load_results(path, ErrorResults, "errors")
