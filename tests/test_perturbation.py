"""Jain & Wallace's lab (lessonkit.jain_wallace), checked against scipy, by-hand formulas and the model's own forward."""
from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
import torch
from scipy.spatial.distance import jensenshannon

from lessonkit import jain_wallace as jw


def _random_simplex(rng, *shape):
    x = rng.random(shape) + 1e-3
    return x / x.sum(-1, keepdims=True)


def test_differentiable_jsd_matches_scipy_squared():
    rng = np.random.default_rng(1)
    p, q = _random_simplex(rng, 4, 6), _random_simplex(rng, 4, 6)
    expected = np.array([jensenshannon(a, b) ** 2 for a, b in zip(p, q)])
    np.testing.assert_allclose(jw.jsd_torch(torch.tensor(p), torch.tensor(q)).numpy(), expected, rtol=1e-6)
    disjoint = jw.jsd_torch(torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 0.5, 0.5]))
    assert float(disjoint) == pytest.approx(math.log(2), abs=1e-6)


def test_permutations_keep_each_rows_multiset_and_masked_keys():
    rng = np.random.default_rng(2)
    attention = np.zeros((3, 6))
    attention[:, :5] = _random_simplex(rng, 3, 5)
    mask = np.array([True] * 5 + [False])
    perms = jw.permute_attention(attention, mask, n=100, seed=0)
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
    np.testing.assert_allclose(jw.uniform_attention(attention, mask), [[1 / 3, 1 / 3, 1 / 3, 0]])
    top = jw.most_attended_key(attention, mask)
    assert top == 1
    np.testing.assert_allclose(jw.remove_key(attention, top), [[0.25, 0.0, 0.75, 0.0]])


class _LinearProbeModel:
    """A toy "decoder": p = sigmoid(w . a), output sensitive only to some keys."""

    def __init__(self, w, attention):
        self.w = torch.tensor(w, dtype=torch.float32)
        self.attention = np.asarray(attention, dtype=np.float64)[None]

    def probe(self):
        def outputs(a):
            return torch.sigmoid((a[:, 0, :] * self.w).sum(-1))

        base = float(torch.sigmoid((torch.tensor(self.attention[0], dtype=torch.float32) * self.w).sum()))
        return jw.AttentionProbe(self.attention, np.ones(self.attention.shape[1], bool), base, outputs)


def test_permutation_test_is_batched_and_matches_single_forwards():
    toy = _LinearProbeModel([3.0, -2.0, 0.5, 0.0, 1.0], [0.4, 0.3, 0.1, 0.1, 0.1])
    probe = toy.probe()
    probe.batch_size = 7  # 15 chunks, the next drawn while the model reads the current one
    result = jw.permutation_test(probe, n=100, seed=3)
    perms = jw.permute_attention(probe.attention, probe.key_mask, 100, seed=3)
    by_hand = 1 / (1 + np.exp(-(perms[:, 0, :] @ np.array([3.0, -2.0, 0.5, 0.0, 1.0]))))
    np.testing.assert_allclose(result.outputs, by_hand, atol=1e-6)
    assert result.median_change == pytest.approx(np.median(np.abs(by_hand - probe.base_output)), abs=1e-6)


def test_adversary_on_toy_model_keeps_output_and_beats_random_start():
    # Keys 3 and 4 do not influence the output: the adversary can move weight onto them freely.
    toy = _LinearProbeModel([2.0, -1.0, 1.0, 0.0, 0.0], [0.6, 0.2, 0.2, 0.0, 0.0])
    toy.attention = np.array([[0.6, 0.2, 0.2, 1e-9, 1e-9]])
    result = jw.adversarial_attention(toy.probe(), restarts=4, steps=200, lr=0.05)
    assert result.change <= jw.OUTPUT_TOLERANCE + 1e-9
    assert result.jsd > 0.1
    np.testing.assert_allclose(result.attention.sum(-1), 1.0, atol=1e-6)


@pytest.fixture(scope="module")
def bilstm():
    from lessonkit.bilstm_classifier import load_bilstm

    model, _ = load_bilstm()
    return model


