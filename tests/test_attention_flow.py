"""Attention flow against the reference method (networkx max-flow per pair) and closed forms."""
from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lessonkit.attention_flow import attention_flow, normalise_rows, reference_flow
from lessonkit.rollout import discard_lowest, fuse_heads, residual_matrices


@pytest.fixture(scope="module")
def minilm_attention(loaded_model):
    from lessonkit.analysis import analyse_sentence

    return analyse_sentence(loaded_model, "The film was dull.").attn  # layers x heads x q x k


def _per_layer(rng, layers, heads, n, sharpness=2.0, discard=0.0):
    scores = rng.normal(size=(layers, heads, n, n)) * sharpness
    weights = np.exp(scores)
    attn = weights / weights.sum(-1, keepdims=True)
    return residual_matrices(discard_lowest(fuse_heads(attn), discard))


def _networkx_flow(per_layer: np.ndarray) -> np.ndarray:
    """Max-flow per pair by networkx's default (preflow-push), built here from scratch: independent of
    both our solver and reference_flow's graph and algorithm (Edmonds-Karp)."""
    n_layers, n, _ = per_layer.shape
    graph = nx.DiGraph()
    graph.add_nodes_from(f"{layer}:{p}" for layer in range(n_layers + 1) for p in range(n))
    for layer, matrix in enumerate(per_layer, start=1):
        for i, j in itertools.product(range(n), repeat=2):
            graph.add_edge(f"{layer - 1}:{j}", f"{layer}:{i}", capacity=float(matrix[i, j]))
    return np.array(
        [[nx.maximum_flow_value(graph, f"0:{j}", f"{n_layers}:{i}") for j in range(n)] for i in range(n)]
    )


def _assert_matches(ours, reference, atol=1e-9):
    assert ours.shape == reference.shape
    np.testing.assert_allclose(ours, reference, rtol=0, atol=atol)
    np.testing.assert_allclose(normalise_rows(ours), normalise_rows(reference), rtol=0, atol=atol)


def test_one_layer_flow_is_the_edge_capacity():
    rng = np.random.default_rng(0)
    per_layer = _per_layer(rng, 1, 2, 5)
    np.testing.assert_allclose(attention_flow(per_layer), per_layer[0], rtol=0, atol=1e-12)


