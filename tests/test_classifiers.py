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


def test_the_minilm_head_has_its_recorded_accuracy_on_its_test_split(loaded_model, split):
    """Re-measured with a loop of our own (tokenise, mean over real tokens, linear head), not the app's code."""
    from lessonkit.transformer_classifier import load_head

    head = load_head()
    assert head.weight.shape == (2, loaded_model.facts.d_model)
    right = 0
    with torch.no_grad():
        for start in range(0, len(split.test_texts), 64):
            texts = split.test_texts[start : start + 64]
            batch = loaded_model.tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
            hidden = loaded_model.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1)
            predicted = (pooled @ head.weight.T + head.bias).argmax(-1).numpy()
            right += int((predicted == split.test_labels[start : start + 64]).sum())
    measured = right / len(split.test_texts)
    assert len(split.test_texts) == int(head.metadata["n_test"]) == 1504
    assert measured == pytest.approx(float(head.metadata["held_out_accuracy"]), abs=1 / 1504 + 1e-9)


def test_the_bilstms_have_their_recorded_accuracy_on_the_test_split(split):
    for path in (bc.MAIN_FILE, bc.SEED2_FILE, bc.UNIFORM_FILE):
        model, info = bc.load_bilstm(path)
        assert path.stat().st_size < 3_000_000  # the embedding matrix is not stored
        ids, mask = bc.encode_texts(bc.shipped_tokenizer(), split.test_texts)
        with torch.no_grad():
            probabilities = torch.cat([model(ids[i : i + 256], mask[i : i + 256])[0] for i in range(0, len(ids), 256)])
        measured = float(((probabilities.numpy() > 0.5) == (split.test_labels == 1)).mean())
        assert measured == pytest.approx(float(info["held_out_accuracy"]), abs=5e-5), path.name  # 4 digits stored
    assert bc.load_bilstm(bc.UNIFORM_FILE)[0].uniform_attention


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
