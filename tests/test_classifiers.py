"""The committed classifiers load and are accurate; a tiny deterministic retrain beats chance."""
from __future__ import annotations

import pytest
import torch

from lessonkit import bilstm_classifier as bc
from lessonkit.sentiment_data import clean_text, load_sentiment_split


@pytest.fixture(scope="module")
def split():
    return load_sentiment_split()


def test_split_is_clean_balanced_disjoint_and_fixed(split):
    assert abs(split.train_labels.mean() - 0.5) < 0.01 and abs(split.test_labels.mean() - 0.5) < 0.01
    train = {t.lower() for t in split.train_texts}
    assert not train & {t.lower() for t in split.test_texts}
    assert len(train) == len(split.train_texts)  # no duplicates
    assert all(t.isascii() for t in split.train_texts[:500])
    again = load_sentiment_split()
    assert again.test_texts[:50] == split.test_texts[:50]
    assert clean_text("I &amp; you \u0561_\ufffd http://t.co/x @bob") == "I & you _ URL @user"


def test_committed_models_load_with_recorded_accuracy(loaded_model):
    from lessonkit.transformer_classifier import load_head

    head = load_head()
    assert head.weight.shape == (2, loaded_model.facts.d_model)
    assert float(head.metadata["held_out_accuracy"]) > 0.75
    for path in (bc.MAIN_FILE, bc.SEED2_FILE, bc.UNIFORM_FILE):
        model, info = bc.load_bilstm(path)
        assert float(info["held_out_accuracy"]) > 0.7
        assert path.stat().st_size < 3_000_000  # the embedding matrix is not stored
    assert bc.load_bilstm(bc.UNIFORM_FILE)[0].uniform_attention


def test_committed_bilstm_accuracy_reproduces_on_held_out_sample(loaded_model, split):
    model, info = bc.load_bilstm()
    texts, labels = split.test_texts[:300], split.test_labels[:300]
    accuracy = float(((bc.predict(model, loaded_model.tokenizer, texts) > 0.5) == (labels == 1)).mean())
    assert accuracy > 0.7
    assert abs(accuracy - float(info["held_out_accuracy"])) < 0.08


def test_tiny_retrain_beats_chance_and_is_deterministic(loaded_model, split):
    tiny = split.tiny(800, 300)
    model_a, info_a = bc.train_bilstm(loaded_model, tiny, seed=5, epochs=2, hidden=16)
    model_b, info_b = bc.train_bilstm(loaded_model, tiny, seed=5, epochs=2, hidden=16)
    assert float(info_a["held_out_accuracy"]) > 0.6  # chance is 0.5 on the balanced split
    assert info_a["held_out_accuracy"] == info_b["held_out_accuracy"]
    for (name, a), (_, b) in zip(model_a.state_dict().items(), model_b.state_dict().items()):
        assert torch.equal(a, b), name


def test_tiny_minilm_head_beats_chance(loaded_model, split):
    from lessonkit.transformer_classifier import train_head

    head, accuracy = train_head(loaded_model, split.tiny(200, 100), steps=300)
    assert accuracy > 0.65
    assert head.weight.shape == (2, loaded_model.facts.d_model)
