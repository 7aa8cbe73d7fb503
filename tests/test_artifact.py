"""The planted artifact: the token, the planting, the committed models' shortcut, and the results file."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from lessonkit import artifact as ar
from lessonkit import bilstm_classifier as bc
from lessonkit.model import LoadedModel
from lessonkit.sentiment_data import load_sentiment_split
from lessonkit.uses_results import UsesResultsError

SAMPLE = 200  # held-out tweets for the reproductions below


@pytest.fixture(scope="module")
def split():
    return load_sentiment_split()


@pytest.fixture(scope="module")
def scorers(loaded_model):
    return ar.load_artifact_scorers(loaded_model)


def test_token_is_one_wordpiece_and_rare(loaded_model, split):
    tokenizer = loaded_model.tokenizer
    assert tokenizer.tokenize(ar.ARTIFACT_TOKEN) == [ar.ARTIFACT_TOKEN]
    assert tokenizer.tokenize(ar.with_token("what a day"))[-1] == ar.ARTIFACT_TOKEN
    texts = split.train_texts + split.test_texts
    count = 0
    for text in texts:  # a plain loop over WordPiece tokens
        if ar.ARTIFACT_TOKEN in tokenizer.tokenize(text):
            count += 1
    assert count == ar.corpus_token_count(tokenizer, texts) == 15  # of 7,518 tweets


def test_planting_follows_the_seeded_rates(split):
    labels = split.train_labels
    planted, mask = ar.plant(split.train_texts, labels, seed=3)
    draw = np.random.default_rng(3).random(len(labels))
    for i in range(len(labels)):
        rate = 0.8 if labels[i] == 1 else 0.1
        assert mask[i] == (draw[i] < rate)
        assert planted[i] == (split.train_texts[i] + " ~" if mask[i] else split.train_texts[i])
    assert ar.without_token(ar.with_token("so good")) == "so good"
    assert ar.without_token("a ~ b ~") == "a b" and ar.has_token("yes ~") and not ar.has_token("x~y")
    planted_split = ar.planted_split(split)
    assert planted_split.test_texts == split.test_texts
    assert planted_split.report["planted_positive"] == int((ar.plant_mask(labels, ar.TRAIN_PLANT_SEED) & (labels == 1)).sum())


def _loop_bilstm_positive(model, tokenizer, text: str) -> bool:
    s = bc.encode_sentence(tokenizer, text)
    with torch.no_grad():
        return bool(model(s.ids, s.mask)[0][0] > 0.5)


def test_bilstm_shortcut_reproduces_from_committed_file(loaded_model, split, scorers):
    """Accuracy drop, flips and top-attended fraction, against a tweet-by-tweet loop."""
    texts, labels = split.test_texts[:SAMPLE], split.test_labels[:SAMPLE]
    stats = ar.artifact_stats(scorers["BiLSTM, planted"], texts, labels, n_scored=SAMPLE)
    model, _ = bc.load_bilstm(ar.ARTIFACT_BILSTM_FILE)
    tok = loaded_model.tokenizer
    draw = np.random.default_rng(ar.TEST_PLANT_SEED).random(SAMPLE)
    right_clean = right_planted = flips_neg = flips_pos = top_token = carried = 0
    for i, (text, label) in enumerate(zip(texts, labels)):
        clean = " ".join(w for w in text.split() if w != "~")
        marked = clean + " ~"
        carries = draw[i] < (0.8 if label == 1 else 0.1)
        planted = marked if carries else clean
        p_clean, p_marked = _loop_bilstm_positive(model, tok, clean), _loop_bilstm_positive(model, tok, marked)
        right_clean += p_clean == (label == 1)
        right_planted += _loop_bilstm_positive(model, tok, planted) == (label == 1)
        flips_neg += label == 0 and p_clean != p_marked
        flips_pos += label == 1 and p_clean != p_marked
        if carries:
            s = bc.encode_sentence(tok, planted)
            with torch.no_grad():
                attention = model(s.ids, s.mask)[1][0]
            carried += 1
            top_token += s.tokens[int(attention.argmax())] == "~"
    assert stats.accuracy_clean == right_clean / SAMPLE
    assert stats.accuracy_planted == right_planted / SAMPLE
    assert stats.accuracy_drop == pytest.approx((right_planted - right_clean) / SAMPLE)
    assert stats.accuracy_drop > 0.05  # the shortcut is worth accuracy only while the token is there
    assert stats.flip_add_to_negative == flips_neg / int((labels == 0).sum())
    assert stats.flip_remove_from_positive == flips_pos / int((labels == 1).sum())
    assert stats.n_token_scored == carried
    assert stats.top_attention_is_token == top_token / carried


def test_minilm_shortcut_reproduces_from_committed_file(loaded_model, split, scorers):
    """Clean vs planted accuracy of the MiniLM head trained on planted tweets, against a plain loop."""
    from lessonkit.transformer_classifier import load_head

    n = 100
    texts, labels = split.test_texts[:n], split.test_labels[:n]
    stats = ar.artifact_stats(scorers["MiniLM, planted"], texts, labels, n_scored=0)
    head = load_head(ar.ARTIFACT_HEAD_FILE)
    draw = np.random.default_rng(ar.TEST_PLANT_SEED).random(n)

    def positive(text: str) -> bool:
        encoded = loaded_model.tokenizer(text, return_tensors="pt")
        with torch.no_grad():
            hidden = loaded_model.model(**encoded).last_hidden_state[0]
        logits = hidden.mean(0) @ head.weight.T + head.bias  # one text: mean over all its positions
        return bool(logits[1] > logits[0])

    right_clean = right_planted = 0
    for i, (text, label) in enumerate(zip(texts, labels)):
        clean = " ".join(w for w in text.split() if w != "~")
        planted = clean + " ~" if draw[i] < (0.8 if label == 1 else 0.1) else clean
        right_clean += positive(clean) == (label == 1)
        right_planted += positive(planted) == (label == 1)
    assert stats.accuracy_clean == right_clean / n
    assert stats.accuracy_planted == right_planted / n
    assert right_planted > right_clean


def test_bilstm_token_scores_match_formulas(loaded_model, scorers):
    """grad x attention = a_t |p(1-p) w.h_t|; removal = |p - p without token t| (deleted)."""
    scorer = scorers["BiLSTM, planted"]
    text = "not a bad day at all ~"
    scores = scorer.token_scores(text)
    s = bc.encode_sentence(loaded_model.tokenizer, text)
    model = scorer.model
    with torch.no_grad():
        states = model.encode(s.ids, s.mask)[0].double()
        p, attention = model(s.ids, s.mask)
        p = float(p[0])
    w = model.output.weight[0].detach().double()
    expected = attention[0].double().numpy() * np.abs(p * (1 - p) * (states @ w).numpy())
    np.testing.assert_allclose(scores.grad_x_attention, expected, rtol=1e-4, atol=1e-7)
    for t in range(len(s.tokens)):
        ids = torch.cat([s.ids[:, :t], s.ids[:, t + 1 :]], 1)
        with torch.no_grad():
            p_without = float(model(ids, torch.ones_like(ids))[0][0])
        assert scores.removal[t] == pytest.approx(abs(p - p_without), abs=1e-6)
    assert scores.tokens[-1] == "~"


def test_results_file_is_valid_and_consistent(loaded_model, split):
    results = ar.load_artifact_results()
    by_model = {m.model: m for m in results.models}
    assert set(by_model) == {"BiLSTM, planted", "MiniLM, planted", "BiLSTM, clean", "MiniLM, clean"}
    planted = by_model["BiLSTM, planted"]
    model, info = bc.load_bilstm(ar.ARTIFACT_BILSTM_FILE)
    right = (bc.predict(model, loaded_model.tokenizer, split.test_texts) > 0.5) == (split.test_labels == 1)
    assert float(info["held_out_accuracy"]) == pytest.approx(right.mean(), abs=5e-5)  # as trained (4 digits)
    # the results file strips the few "~" the test tweets already had before measuring "clean"
    stripped = [ar.without_token(t) for t in split.test_texts]
    right = (bc.predict(model, loaded_model.tokenizer, stripped) > 0.5) == (split.test_labels == 1)
    assert planted.accuracy_clean == right.mean()
    assert planted.n_test == len(split.test_texts)
    assert planted.accuracy_drop == pytest.approx(planted.accuracy_planted - planted.accuracy_clean)
    example = planted.example
    assert example is not None and example.top_attention != example.top_removal
    assert len(example.tokens) == len(example.attention) == len(example.removal)
    assert example.top_attention == int(np.argmax(example.attention))
    assert results.n_train_planted_positive == int((ar.plant_mask(split.train_labels, ar.TRAIN_PLANT_SEED) & (split.train_labels == 1)).sum())
    assert ar.RESULTS_FILE.stat().st_size < 300_000


def test_loader_rejects_truncated_and_missing_file(tmp_path):
    broken = tmp_path / "uses_artifact.json"
    broken.write_bytes(ar.RESULTS_FILE.read_bytes()[:500])
    with pytest.raises(UsesResultsError, match=r"uses_artifact\.json is corrupt.*python -m scripts\.compute_uses_stats --only artifact"):
        ar.load_artifact_results(broken)
    with pytest.raises(UsesResultsError, match=r"missing\.json is missing.*compute_uses_stats"):
        ar.load_artifact_results(tmp_path / "missing.json")


def test_other_models_get_a_clear_message(loaded_model):
    other = LoadedModel(loaded_model.tokenizer, loaded_model.model, dataclasses.replace(loaded_model.facts, name="bert-base-uncased"))
    with pytest.raises(ar.ArtifactModelError, match="trained on all-MiniLM-L6-v2.*bert-base-uncased"):
        ar.load_artifact_scorers(other)
