"""Gradient x attention against finite differences, head ablation, and thread safety."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from jaxtyping import TypeCheckError

from lessonkit.gradient_attention import (
    ablation_loss_changes,
    along_for_the_ride,
    attention_concentration,
    attention_gradients,
    encode_text,
    gradient_weighted_attention,
    head_scores,
    head_table,
    signed_gradient_attention,
    unsigned_gradient_attention,
)
from lessonkit.intervention import ablate_heads, editing_attention, register_editable_attention
from lessonkit.model import LoadedModel
from lessonkit.transformer_classifier import SentimentHead, classifier_forward


@pytest.fixture(scope="module")
def toy():
    """A 2-layer, 2-head BERT in float64 with the intervenable attention and a random head."""
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=30, hidden_size=8, num_hidden_layers=2, num_attention_heads=2, intermediate_size=16,
        max_position_embeddings=16,
    )
    torch.manual_seed(0)
    model = BertModel._from_config(config, attn_implementation=register_editable_attention(), add_pooling_layer=False)
    model = model.double().eval()
    generator = torch.Generator().manual_seed(1)
    head = SentimentHead(
        weight=torch.randn(2, 8, generator=generator, dtype=torch.float64) * 3,
        bias=torch.zeros(2, dtype=torch.float64),
        metadata={},
    )
    encoded = {
        "input_ids": torch.tensor([[1, 5, 7, 9, 2]]),
        "attention_mask": torch.ones(1, 5, dtype=torch.long),
        "token_type_ids": torch.zeros(1, 5, dtype=torch.long),
    }
    return LoadedModel(tokenizer=None, model=model, facts=None), head, encoded


def _loss(loaded, head, encoded, target, edit=None):
    with torch.no_grad(), editing_attention(loaded, edit):
        logits, _ = classifier_forward(loaded, head, encoded)
        return float(torch.nn.functional.cross_entropy(logits, torch.tensor([target])))


def _nudge(layer, head_index, i, j, eps):
    def edit(layer_index, weights):
        if layer_index != layer:
            return weights
        weights = weights.clone()
        weights[0, head_index, i, j] += eps
        return weights

    return edit


def test_attention_gradient_matches_finite_differences(toy):
    loaded, head, encoded = toy
    result = attention_gradients(loaded, head, encoded)
    eps = 1e-6
    numeric = np.zeros_like(result.grad)
    for index in np.ndindex(*result.grad.shape):
        plus = _loss(loaded, head, encoded, result.target, _nudge(*index, eps))
        minus = _loss(loaded, head, encoded, result.target, _nudge(*index, -eps))
        numeric[index] = (plus - minus) / (2 * eps)
    assert np.abs(numeric).max() > 1e-3  # the check is not vacuous
    np.testing.assert_allclose(result.grad, numeric, rtol=1e-5, atol=1e-8)
    # the loss reported is the loss of the predicted class
    assert result.target == int(np.argmax(result.probabilities))
    assert result.loss == pytest.approx(-np.log(result.probabilities[result.target]), rel=1e-9)


def test_input_gradient_matches_finite_differences(toy):
    loaded, head, encoded = toy
    result = attention_gradients(loaded, head, encoded, target=0)
    embeds = torch.tensor(result.input_embeddings)[None]
    rest = {k: v for k, v in encoded.items() if k != "input_ids"}
    eps = 1e-6
    for position, dim in [(0, 0), (2, 3), (4, 7)]:
        values = []
        for sign in (1, -1):
            moved = embeds.clone()
            moved[0, position, dim] += sign * eps
            with torch.no_grad():
                logits, _ = classifier_forward(loaded, head, dict(rest, inputs_embeds=moved))
            values.append(float(torch.nn.functional.cross_entropy(logits, torch.tensor([0]))))
        assert result.input_grad[position, dim] == pytest.approx((values[0] - values[1]) / (2 * eps), rel=1e-5)


def _logit(loaded, head, encoded, target, edit=None):
    with torch.no_grad(), editing_attention(loaded, edit):
        logits, _ = classifier_forward(loaded, head, encoded)
        return float(logits[0, target])


@pytest.mark.parametrize("target", [0, 1])
def test_signed_view_uses_the_class_logit_gradient(toy, target):
    """(A * dy_c/dA)+ with dy_c/dA by finite differences of the class logit (issue 10: the sign was reversed)."""
    loaded, head, encoded = toy
    result = attention_gradients(loaded, head, encoded, target=target)
    eps = 1e-6
    numeric = np.zeros_like(result.attn)
    for index in np.ndindex(*numeric.shape):
        plus = _logit(loaded, head, encoded, target, _nudge(*index, eps))
        minus = _logit(loaded, head, encoded, target, _nudge(*index, -eps))
        numeric[index] = (plus - minus) / (2 * eps)
    np.testing.assert_allclose(result.class_grad, numeric, rtol=1e-5, atol=1e-8)
    expected = np.clip(result.attn * numeric, 0, None)
    assert expected.max() > 1e-4 and (result.attn * numeric < -1e-6).any()  # both signs occur: not vacuous
    np.testing.assert_allclose(gradient_weighted_attention(result, signed=True), expected, rtol=1e-5, atol=1e-9)
    # the unsigned view stays A * |dL/dA| of the cross-entropy
    np.testing.assert_allclose(gradient_weighted_attention(result), result.attn * np.abs(result.grad))


def test_gradient_weighted_variants_by_hand():
    attn = np.array([0.5, 0.25, 0.25]).reshape(1, 1, 1, 3)
    grad = np.array([-2.0, 4.0, 0.0]).reshape(1, 1, 1, 3)
    np.testing.assert_allclose(unsigned_gradient_attention(attn, grad).ravel(), [1.0, 1.0, 0.0])
    np.testing.assert_allclose(signed_gradient_attention(attn, grad).ravel(), [0.0, 1.0, 0.0])
    # the shape hints catch it first while the tests run (jaxtyping); the function's own check otherwise
    with pytest.raises((ValueError, TypeCheckError), match="shapes differ|Type-check error"):
        signed_gradient_attention(attn, grad[..., :2])


def test_head_scores_and_along_for_the_ride_by_hand():
    uniform = np.full((3, 3), 1 / 3)
    one_hot = np.eye(3)
    attn = np.stack([uniform, one_hot, one_hot])[None]  # 1 layer x 3 heads x 3 x 3
    np.testing.assert_allclose(attention_concentration(attn), [[0.0, 1.0, 1.0]], atol=1e-12)
    grad = np.zeros_like(attn)
    grad[0, 0] = 1.0  # the uniform head carries all the gradient
    grad[0, 2] = -2.0
    scores = head_scores(attn, grad)
    np.testing.assert_allclose(scores["gradient_weighted"], [[3.0, 0.0, 6.0]])
    np.testing.assert_allclose(scores["taylor"], [[3.0, 0.0, 6.0]])
    # head 1: crisp pattern, no gradient -> along for the ride; head 2 is crisp but matters
    np.testing.assert_array_equal(
        along_for_the_ride(scores["concentration"], scores["gradient_weighted"]), [[False, True, False]]
    )


def test_head_table_ranks_by_hand():
    ablation = np.array([[0.1, -0.5], [0.02, 0.3]])
    scores = {
        "gradient_weighted": np.array([[4.0, 3.0], [2.0, 1.0]]),
        "concentration": np.array([[0.1, 0.2], [0.3, 0.4]]),
        "taylor": np.array([[0.1, 0.5], [0.0, 0.2]]),
    }
    table = head_table(ablation, scores, np.array([[False, True], [False, False]]))
    assert list(table["head"]) == ["L1 H2", "L2 H2", "L1 H1", "L2 H1"]  # by |loss change|
    assert list(table["rank by removal"]) == [1, 2, 3, 4]
    assert list(table["rank by gradient × attention"]) == [2, 4, 1, 3]
    assert list(table["rank by pattern strength"]) == [3, 1, 4, 2]
    assert list(table["role"]) == ["along for the ride", "other", "other", "other"]
    assert not any("_" in column for column in table.columns)  # learners see no snake_case


def test_no_ablation_changes_nothing_and_ablation_changes_only_later_layers(toy):
    loaded, head, encoded = toy
    model = loaded.model
    with torch.no_grad():
        plain = model(**encoded, output_hidden_states=True).hidden_states
        with editing_attention(loaded, ablate_heads([])):
            empty = model(**encoded, output_hidden_states=True).hidden_states
        with editing_attention(loaded, ablate_heads([(1, 0)])):
            ablated = model(**encoded, output_hidden_states=True).hidden_states
    for a, b in zip(plain, empty):
        assert torch.equal(a, b)
    # hidden_states[0] = embeddings, [1] = output of layer 0: untouched by a layer-1 ablation
    assert torch.equal(plain[0], ablated[0]) and torch.equal(plain[1], ablated[1])
    assert (plain[2] - ablated[2]).abs().max() > 1e-6


def test_batched_ablation_equals_one_head_at_a_time(toy):
    loaded, head, encoded = toy
    target = 1
    base = _loss(loaded, head, encoded, target)
    changes = ablation_loss_changes(loaded, head, encoded, target, batch_size=3)
    assert changes.shape == (2, 2)
    for layer in range(2):
        for h in range(2):
            alone = _loss(loaded, head, encoded, target, ablate_heads([(layer, h)])) - base
            assert changes[layer, h] == pytest.approx(alone, rel=1e-9, abs=1e-12)
            assert abs(alone) > 0  # every head's removal moves the loss


@pytest.fixture(scope="module")
def minilm_classifier():
    from lessonkit.model import load_model

    loaded = load_model()
    generator = torch.Generator().manual_seed(3)
    d_model = loaded.facts.d_model
    head = SentimentHead(torch.randn(2, d_model, generator=generator) * 0.5, torch.zeros(2), {})
    return loaded, head


def test_minilm_ablation_matches_ablate_heads_for_sample_heads(minilm_classifier):
    loaded, head = minilm_classifier
    encoded, tokens, _ = encode_text(loaded, "What a wonderful, sunny day!")
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    changes = ablation_loss_changes(loaded, head, encoded, target=1)
    assert changes.shape == (loaded.facts.n_layers, loaded.facts.n_heads)
    base = _loss(loaded, head, encoded, 1)
    for layer, h in [(0, 0), (3, 7), (5, 11)]:
        alone = _loss(loaded, head, encoded, 1, ablate_heads([(layer, h)])) - base
        assert changes[layer, h] == pytest.approx(alone, abs=2e-5)


def test_twenty_threads_get_the_serial_gradients(minilm_classifier):
    loaded, head = minilm_classifier
    texts = [
        "I loved every minute of it.", "This is the worst service ever.", "Meh, it was fine I guess.",
        "Absolutely brilliant work, thank you!", "Why does my phone keep crashing",
    ]
    encodings = [encode_text(loaded, text)[0] for text in texts]
    serial = [attention_gradients(loaded, head, encoded) for encoded in encodings]
    results: dict[int, object] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(20)

    def work(index):
        try:
            barrier.wait()
            results[index] = attention_gradients(loaded, head, encodings[index % len(texts)])
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(results) == 20
    for index, result in results.items():
        expected = serial[index % len(texts)]
        np.testing.assert_allclose(result.grad, expected.grad, rtol=1e-4, atol=1e-7)
        np.testing.assert_allclose(result.input_grad, expected.input_grad, rtol=1e-4, atol=1e-7)
        assert result.target == expected.target
    # nothing was accumulated on the shared parameters
    assert all(parameter.grad is None for parameter in loaded.model.parameters())
