"""Perturbations and divergences, checked against scipy and by-hand formulas."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import jensenshannon

from lessonkit import perturbation as pt


def _random_simplex(rng, *shape):
    x = rng.random(shape) + 1e-3
    return x / x.sum(-1, keepdims=True)


def test_jsd_matches_scipy_squared():
    rng = np.random.default_rng(0)
    for _ in range(20):
        p, q = _random_simplex(rng, 7), _random_simplex(rng, 7)
        assert pt.jsd(p, q) == pytest.approx(jensenshannon(p, q) ** 2, rel=1e-9, abs=1e-12)
    p = np.array([1.0, 0.0, 0.0])
    q = np.array([0.0, 0.5, 0.5])
    assert pt.jsd(p, q) == pytest.approx(math.log(2))  # disjoint supports: the maximum, ln 2
    assert pt.jsd(p, p) == pytest.approx(0.0)


def test_jsd_rows_and_torch_version_match_scipy():
    rng = np.random.default_rng(1)
    p, q = _random_simplex(rng, 4, 6), _random_simplex(rng, 4, 6)
    expected = np.array([jensenshannon(a, b) ** 2 for a, b in zip(p, q)])
    np.testing.assert_allclose(pt.jsd(p, q), expected, rtol=1e-9)
    np.testing.assert_allclose(pt.jsd_torch(torch.tensor(p), torch.tensor(q)).numpy(), expected, rtol=1e-6)


def test_tvd_by_hand():
    p = np.array([0.5, 0.3, 0.2])
    q = np.array([0.1, 0.6, 0.3])
    assert pt.tvd(p, q) == pytest.approx(0.5 * (0.4 + 0.3 + 0.1))
    # two classes: the TVD between [1-p, p] and [1-q, q] is |p - q|
    assert pt.output_change(0.8, 0.65) == pytest.approx(pt.tvd([0.2, 0.8], [0.35, 0.65]))


def test_permutations_keep_each_rows_multiset_and_masked_keys():
    rng = np.random.default_rng(2)
    attention = np.zeros((3, 6))
    attention[:, :5] = _random_simplex(rng, 3, 5)
    mask = np.array([True] * 5 + [False])
    perms = pt.permute_attention(attention, mask, n=100, seed=0)
    assert perms.shape == (100, 3, 6)
    for sample in perms:
        for row, original in zip(sample, attention):
            assert sorted(row) == pytest.approx(sorted(original))
    assert np.all(perms[..., 5] == 0)
    # they really move weights around
    assert (np.abs(perms - attention).max(axis=(1, 2)) > 0).mean() > 0.9


def test_uniform_and_remove_key():
    attention = np.array([[0.1, 0.6, 0.3, 0.0]])
    mask = np.array([True, True, True, False])
    np.testing.assert_allclose(pt.uniform_attention(attention, mask), [[1 / 3, 1 / 3, 1 / 3, 0]])
    top = pt.most_attended_key(attention, mask)
    assert top == 1
    np.testing.assert_allclose(pt.remove_key(attention, top), [[0.25, 0.0, 0.75, 0.0]])


class _LinearProbeModel:
    """A toy "decoder": p = sigmoid(w . a), output sensitive only to some keys."""

    def __init__(self, w, attention):
        self.w = torch.tensor(w, dtype=torch.float32)
        self.attention = np.asarray(attention, dtype=np.float64)[None]

    def probe(self):
        def outputs(a):
            return torch.sigmoid((a[:, 0, :] * self.w).sum(-1))

        base = float(torch.sigmoid((torch.tensor(self.attention[0], dtype=torch.float32) * self.w).sum()))
        return pt.AttentionProbe(self.attention, np.ones(self.attention.shape[1], bool), base, outputs)


def test_permutation_test_is_batched_and_matches_single_forwards():
    toy = _LinearProbeModel([3.0, -2.0, 0.5, 0.0, 1.0], [0.4, 0.3, 0.1, 0.1, 0.1])
    probe = toy.probe()
    result = pt.permutation_test(probe, n=100, seed=3)
    perms = pt.permute_attention(probe.attention, probe.key_mask, 100, seed=3)
    by_hand = 1 / (1 + np.exp(-(perms[:, 0, :] @ np.array([3.0, -2.0, 0.5, 0.0, 1.0]))))
    np.testing.assert_allclose(result.outputs, by_hand, atol=1e-6)
    assert result.median_change == pytest.approx(np.median(np.abs(by_hand - probe.base_output)), abs=1e-6)


def test_adversary_on_toy_model_keeps_output_and_beats_random_start():
    # Keys 3 and 4 do not influence the output: the adversary can move weight onto them freely.
    toy = _LinearProbeModel([2.0, -1.0, 1.0, 0.0, 0.0], [0.6, 0.2, 0.2, 0.0, 0.0])
    toy.attention = np.array([[0.6, 0.2, 0.2, 1e-9, 1e-9]])
    with pt.torch_threads(1):
        result = pt.adversarial_attention(toy.probe(), restarts=4, steps=200, lr=0.05)
    assert result.change <= pt.OUTPUT_TOLERANCE + 1e-9
    assert result.jsd > 0.1
    np.testing.assert_allclose(result.attention.sum(-1), 1.0, atol=1e-6)


@pytest.fixture(scope="module")
def bilstm(loaded_model):
    from lessonkit.bilstm_classifier import load_bilstm

    model, _ = load_bilstm(loaded_model)
    return model


def test_bilstm_probe_reproduces_the_model(bilstm, loaded_model):
    from lessonkit.bilstm_classifier import encode_sentence

    sentence = encode_sentence(loaded_model.tokenizer, "I love this self-driving car, it is great")
    probe = pt.bilstm_probe(bilstm, sentence.ids, sentence.mask)
    with torch.no_grad():
        p, attention = bilstm(sentence.ids, sentence.mask)
    assert probe.base_output == pytest.approx(float(p[0]), abs=1e-6)
    np.testing.assert_allclose(probe.attention[0], attention[0].numpy(), atol=1e-6)
    assert probe.predict(probe.attention[None])[0] == pytest.approx(float(p[0]), abs=1e-6)


def test_bilstm_adversary_within_tolerance_and_beyond_random_restart(bilstm, loaded_model):
    from lessonkit.bilstm_classifier import encode_sentence

    sentence = encode_sentence(loaded_model.tokenizer, "the traffic this morning was awful and I hate my commute")
    probe = pt.bilstm_probe(bilstm, sentence.ids, sentence.mask)
    with pt.torch_threads(1):
        result = pt.adversarial_attention(probe)
    # independent check of the claims: recompute output and JSD from the returned attention
    output = probe.predict(result.attention[None])[0]
    assert abs(output - probe.base_output) <= pt.OUTPUT_TOLERANCE + 1e-6
    reached = jensenshannon(result.attention[0], probe.attention[0]) ** 2
    assert reached == pytest.approx(result.jsd, abs=1e-5)
    # random restarts (random attentions, not optimised) that also satisfy the tolerance reach less, typically
    rng = np.random.default_rng(0)
    logits = 3.0 * rng.standard_normal((200, probe.attention.shape[1]))
    random_attention = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    outputs = probe.predict(random_attention[:, None, :])
    ok = np.abs(outputs - probe.base_output) <= pt.OUTPUT_TOLERANCE
    random_jsds = [jensenshannon(a, probe.attention[0]) ** 2 for a in random_attention[ok]]
    assert reached > np.median(random_jsds) if random_jsds else reached > 0
    # and more than one optimisation restart alone, started at random, with no steps taken
    unoptimised = pt.adversarial_attention(probe, restarts=2, steps=0, seed=7)
    assert reached > unoptimised.jsd


def test_transformer_probe_reproduces_classifier_and_permutes(loaded_model):
    from lessonkit.model import load_model
    from lessonkit.transformer_classifier import classifier_forward, load_head

    loaded = load_model()
    head = load_head()
    encoded = loaded.tokenizer("what a lovely sunny day", return_tensors="pt")
    with torch.no_grad():
        logits, _ = classifier_forward(loaded, head, encoded)
    expected = float(torch.softmax(logits, -1)[0, 1])
    last = loaded.facts.n_layers - 1
    probe, received = pt.transformer_probe(loaded, head, encoded, last, [0, 3, 5])
    assert probe.base_output == pytest.approx(expected, abs=1e-5)
    assert probe.predict(probe.attention[None])[0] == pytest.approx(expected, abs=1e-5)
    assert received.sum() == pytest.approx(1.0, abs=1e-6)
    result = pt.permutation_test(probe, n=20)
    assert result.changes.shape == (20,) and np.all(result.changes >= 0)
    # an independent check of one permuted output: replace the heads via the intervention module
    from lessonkit.intervention import editing_attention

    perm = pt.permute_attention(probe.attention, probe.key_mask, 1, seed=0)[0]
    n = encoded["input_ids"].shape[1]
    new = torch.tensor(perm, dtype=torch.float32).reshape(3, n, n)

    def edit(layer_index, weights):
        if layer_index != last:
            return weights
        weights = weights.clone()
        weights[:, [0, 3, 5]] = new
        return weights

    with torch.no_grad(), editing_attention(loaded, edit):
        logits, _ = classifier_forward(loaded, head, encoded)
    assert probe.predict(perm[None])[0] == pytest.approx(float(torch.softmax(logits, -1)[0, 1]), abs=1e-5)
