"""Attention rollout against hand computations on 2-token, 2-layer toys, and rows on the simplex."""
from __future__ import annotations

import numpy as np
import pytest
from jaxtyping import TypeCheckError

from lessonkit.rollout import (
    FUSIONS,
    attention_rollout,
    discard_lowest,
    gradient_weighted_rollout,
    residual_matrices,
    token_row,
)

# layers x heads x q x k: two layers, two heads, two tokens; every row sums to 1.
TOY = np.array(
    [
        [[[1.0, 0.0], [0.5, 0.5]], [[0.5, 0.5], [0.0, 1.0]]],
        [[[0.9, 0.1], [0.3, 0.7]], [[0.6, 0.4], [0.2, 0.8]]],
    ]
)


def test_mean_rollout_matches_hand_computation():
    # Layer 1: mean of heads [[.75,.25],[.25,.75]]; (A+I)/2 = [[.875,.125],[.125,.875]].
    # Layer 2: mean of heads [[.75,.25],[.25,.75]] too, so the same matrix.
    # R2 = M @ M = [[.875^2 + .125^2, 2 * .875 * .125], ...] = [[.78125, .21875], [.21875, .78125]].
    rollout = attention_rollout(TOY, fusion="mean")
    np.testing.assert_allclose(rollout[0], [[0.875, 0.125], [0.125, 0.875]], atol=1e-12)
    np.testing.assert_allclose(rollout[1], [[0.78125, 0.21875], [0.21875, 0.78125]], atol=1e-12)


def test_max_rollout_renormalises_each_row():
    # Layer 1: max of heads [[1,.5],[.5,1]]; (A+I)/2 = [[1,.25],[.25,1]]; rows / 1.25 -> [[.8,.2],[.2,.8]].
    # Layer 2: max of heads [[.9,.4],[.3,.8]]; (A+I)/2 = [[.95,.2],[.15,.9]]; row sums 1.15 and 1.05
    #   -> [[19/23, 4/23], [1/7, 6/7]].  (Dividing by column sums instead would give other numbers.)
    # R2 = [[19/23*.8 + 4/23*.2, 19/23*.2 + 4/23*.8], [1/7*.8 + 6/7*.2, 1/7*.2 + 6/7*.8]]
    #    = [[16/23, 7/23], [2/7, 5/7]].
    rollout = attention_rollout(TOY, fusion="max")
    np.testing.assert_allclose(rollout[0], [[0.8, 0.2], [0.2, 0.8]], atol=1e-12)
    np.testing.assert_allclose(rollout[1], [[16 / 23, 7 / 23], [2 / 7, 5 / 7]], atol=1e-12)
    np.testing.assert_allclose(token_row(rollout, position=1), [2 / 7, 5 / 7], atol=1e-12)


def test_min_rollout_matches_hand_computation():
    # Layer 1: min of heads [[.5,0],[0,.5]]; (A+I)/2 = [[.75,0],[0,.75]] -> identity after renormalising.
    # Layer 2: min of heads [[.6,.1],[.2,.7]]; (A+I)/2 = [[.8,.05],[.1,.85]] -> [[16/17, 1/17], [2/19, 17/19]].
    rollout = attention_rollout(TOY, fusion="min")
    np.testing.assert_allclose(rollout[0], np.eye(2), atol=1e-12)
    np.testing.assert_allclose(rollout[1], [[16 / 17, 1 / 17], [2 / 19, 17 / 19]], atol=1e-12)


def test_discard_lowest_zeroes_the_smallest_off_diagonal_weights():
    fused = np.array([[[0.5, 0.1, 0.4], [0.3, 0.3, 0.4], [0.05, 0.15, 0.8]]])
    # off-diagonal values: .1 .4 .3 .4 .05 .15; the lowest half (3 of 6) are .05, .1, .15.
    kept = discard_lowest(fused, 0.5)
    np.testing.assert_allclose(kept[0], [[0.5, 0.0, 0.4], [0.3, 0.3, 0.4], [0.0, 0.0, 0.8]])
    # then (A + I)/2 and per-row renormalisation: row 0 = [.75, 0, .2] / .95
    per_layer = residual_matrices(kept)
    np.testing.assert_allclose(per_layer[0, 0], np.array([0.75, 0.0, 0.2]) / 0.95)
    np.testing.assert_allclose(per_layer[0, 2], [0.0, 0.0, 1.0])


def _random_attention(rng, layers, heads, n):
    scores = rng.normal(size=(layers, heads, n, n)) * 3
    weights = np.exp(scores)
    return weights / weights.sum(-1, keepdims=True)


@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("discard", [0.0, 0.3, 0.9])
def test_rollout_rows_lie_on_the_simplex(fusion, discard):
    rng = np.random.default_rng(len(fusion) * 100 + int(discard * 10))
    attn = _random_attention(rng, layers=6, heads=4, n=9)
    rollout = attention_rollout(attn, fusion=fusion, discard_fraction=discard)
    assert rollout.shape == (6, 9, 9)
    assert np.all(rollout >= 0)
    np.testing.assert_allclose(rollout.sum(-1), 1.0, atol=1e-12)