def test_two_layer_flow_is_the_sum_of_bottlenecks():
    # With two layers the paths j -> k -> i are disjoint, so max-flow = sum_k min(Ã1[k, j], Ã2[i, k]).
    rng = np.random.default_rng(1)
    per_layer = _per_layer(rng, 2, 3, 6)
    expected = np.minimum(per_layer[0].T[None, :, :], per_layer[1][:, None, :]).sum(-1)  # i x j
    np.testing.assert_allclose(attention_flow(per_layer), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("layers", [1, 2, 5])
def test_one_token_flow_is_the_weakest_link(layers):
    # One token: a single path through the layers, so the flow is its smallest capacity.
    weights = np.array([0.7, 0.3, 0.9, 0.5, 0.4])[:layers]
    per_layer = weights[:, None, None]
    np.testing.assert_allclose(attention_flow(per_layer), [[weights.min()]], rtol=0, atol=1e-12)


@pytest.mark.parametrize("layers,n,seed", [(3, 4, 2), (4, 5, 3), (6, 6, 4), (6, 9, 7)])
def test_flow_equals_reference_method(layers, n, seed):
    rng = np.random.default_rng(seed)
    per_layer = _per_layer(rng, layers, 4, n, sharpness=3.0)
    ours = attention_flow(per_layer)
    _assert_matches(ours, reference_flow(per_layer))


def test_flow_equals_a_second_independent_max_flow():
    rng = np.random.default_rng(8)
    per_layer = _per_layer(rng, 4, 3, 5, sharpness=1.0)
    _assert_matches(attention_flow(per_layer), _networkx_flow(per_layer))


@pytest.mark.parametrize("discard", [0.5, 0.9])
def test_zero_weights_equal_reference(discard):
    # discarded weights are zero-capacity edges (left out of both graphs)
    rng = np.random.default_rng(9)
    per_layer = _per_layer(rng, 4, 2, 7, discard=discard)
    assert (per_layer == 0).mean() > discard / 2
    _assert_matches(attention_flow(per_layer), reference_flow(per_layer))


def test_a_token_with_no_edges_gets_no_flow_and_a_position_with_none_sends_none():
    rng = np.random.default_rng(10)
    per_layer = _per_layer(rng, 3, 2, 5)
    per_layer[0][:, 2] = 0.0  # input token 2 feeds nothing
    per_layer[2][4, :] = 0.0  # output position 4 reads nothing
    ours = attention_flow(per_layer)
    np.testing.assert_array_equal(ours[:, 2], 0.0)
    np.testing.assert_array_equal(ours[4], 0.0)
    np.testing.assert_array_equal(normalise_rows(ours)[4], 0.0)
    _assert_matches(ours, reference_flow(per_layer))


def test_all_zero_capacities_give_zero_flow():
    np.testing.assert_array_equal(attention_flow(np.zeros((3, 4, 4))), np.zeros((4, 4)))


@pytest.mark.parametrize("scale", [1e-4, 1.0, 250.0])
def test_capacities_of_any_size_equal_reference(scale):
    # not row-normalised: the solver's tolerance is relative to the largest capacity
    rng = np.random.default_rng(11)
    per_layer = rng.uniform(size=(4, 5, 5)) ** 3 * scale
    ours = attention_flow(per_layer)
    _assert_matches(ours / scale, reference_flow(per_layer) / scale)


@settings(max_examples=40, deadline=None)
@given(
    layers=st.integers(1, 4),
    n=st.integers(1, 4),
    data=st.data(),
)
def test_any_small_graph_equals_reference(layers, n, data):
    # weights from a small set, zeros and ties included, so degenerate cuts come up often
    values = data.draw(
        st.lists(st.sampled_from([0.0, 0.0, 0.1, 0.25, 0.5, 1.0]), min_size=layers * n * n, max_size=layers * n * n)
    )
    per_layer = np.array(values).reshape(layers, n, n)
    positions = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n))
    ours = attention_flow(per_layer, positions)
    reference = reference_flow(per_layer, positions)
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-9)


def test_flow_on_real_minilm_attention_equals_reference(minilm_attention):
    per_layer = residual_matrices(fuse_heads(minilm_attention))
    positions = [0, per_layer.shape[-1] - 1]
    _assert_matches(attention_flow(per_layer, positions), reference_flow(per_layer, positions))


def test_flow_is_not_the_super_source_shortcut():
    # A flow from all inputs at once is capped by the sink's total capacity (1); per-pair flows are
    # not, so on a graph with several strong paths their sum exceeds 1.
    rng = np.random.default_rng(5)
    per_layer = _per_layer(rng, 3, 2, 5, sharpness=0.5)
    row = attention_flow(per_layer, [0])[0]
    assert row.sum() > 1.5
    assert np.all(row <= 1.0 + 1e-9)
    np.testing.assert_allclose(normalise_rows(row[None])[0].sum(), 1.0)


def test_a_subset_of_positions_is_the_same_as_the_full_matrix_rows():
    rng = np.random.default_rng(6)
    per_layer = _per_layer(rng, 4, 2, 6)
    full = attention_flow(per_layer)
    for rows in itertools.combinations(range(6), 2):
        np.testing.assert_allclose(attention_flow(per_layer, rows), full[list(rows)], rtol=0, atol=1e-12)
    assert attention_flow(per_layer, []).shape == (0, 6)


def test_a_strided_view_gives_the_same_flow():
    rng = np.random.default_rng(12)
    per_layer = _per_layer(rng, 3, 2, 5)
    view = np.ascontiguousarray(per_layer.transpose(0, 2, 1)).transpose(0, 2, 1)  # same values, not C-ordered
    assert not view.flags.c_contiguous
    np.testing.assert_array_equal(attention_flow(view), attention_flow(per_layer))


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="layers x n x n"):
        attention_flow(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="layers x n x n"):
        attention_flow(np.ones((0, 3, 3)))
    with pytest.raises(ValueError, match="position"):
        attention_flow(np.ones((1, 3, 3)) / 3, [5])
    with pytest.raises(ValueError, match="non-negative"):
        attention_flow(-np.ones((1, 3, 3)))
    with pytest.raises(ValueError, match="finite"):
        attention_flow(np.full((1, 3, 3), np.nan))
