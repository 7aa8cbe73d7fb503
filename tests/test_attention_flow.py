"""Attention flow against the reference method (networkx Edmonds-Karp per pair) and closed forms."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from lessonkit.attention_flow import attention_flow, normalise_rows, reference_flow
from lessonkit.rollout import fuse_heads, residual_matrices


@pytest.fixture(scope="module")
def minilm_attention(loaded_model):
    from lessonkit.analysis import analyse_sentence

    return analyse_sentence(loaded_model, "The film was dull.").attn  # layers x heads x q x k


def _per_layer(rng, layers, heads, n, sharpness=2.0):
    scores = rng.normal(size=(layers, heads, n, n)) * sharpness
    weights = np.exp(scores)
    attn = weights / weights.sum(-1, keepdims=True)
    return residual_matrices(fuse_heads(attn))


@pytest.mark.parametrize("edge_budget", [0, 50_000])
def test_one_layer_flow_is_the_edge_capacity(edge_budget):
    rng = np.random.default_rng(0)
    per_layer = _per_layer(rng, 1, 2, 5)
    np.testing.assert_allclose(attention_flow(per_layer, edge_budget=edge_budget), per_layer[0], atol=1e-6)


@pytest.mark.parametrize("edge_budget", [0, 50_000])
def test_two_layer_flow_is_the_sum_of_bottlenecks(edge_budget):
    # With two layers the paths j -> k -> i are disjoint, so max-flow = sum_k min(Ã1[k, j], Ã2[i, k]).
    rng = np.random.default_rng(1)
    per_layer = _per_layer(rng, 2, 3, 6)
    expected = np.minimum(per_layer[0].T[None, :, :], per_layer[1][:, None, :]).sum(-1)  # i x j
    np.testing.assert_allclose(attention_flow(per_layer, edge_budget=edge_budget), expected, atol=1e-5)


@pytest.mark.parametrize("edge_budget", [0, 300, 50_000], ids=["one-pair-per-call", "small-batches", "batched"])
@pytest.mark.parametrize("layers,n,seed", [(3, 4, 2), (4, 5, 3), (6, 6, 4)])
def test_flow_equals_reference_method(layers, n, seed, edge_budget):
    rng = np.random.default_rng(seed)
    per_layer = _per_layer(rng, layers, 4, n, sharpness=3.0)
    ours = attention_flow(per_layer, edge_budget=edge_budget)
    reference = reference_flow(per_layer)
    assert np.abs(ours - reference).max() < 1e-3
    # the integer scaling (x 1e7) costs far less than the tolerance
    assert np.abs(ours - reference).max() < 1e-5


def test_flow_on_real_minilm_attention_equals_reference(minilm_attention):
    per_layer = residual_matrices(fuse_heads(minilm_attention))
    positions = [0, per_layer.shape[-1] - 1]
    reference = reference_flow(per_layer, positions)
    for edge_budget in (0, 50_000):
        ours = attention_flow(per_layer, positions, edge_budget=edge_budget)
        assert np.abs(ours - reference).max() < 1e-3


def test_flow_is_not_the_super_source_shortcut():
    # A flow from all inputs at once is capped by the sink's total capacity (1); per-pair flows are
    # not, so on a graph with several strong paths their sum exceeds 1.
    rng = np.random.default_rng(5)
    per_layer = _per_layer(rng, 3, 2, 5, sharpness=0.5)
    row = attention_flow(per_layer, [0])[0]
    assert row.sum() > 1.5
    assert np.all(row <= 1.0 + 1e-6)
    np.testing.assert_allclose(normalise_rows(row[None])[0].sum(), 1.0)


def test_a_subset_of_positions_is_the_same_as_the_full_matrix_rows():
    rng = np.random.default_rng(6)
    per_layer = _per_layer(rng, 4, 2, 6)
    full = attention_flow(per_layer)
    for rows in itertools.combinations(range(6), 2):
        np.testing.assert_allclose(attention_flow(per_layer, rows), full[list(rows)], atol=1e-12)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="layers x n x n"):
        attention_flow(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="position"):
        attention_flow(np.ones((1, 3, 3)) / 3, [5])