def test_gradient_weighted_rollout_rows_on_simplex_and_follow_the_gradient():
    rng = np.random.default_rng(7)
    attn = _random_attention(rng, layers=3, heads=2, n=4)
    grad = rng.normal(size=attn.shape)
    rollout = gradient_weighted_rollout(attn, grad)
    assert np.all(rollout >= 0)
    np.testing.assert_allclose(rollout.sum(-1), 1.0, atol=1e-12)
    # With zero gradient nothing but the residual is left: every layer is the identity.
    np.testing.assert_allclose(gradient_weighted_rollout(attn, np.zeros_like(attn))[-1], np.eye(4), atol=1e-12)
    # A gradient that is positive only on entry (i=1, j=3) of one layer moves weight only there.
    only = np.zeros_like(attn)
    only[0, 0, 1, 3] = 1.0
    single = gradient_weighted_rollout(attn, only)
    expected = np.eye(4)
    expected[1] = [0.0, 0.5, 0.0, 0.5]  # fused scaled to peak row sum 1: (e_3 + e_1)/2 in row 1
    np.testing.assert_allclose(single[-1], expected, atol=1e-12)


def test_bad_inputs_are_refused_with_messages():
    with pytest.raises((ValueError, TypeCheckError), match="layers x heads|Type-check error"):  # hints first
        attention_rollout(np.ones((2, 2, 2)))
    with pytest.raises((ValueError, TypeCheckError), match="fusion|Type-check error"):  # a Literal hint
        attention_rollout(TOY, fusion="median")
    with pytest.raises(ValueError, match="discard"):
        attention_rollout(TOY, discard_fraction=1.0)


def test_gradient_weighted_rollout_follows_the_class_logit_on_minilm(loaded_model):
    """Issue 10: heads are fused by (A * dy_c/dA)+ of the class logit (vit-explain), not by -dCE/dA.

    The expected matrices come from a separate autograd of the logit, pooled and projected here by hand.
    """
    import torch

    from lessonkit.gradient_attention import attention_gradients
    from lessonkit.transformer_classifier import SentimentHead

    generator = torch.Generator().manual_seed(5)
    head = SentimentHead(torch.randn(2, loaded_model.facts.d_model, generator=generator), torch.zeros(2), {})
    encoded = loaded_model.tokenizer("The service was slow but the food was wonderful", return_tensors="pt")
    with torch.enable_grad():
        out = loaded_model.model(**encoded, output_attentions=True)
        pooled = out.last_hidden_state[0].mean(0)  # every token is real: the mean over positions
        logits = head.weight @ pooled + head.bias
        target = int(logits.argmax())
        grads = torch.autograd.grad(logits[target], list(out.attentions))
    attn = np.stack([a[0].detach().double().numpy() for a in out.attentions])
    class_grad = np.stack([g[0].double().numpy() for g in grads])
    n = attn.shape[-1]
    product = np.eye(n)
    for a, g in zip(attn, class_grad):
        fused = np.clip(a * g, 0, None).mean(0)
        fused = fused / fused.sum(1).max()
        step = (fused + np.eye(n)) / 2
        product = (step / step.sum(1, keepdims=True)) @ product
    result = attention_gradients(loaded_model, head, dict(encoded))
    assert result.target == target
    ours = gradient_weighted_rollout(result.attn, result.class_grad)[-1]
    np.testing.assert_allclose(ours, product, atol=2e-5)
    # the loss gradient points the other way wherever it is not zero: the old fusion differed
    signs = np.sign(result.grad) * np.sign(result.class_grad)
    assert (signs[result.class_grad != 0] < 0).mean() > 0.5
    assert np.abs(gradient_weighted_rollout(result.attn, result.grad)[-1] - product).max() > 1e-3


def test_mixing_rows_by_hand():
    from lessonkit.rollout import mixing_by_layer, own_share

    raw = np.array([[[0.5, 0.5], [0.5, 0.5]], [[1.0, 0.0], [0.0, 1.0]]])
    rollout = np.array([[[0.75, 0.25], [0.25, 0.75]], [[0.5, 0.5], [0.5, 0.5]]])
    np.testing.assert_allclose(own_share(rollout), [0.75, 0.5])
    rows = mixing_by_layer(raw, rollout)
    by = {(r["layer"], r["what"]): r["value"] for r in rows}
    assert by[(1, "own token's share, raw attention")] == pytest.approx(0.5)
    assert by[(2, "own token's share, raw attention")] == pytest.approx(1.0)
    h = -(0.75 * np.log(0.75) + 0.25 * np.log(0.25)) / np.log(2)
    assert by[(1, "spread of rollout rows (entropy / log n)")] == pytest.approx(h)
    assert by[(2, "spread of rollout rows (entropy / log n)")] == pytest.approx(1.0)
