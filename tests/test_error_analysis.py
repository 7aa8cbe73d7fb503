"""Error analysis: cause tags, the error rows of a classifier, and the committed results file."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonkit import bilstm_classifier as bc
from lessonkit import error_analysis as ea
from lessonkit.sentiment_data import load_sentiment_split
from lessonkit.uses_results import UsesResultsError


class FixedScorer:
    """A stand-in classifier with known probabilities."""

    name = "fixed"

    def __init__(self, p):
        self.p = np.asarray(p, dtype=float)

    def probabilities(self, texts):
        return self.p[: len(texts)]


class WordTokenizer:
    def tokenize(self, text):
        return text.split()


def test_cause_tags_by_rule():
    assert ea.cause_tags("I do not like this at all today") == ["negation"]
    assert ea.cause_tags("it was great but the ending was sad") == ["contrast"]
    assert ea.cause_tags("dont care, it's fine though really okay") == ["negation", "contrast"]
    assert ea.cause_tags("I can't wait!!") == ["negation", "short"]
    assert ea.cause_tags("love it") == ["short"]
    assert ea.cause_tags("nothing to see here, move along folks") == ["negation"]
    assert ea.cause_tags("another sunny morning in the city park") == []
    assert ea.cause_tags("Notably, the knot held up very well") == []  # words, not substrings


def test_model_errors_on_known_predictions():
    texts = ["i am not happy today at all", "great", "fine but tired of this weather now", "a b c d e f g"]
    labels = np.array([1, 1, 0, 0])
    errors = ea.model_errors(FixedScorer([0.2, 0.9, 0.7, 0.4]), WordTokenizer(), texts, labels, indices=[10, 11, 12, 13])
    assert errors.accuracy == 0.5
    assert [(r.index, r.label, r.predicted, r.confidence, r.n_words, r.tags) for r in errors.errors] == [
        (10, 1, 0, 0.8, 7, ["negation"]),
        (12, 0, 1, 0.7, 7, ["contrast"]),
    ]
    assert errors.tag_rate_errors == {"negation": 0.5, "contrast": 0.5, "short": 0.0}
    assert errors.tag_rate_correct == {"negation": 0.0, "contrast": 0.0, "short": 0.5}
    assert [r.index for r in ea.filter_errors(errors, min_confidence=0.75)] == [10]
    assert [r.index for r in ea.filter_errors(errors, tag="contrast")] == [12]
    assert ea.filter_errors(errors, max_words=5) == []
    combined = ea.error_results([errors, errors], texts + ["x"] * 10)
    assert combined.wrong_for_all == [10, 12] and set(combined.texts) == {10, 12}


def test_committed_bilstm_errors_match_a_plain_loop(loaded_model):
    split = load_sentiment_split()
    results = ea.load_error_results()
    bilstm = next(m for m in results.models if m.model == "BiLSTM")
    model, _ = bc.load_bilstm(bc.MAIN_FILE)
    n = 300
    wrong = {}
    for i, (text, label) in enumerate(zip(split.test_texts[:n], split.test_labels[:n])):
        s = bc.encode_sentence(loaded_model.tokenizer, text)
        with torch.no_grad():
            p = float(model(s.ids, s.mask)[0][0])
        if (p > 0.5) != (label == 1):
            wrong[i] = max(p, 1 - p)
    stored = {r.index: r for r in bilstm.errors if r.index < n}
    assert set(stored) == set(wrong)
    for i, confidence in wrong.items():
        assert stored[i].confidence == pytest.approx(confidence, abs=1e-4)
        assert results.texts[i] == split.test_texts[i]
        assert stored[i].tags == ea.cause_tags(split.test_texts[i])
    assert bilstm.accuracy == pytest.approx(1 - len(bilstm.errors) / bilstm.n_test)
    assert ea.RESULTS_FILE.stat().st_size < 300_000


def test_loader_rejects_truncated_file(tmp_path):
    broken = tmp_path / "uses_errors.json"
    broken.write_bytes(ea.RESULTS_FILE.read_bytes()[:1000])
    with pytest.raises(UsesResultsError, match=r"uses_errors\.json is corrupt.*python -m scripts\.compute_uses_stats --only errors"):
        ea.load_error_results(broken)
    wrong_shape = tmp_path / "wrong.json"
    wrong_shape.write_text('{"models": 3}')
    with pytest.raises(UsesResultsError, match=r"wrong\.json is corrupt"):
        ea.load_error_results(wrong_shape)
