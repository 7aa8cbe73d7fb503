"""The core works on BERT-family models of other shapes: loading, analysis, and a head trained on the spot."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonkit.analysis import analyse_sentence
from lessonkit.intervention import ablate_heads, editing_attention
from lessonkit.model import load_model
from lessonkit.transformer_classifier import head_mismatch, load_head, train_quick_head
from tests.model_folders import OTHER_MODELS


def test_other_model_loads_with_its_own_shape_and_editable_attention(other_model_dir):
    _, layers, heads, hidden = OTHER_MODELS[other_model_dir.name]
    loaded = load_model(str(other_model_dir))
    assert (loaded.facts.n_layers, loaded.facts.n_heads, loaded.facts.d_model) == (layers, heads, hidden)
    result = analyse_sentence(loaded, "The animal didn't cross the street because it was too tired.")
    assert result.attn.shape == (layers, heads, result.n_tokens, result.n_tokens)
    np.testing.assert_allclose(result.attn.sum(-1), 1.0, atol=1e-5)
    encoded = loaded.tokenizer("it was too tired", return_tensors="pt")
    with torch.no_grad():
        plain = loaded.model(**encoded).last_hidden_state
        with editing_attention(loaded, ablate_heads([(layers - 1, h) for h in range(heads)])):
            ablated = loaded.model(**encoded).last_hidden_state
    assert not torch.allclose(plain, ablated)


def test_the_shipped_head_does_not_fit_another_model_and_a_quick_head_does(other_model_dir):
    loaded = load_model(str(other_model_dir))
    reason = head_mismatch(load_head(), loaded.facts)
    assert reason is not None and loaded.facts.name in reason
    head = train_quick_head(loaded)
    assert head_mismatch(head, loaded.facts) is None
    # its recorded held-out accuracy, recomputed one tweet at a time with a separate loop
    from lessonkit.sentiment_data import load_sentiment_split
    from lessonkit.transformer_classifier import QUICK_MAX_TOKENS, QUICK_TEST_PER_CLASS, QUICK_TRAIN_PER_CLASS

    split = load_sentiment_split().tiny(2 * QUICK_TRAIN_PER_CLASS, 2 * QUICK_TEST_PER_CLASS)
    right = borderline = 0
    with torch.no_grad():
        for text, label in zip(split.test_texts, split.test_labels):
            encoded = loaded.tokenizer(text, truncation=True, max_length=QUICK_MAX_TOKENS, return_tensors="pt")
            pooled = loaded.model(**encoded).last_hidden_state[0].mean(0)
            logits = pooled @ head.weight.T + head.bias
            right += int(int(logits.argmax()) == int(label))
            # padded batches and single sentences differ in the last float bits: a near-tie may flip
            borderline += int(abs(float(logits[1] - logits[0])) < 1e-4)
    recorded = float(head.metadata["held_out_accuracy"]) * len(split.test_texts)
    assert abs(recorded - right) <= borderline + 1e-6


def test_a_damaged_head_file_gives_a_clear_error(tmp_path):
    from lessonkit.transformer_classifier import HEAD_FILE, ClassifierMissingError

    damaged = tmp_path / HEAD_FILE.name
    damaged.write_bytes(HEAD_FILE.read_bytes()[:100])
    with pytest.raises(ClassifierMissingError, match="damaged.*train_classifiers"):
        load_head(damaged)
