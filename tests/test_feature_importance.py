"""Tau summaries by hand; gradient and leave-one-out against direct computation."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonkit import feature_importance as fi


def test_summary_by_hand():
    summary = fi.summarise_taus([0.2, 0.4, float("nan"), 0.9], [0.5, 0.04, float("nan"), 0.01])
    assert summary.n == 3
    assert summary.mean == pytest.approx(0.5)
    assert summary.std == pytest.approx(np.std([0.2, 0.4, 0.9]))
    assert summary.fraction_significant == pytest.approx(2 / 3)


@pytest.fixture(scope="module")
def bilstm():
    from lessonkit.bilstm_classifier import load_bilstm

    return load_bilstm()[0]


def test_bilstm_leave_one_out_by_direct_forwards(bilstm):
    from lessonkit.bilstm_classifier import encode_sentence, shipped_tokenizer

    s = encode_sentence(shipped_tokenizer(), "my flight was delayed again, thanks a lot")
    loo = fi.bilstm_importances(bilstm, s.ids, s.mask)["leave_one_out"]
    ids = s.ids[0].tolist()
    with torch.no_grad():
        base = float(bilstm(s.ids, s.mask)[0][0])
        for t in [0, 3, len(ids) - 1]:
            shorter = torch.tensor([ids[:t] + ids[t + 1 :]])
            p = float(bilstm(shorter, torch.ones_like(shorter))[0][0])
            assert loo[t] == pytest.approx(abs(p - base), abs=1e-5)


def test_bilstm_gradient_by_finite_difference(bilstm):
    from lessonkit.bilstm_classifier import encode_sentence, shipped_tokenizer

    s = encode_sentence(shipped_tokenizer(), "awesome game last night")
    grad_x_input = fi.bilstm_importances(bilstm, s.ids, s.mask)["gradient"]
    # d/d(eps) of p when token t's embedding is scaled by (1 + eps), attention held at its value
    with torch.no_grad():
        emb = bilstm.embedding(s.ids).double()
        states = bilstm.encode(s.ids, s.mask)
        attention = bilstm.attention(states, s.mask)
    bilstm.double()
    try:
        for t in range(s.ids.shape[1]):
            values = []
            for eps in (1e-5, -1e-5):
                e = emb.clone()
                e[0, t] *= 1 + eps
                with torch.no_grad():
                    st = bilstm.encode(s.ids, s.mask, embedded=e)
                    values.append(float(bilstm.decode(st, attention.double())[0]))
            assert grad_x_input[t] == pytest.approx(abs(values[0] - values[1]) / 2e-5, rel=1e-3, abs=1e-7)
    finally:
        bilstm.float()


def test_transformer_leave_one_out_by_direct_forwards(loaded_model):
    """Every position checked: the shorter input is built from the ids, never re-tokenised."""
    from lessonkit.transformer_classifier import classifier_forward, load_head

    head = load_head()
    encoded = loaded_model.tokenizer("the service was terrible", return_tensors="pt")
    positions = list(range(1, encoded["input_ids"].shape[1] - 1))
    n = encoded["input_ids"].shape[1]
    loo = fi.transformer_importances(loaded_model, head, encoded, np.zeros(n), positions)["leave_one_out"]
    ids = encoded["input_ids"][0].tolist()
    assert len(loo) == len(positions) == 4
    with torch.no_grad():
        base = float(torch.softmax(classifier_forward(loaded_model, head, encoded)[0], -1)[0, 1])
        for i, t in enumerate(positions):
            shorter = torch.tensor([ids[:t] + ids[t + 1 :]])
            enc = {"input_ids": shorter, "attention_mask": torch.ones_like(shorter)}
            p = float(torch.softmax(classifier_forward(loaded_model, head, enc)[0], -1)[0, 1])
            assert loo[i] == pytest.approx(abs(p - base), abs=1e-5)


def test_transformer_gradient_by_finite_difference(loaded_model):
    """|(dp/de_t) . e_t| = |d p(e with e_t scaled by 1 + eps) / d eps| at 0, by central differences."""
    from lessonkit.transformer_classifier import classifier_forward, load_head

    head = load_head()
    encoded = loaded_model.tokenizer("awful film", return_tensors="pt")
    n = encoded["input_ids"].shape[1]
    grads = fi.transformer_importances(loaded_model, head, encoded, np.zeros(n), list(range(n)))["gradient"]
    embedded = loaded_model.model.get_input_embeddings()(encoded["input_ids"]).detach()
    for t in range(encoded["input_ids"].shape[1]):
        values = []
        for eps in (1e-3, -1e-3):
            e = embedded.clone()
            e[0, t] *= 1 + eps
            with torch.no_grad():
                logits, _ = classifier_forward(loaded_model, head, {"inputs_embeds": e,
                                                                    "attention_mask": encoded["attention_mask"]})
            values.append(float(torch.softmax(logits.double(), -1)[0, 1]))
        assert grads[t] == pytest.approx(abs(values[0] - values[1]) / 2e-3, rel=0.05, abs=1e-5)