def test_bilstm_probe_reproduces_the_model(bilstm, loaded_model):
    from lessonkit.bilstm_classifier import encode_sentence, shipped_tokenizer

    sentence = encode_sentence(shipped_tokenizer(), "I love this self-driving car, it is great")
    probe = jw.bilstm_probe(bilstm, sentence.ids, sentence.mask)
    with torch.no_grad():
        p, attention = bilstm(sentence.ids, sentence.mask)
    assert probe.base_output == pytest.approx(float(p[0]), abs=1e-6)
    np.testing.assert_allclose(probe.attention[0], attention[0].numpy(), atol=1e-6)
    assert probe.predict(probe.attention[None])[0] == pytest.approx(float(p[0]), abs=1e-6)


def test_bilstm_adversary_within_tolerance_and_beyond_random_restart(bilstm, loaded_model):
    from lessonkit.bilstm_classifier import encode_sentence, shipped_tokenizer

    sentence = encode_sentence(shipped_tokenizer(), "the traffic this morning was awful and I hate my commute")
    probe = jw.bilstm_probe(bilstm, sentence.ids, sentence.mask)
    result = jw.adversarial_attention(probe, **jw.BILSTM_ADVERSARY)
    # independent check of the claims: recompute output and JSD from the returned attention
    output = probe.predict(result.attention[None])[0]
    assert abs(output - probe.base_output) <= jw.OUTPUT_TOLERANCE + 1e-6
    reached = jensenshannon(result.attention[0], probe.attention[0]) ** 2
    assert reached == pytest.approx(result.jsd, abs=1e-5)
    # random restarts (random attentions, not optimised) that also satisfy the tolerance reach less, typically
    rng = np.random.default_rng(0)
    logits = 3.0 * rng.standard_normal((200, probe.attention.shape[1]))
    random_attention = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    outputs = probe.predict(random_attention[:, None, :])
    ok = np.abs(outputs - probe.base_output) <= jw.OUTPUT_TOLERANCE
    random_jsds = [jensenshannon(a, probe.attention[0]) ** 2 for a in random_attention[ok]]
    assert reached > np.median(random_jsds) if random_jsds else reached > 0
    # and more than one optimisation restart alone, started at random, with no steps taken
    unoptimised = jw.adversarial_attention(probe, restarts=2, steps=0, seed=7)
    assert reached > unoptimised.jsd


@pytest.mark.parametrize("layer, heads", [(0, [0, 3, 5]), (2, list(range(12))), (5, [1, 11])])
def test_transformer_probe_equals_the_models_own_forward_with_the_heads_replaced(loaded_model, layer, heads):
    """The probe re-runs only the edited layer's output step and the layers above; the reference runs the
    whole model with the weights replaced inside its attention (lessonkit.intervention)."""
    from lessonkit.intervention import editing_attention
    from lessonkit.transformer_classifier import class_probabilities, classifier_forward, load_head

    head = load_head()
    encoded = dict(loaded_model.tokenizer("what a lovely sunny day, I adore it", return_tensors="pt"))
    with torch.no_grad():
        logits, attentions = classifier_forward(loaded_model, head, encoded, output_attentions=True)
    expected = float(torch.softmax(logits, -1)[0, 1])
    probe, received = jw.transformer_probe(loaded_model, head, encoded, layer, heads)
    assert probe.base_output == pytest.approx(expected, abs=1e-5)
    assert probe.predict(probe.attention[None])[0] == pytest.approx(expected, abs=1e-5)
    n = encoded["input_ids"].shape[1]
    by_hand = attentions[layer][0, heads].double().numpy().reshape(len(heads) * n, n).mean(0)
    np.testing.assert_allclose(received, by_hand, atol=1e-6)
    perms = jw.permute_attention(probe.attention, probe.key_mask, 3, seed=0)
    new = torch.tensor(perms, dtype=torch.float32).reshape(3, len(heads), n, n)
    batch = {k: v.expand(3, -1) for k, v in encoded.items()}
    with torch.no_grad(), editing_attention(loaded_model, jw.replace_heads(layer, heads, new)):
        reference = class_probabilities(loaded_model, head, batch)[:, 1].numpy()
    np.testing.assert_allclose(probe.predict(perms), reference, atol=1e-5)
    assert np.abs(reference - expected).max() > 1e-4  # the shuffles really reach the output


