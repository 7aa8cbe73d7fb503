"""Every token-importance method of lessonkit.attribution against an independent computation.

A float64 toy BERT (+ a random head) and a float64 toy BiLSTM, so finite differences are exact to
~1e-7; the expected values are computed here by hand (separate loops, networkx, the formulas).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lessonkit import attribution as at
from lessonkit.attention_flow import reference_flow
from lessonkit.model import LoadedModel
from lessonkit.transformer_classifier import SentimentHead

IDS = [1, 5, 7, 9, 4, 2]


@pytest.fixture(scope="module")
def toy():
    from transformers import BertConfig, BertModel

    from lessonkit.intervention import register_editable_attention

    config = BertConfig(vocab_size=30, hidden_size=8, num_hidden_layers=3, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=16)
    torch.manual_seed(0)
    model = BertModel._from_config(config, attn_implementation=register_editable_attention(), add_pooling_layer=False)
    model = model.double().eval()
    generator = torch.Generator().manual_seed(1)
    head = SentimentHead(torch.randn(2, 8, generator=generator, dtype=torch.float64) * 3,
                         torch.tensor([0.1, -0.2], dtype=torch.float64), {})
    loaded = LoadedModel(tokenizer=None, model=model, facts=None)
    ids = torch.tensor([IDS])
    inputs = at.TokenInputs(ids, torch.ones_like(ids), {"token_type_ids": torch.zeros_like(ids)})
    return loaded, head, at.transformer_function(loaded, head), inputs


def _probabilities_by_hand(loaded, head, ids, mask):
    """Mean pooling over mask-1 positions, the linear head and a softmax, written out here."""
    with torch.no_grad():
        hidden = loaded.model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).last_hidden_state
        m = mask[..., None].double()
        pooled = (hidden * m).sum(1) / m.sum(1)
        logits = pooled @ head.weight.T + head.bias
        return torch.softmax(logits, -1).numpy()


def _maps_by_hand(loaded, ids):
    with torch.no_grad():
        out = loaded.model(input_ids=ids, attention_mask=torch.ones_like(ids), output_attentions=True)
    return np.stack([a[0].numpy() for a in out.attentions])  # layers x heads x q x k


def test_gradient_and_input_x_gradient_match_finite_differences(toy):
    loaded, head, function, inputs = toy
    embeds = function.embed(inputs.ids).detach()
    target = 1
    eps = 1e-6
    grad = np.zeros(embeds.shape[1:])
    with torch.no_grad():
        for t in range(embeds.shape[1]):
            for d in range(embeds.shape[2]):
                up, down = embeds.clone(), embeds.clone()
                up[0, t, d] += eps
                down[0, t, d] -= eps
                p_up = function.probabilities(up, inputs.mask, inputs.extra)[0, target]
                p_down = function.probabilities(down, inputs.mask, inputs.extra)[0, target]
                grad[t, d] = float(p_up - p_down) / (2 * eps)
    np.testing.assert_allclose(at.Gradient(function).attribute(inputs, target), np.linalg.norm(grad, axis=1),
                               rtol=1e-5, atol=1e-9)
    signed = (grad * embeds[0].numpy()).sum(1)
    np.testing.assert_allclose(at.InputXGradient(function, absolute=False).attribute(inputs, target), signed,
                               rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(at.InputXGradient(function).attribute(inputs, target), np.abs(signed),
                               rtol=1e-5, atol=1e-9)


def test_target_none_is_the_predicted_class(toy):
    loaded, head, function, inputs = toy
    predicted = int(_probabilities_by_hand(loaded, head, inputs.ids, inputs.mask)[0].argmax())
    np.testing.assert_array_equal(at.Gradient(function).attribute(inputs),
                                  at.Gradient(function).attribute(inputs, predicted))
    # two classes: p_0 = 1 - p_1, so the signed scores of the other class are the negatives
    signed = at.InputXGradient(function, absolute=False)
    np.testing.assert_allclose(signed.attribute(inputs), -signed.attribute(inputs, 1 - predicted), atol=1e-12)
    assert np.abs(signed.attribute(inputs)).max() > 1e-3


@pytest.mark.parametrize("batch_size", [1, 4, 32])
def test_leave_one_out_is_a_loop_of_shorter_inputs(toy, batch_size):
    loaded, head, function, inputs = toy
    base = _probabilities_by_hand(loaded, head, inputs.ids, inputs.mask)[0, 0]
    expected = []
    for t in range(len(IDS)):
        ids = torch.tensor([IDS[:t] + IDS[t + 1 :]])
        expected.append(base - _probabilities_by_hand(loaded, head, ids, torch.ones_like(ids))[0, 0])
    expected = np.array(expected)
    method = at.LeaveOneOut(function, batch_size=batch_size, absolute=False)
    np.testing.assert_allclose(method.attribute(inputs, 0), expected, atol=1e-10)
    np.testing.assert_allclose(at.LeaveOneOut(function, batch_size).attribute(inputs, 0), np.abs(expected), atol=1e-10)
    some = at.LeaveOneOut(function, batch_size, positions=(1, 3)).attribute(inputs, 0)
    np.testing.assert_allclose(some[[1, 3]], np.abs(expected[[1, 3]]), atol=1e-10)
    assert np.isnan(some[[0, 2, 4, 5]]).all()


@pytest.mark.parametrize("batch_size", [1, 5])
def test_blank_out_is_a_loop_of_masked_inputs(toy, batch_size):
    loaded, head, function, inputs = toy
    base = _probabilities_by_hand(loaded, head, inputs.ids, inputs.mask)[0, 1]
    expected = []
    for t in range(len(IDS)):
        mask = torch.ones_like(inputs.ids)
        mask[0, t] = 0
        expected.append(abs(base - _probabilities_by_hand(loaded, head, inputs.ids, mask)[0, 1]))
    np.testing.assert_allclose(at.BlankOut(function, batch_size).attribute(inputs, 1), expected, atol=1e-10)


def test_attention_rollout_and_flow_by_hand(toy):
    loaded, head, function, inputs = toy
    maps = _maps_by_hand(loaded, inputs.ids)
    n = maps.shape[-1]
    # attention: layer 2 (counted from 1), heads averaged, rows averaged; and the [CLS] row
    np.testing.assert_allclose(at.Attention(function, layer=2).attribute(inputs), maps[1].mean(0).mean(0), atol=1e-12)
    np.testing.assert_allclose(at.Attention(function, layer=-1, query=0).attribute(inputs), maps[2].mean(0)[0],
                               atol=1e-12)
    # rollout: (A + I) / 2 (rows already sum to 1), multiplied up layer by layer
    per_layer = [0.5 * m.mean(0) + 0.5 * np.eye(n) for m in maps]
    product = np.eye(n)
    for matrix in per_layer:
        product = matrix @ product
    np.testing.assert_allclose(at.Rollout(function).attribute(inputs), product.mean(0), atol=1e-12)
    np.testing.assert_allclose(at.Rollout(function, layer=1).attribute(inputs, 0), per_layer[0].mean(0), atol=1e-12)
    maxed = [m.max(0) + np.eye(n) for m in maps]
    maxed = [m / m.sum(1, keepdims=True) for m in maxed]
    np.testing.assert_allclose(at.Rollout(function, layer=2, fusion="max", query=0).attribute(inputs),
                               (maxed[1] @ maxed[0])[0], atol=1e-12)
    # flow: networkx max-flow per pair
    expected = reference_flow(np.stack(per_layer))
    np.testing.assert_allclose(at.Flow(function).attribute(inputs), expected.mean(0), atol=1e-9)
    np.testing.assert_allclose(at.Flow(function, query=0).attribute(inputs), expected[0], atol=1e-9)
    np.testing.assert_allclose(at.Flow(function, layer=1).attribute(inputs), per_layer[0].mean(0), atol=1e-12)


def test_layer_outside_the_model_is_refused(toy):
    _, _, function, inputs = toy
    for layer in (0, 4, -4):
        with pytest.raises(ValueError, match="outside 1..3"):
            at.Attention(function, layer=layer).attribute(inputs)


@pytest.fixture(scope="module")
def toy_bilstm():
    from lessonkit.bilstm_classifier import AttentiveBiLSTM

    torch.manual_seed(3)
    model = AttentiveBiLSTM(torch.randn(30, 6), hidden=5, attention_dim=4).double().eval()
    ids = torch.tensor([[3, 8, 1, 22, 9]])
    return model, at.TokenInputs(ids, torch.ones_like(ids))


def test_bilstm_same_classes(toy_bilstm):
    model, inputs = toy_bilstm
    function = at.bilstm_function(model, detach_attention=False)
    with torch.no_grad():
        p, attention = model(inputs.ids, inputs.mask)
    # attention: the model's one attention vector
    np.testing.assert_allclose(at.Attention(function).attribute(inputs), attention[0].numpy(), atol=1e-12)
    # leave-one-out: a loop of shorter inputs through model.forward
    ids = inputs.ids[0].tolist()
    expected = []
    for t in range(len(ids)):
        shorter = torch.tensor([ids[:t] + ids[t + 1 :]])
        with torch.no_grad():
            expected.append(abs(float(p[0]) - float(model(shorter, torch.ones_like(shorter))[0][0])))
    np.testing.assert_allclose(at.LeaveOneOut(function, batch_size=2).attribute(inputs, 1), expected, atol=1e-10)
    # gradient of P(positive), attention differentiated too: finite differences
    embeds = model.embedding(inputs.ids).detach()
    eps = 1e-6
    grad = np.zeros(embeds.shape[1:])
    with torch.no_grad():
        for t in range(embeds.shape[1]):
            for d in range(embeds.shape[2]):
                up, down = embeds.clone(), embeds.clone()
                up[0, t, d] += eps
                down[0, t, d] -= eps
                states_up = model.encode(inputs.ids, inputs.mask, embedded=up)
                states_down = model.encode(inputs.ids, inputs.mask, embedded=down)
                grad[t, d] = float(model.decode(states_up, model.attention(states_up, inputs.mask))[0]
                                   - model.decode(states_down, model.attention(states_down, inputs.mask))[0]) / (2 * eps)
    np.testing.assert_allclose(at.Gradient(function).attribute(inputs, 1), np.linalg.norm(grad, axis=1), rtol=1e-5)


def test_bilstm_attention_held_fixed(toy_bilstm):
    """detach_attention: the gradient is the one of decode(states(e), a) with a fixed (J&W)."""
    model, inputs = toy_bilstm
    with torch.no_grad():
        fixed = model(inputs.ids, inputs.mask)[1]
    embeds = model.embedding(inputs.ids).detach()
    eps = 1e-6
    grad = np.zeros(embeds.shape[1:])
    with torch.no_grad():
        for t in range(embeds.shape[1]):
            for d in range(embeds.shape[2]):
                up, down = embeds.clone(), embeds.clone()
                up[0, t, d] += eps
                down[0, t, d] -= eps
                grad[t, d] = float(model.decode(model.encode(inputs.ids, inputs.mask, embedded=up), fixed)[0]
                                   - model.decode(model.encode(inputs.ids, inputs.mask, embedded=down), fixed)[0]) / (2 * eps)
    expected = np.abs((grad * embeds[0].numpy()).sum(1))
    np.testing.assert_allclose(at.InputXGradient(at.bilstm_function(model)).attribute(inputs, 1), expected, rtol=1e-5)


def test_known_attention_is_read_not_recomputed(toy):
    loaded, head, function, inputs = toy
    maps = _maps_by_hand(loaded, inputs.ids)
    known = at.with_known_attention(function, maps)
    for method in (at.Attention, at.Rollout, at.Flow):
        np.testing.assert_allclose(method(known).attribute(inputs), method(function).attribute(inputs), atol=1e-12)
    fake = np.full_like(maps, 1 / maps.shape[-1])  # uniform maps: every token equal
    np.testing.assert_allclose(at.Attention(at.with_known_attention(function, fake)).attribute(inputs),
                               np.full(len(IDS), 1 / len(IDS)))