def test_time_budget_stops_the_transformer_adversary_and_keeps_the_tolerance(loaded_model):
    from lessonkit.transformer_classifier import load_head

    sentence = jw.encode_for_transformer(loaded_model, "the food was cold and the waiter was rude to us")
    probe, _ = jw.transformer_probe(loaded_model, load_head(), sentence.encoded, 0, list(range(12)))
    reported = []
    result = jw.adversarial_attention(probe, restarts=2, steps=500, lr=0.1, time_budget=0.0, min_steps=3,
                                      progress=reported.append)
    assert result.steps_run == 3
    assert reported == pytest.approx([0.0, 1 / 3, 2 / 3, 1.0])
    output = probe.predict(result.attention[None])[0]
    assert abs(output - probe.base_output) <= jw.OUTPUT_TOLERANCE + 1e-5
    reached = float(np.mean([jensenshannon(a, b) ** 2 for a, b in zip(result.attention, probe.attention)]))
    assert reached == pytest.approx(result.jsd, abs=1e-6)
    assert sentence.removable.tolist() == [False] + [True] * (len(sentence.tokens) - 2) + [False]


def test_bilstms_use_the_shipped_minilm_embeddings_whatever_model_is_chosen(loaded_model):
    from lessonkit import bilstm_classifier as bc

    embeddings = bc.shipped_embeddings()
    torch.testing.assert_close(embeddings, loaded_model.model.get_input_embeddings().weight.detach())
    one, _ = bc.load_bilstm(bc.MAIN_FILE)
    two, _ = bc.load_bilstm(bc.SEED2_FILE)
    assert one.embedding.weight.data_ptr() == two.embedding.weight.data_ptr() == embeddings.data_ptr()


@pytest.mark.parametrize("damage", ["missing", "truncated", "garbage"])
def test_a_bad_bilstm_file_names_itself_and_the_rebuild_command(tmp_path, damage):
    from lessonkit import bilstm_classifier as bc

    path = tmp_path / bc.SEED2_FILE.name
    if damage == "truncated":
        data = bc.SEED2_FILE.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        shutil.copy(bc.SEED2_FILE, path)
        path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}" + b"\0" * 64)
    with pytest.raises(bc.BiLSTMFileMissingError) as caught:
        bc.load_bilstm(path)
    assert path.name in str(caught.value) and bc.REBUILD_COMMAND in str(caught.value)


@pytest.mark.parametrize("n_real", [6, 4])
@pytest.mark.parametrize("chunk", [None, 3])
def test_permutations_match_a_row_by_row_shuffle_with_the_same_random_numbers(n_real, chunk):
    rng = np.random.default_rng(5)
    attention = np.zeros((4, 6))
    attention[:, :n_real] = _random_simplex(rng, 4, n_real)
    mask = np.arange(6) < n_real
    if chunk is None:
        perms = jw.permute_attention(attention, mask, n=7, seed=11)
    else:  # what permutation_test feeds the model: 3 + 3 + 1 samples
        parts = list(jw.permutation_chunks(attention, mask, n=7, seed=11, chunk=chunk))
        assert [len(p) for p in parts] == [3, 3, 1]
        perms = np.concatenate(parts)
    draws = np.random.default_rng(11).random((7, 4, n_real))  # the numbers permute_attention draws
    for sample in range(7):
        for row in range(4):
            expected = np.zeros(6)
            expected[:n_real] = attention[row, :n_real][np.argsort(draws[sample, row])]
            np.testing.assert_array_equal(perms[sample, row], expected)


def test_each_restart_can_take_its_own_step_size():
    toy = _LinearProbeModel([2.0, -1.0, 1.0, 0.0, 0.0], [0.6, 0.2, 0.2, 0.0, 0.0])
    toy.attention = np.array([[0.6, 0.2, 0.2, 1e-9, 1e-9]])
    unmoved = jw.adversarial_attention(toy.probe(), restarts=4, steps=0)
    mixed = jw.adversarial_attention(toy.probe(), restarts=4, steps=50, lr=(0.0, 0.05, 0.0, 0.05))
    # a restart with step size 0 stays where it started; restart 1 (near the learned attention) climbs
    np.testing.assert_allclose(mixed.restart_jsds[[0, 2]], unmoved.restart_jsds[[0, 2]], atol=1e-12)
    assert mixed.restart_jsds[1] > unmoved.restart_jsds[1] + 0.01
    with pytest.raises(ValueError, match="3 step sizes for 4 restarts"):
        jw.adversarial_attention(toy.probe(), restarts=4, steps=1, lr=(0.1, 0.1, 0.1))
