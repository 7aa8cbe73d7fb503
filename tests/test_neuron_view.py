"""The neuron view against the model's own attention and a torch recomputation of q and k."""
from __future__ import annotations

import math

import numpy as np
import pytest

from lessonkit.analysis import analyse_sentence
from lessonkit.neuron_view import neuron_view, strongest_keys

SENTENCE = "The animal didn't cross the street because it was too tired."


@pytest.mark.parametrize("layer, head, query", [(0, 0, 1), (3, 7, 8), (5, 11, 0)])
def test_recomputed_row_is_the_models_attention_row(loaded_model, layer, head, query):
    import torch

    result = analyse_sentence(loaded_model, SENTENCE)
    view = neuron_view(loaded_model, result.hidden_states[layer], layer, head, query)
    np.testing.assert_allclose(view.weights, result.attn[layer, head, query], atol=2e-6)
    # q and k straight from the model's own torch projections (not lessonkit's numpy path)
    block = loaded_model.model.encoder.layer[layer].attention.self
    d_k = loaded_model.facts.d_k
    x = torch.tensor(result.hidden_states[layer])
    with torch.no_grad():
        q = block.query(x)[:, head * d_k : (head + 1) * d_k].numpy()
        k = block.key(x)[:, head * d_k : (head + 1) * d_k].numpy()
    np.testing.assert_allclose(view.query, q[query], atol=1e-4)
    np.testing.assert_allclose(view.keys, k, atol=1e-4)
    # each product column is q_c * k_jc; a row of products sums to the dot product
    j = 2
    for c in range(d_k):
        assert view.products[j, c] == pytest.approx(float(q[query, c]) * float(k[j, c]), rel=1e-3, abs=1e-4)
    dot = sum(float(q[query, c]) * float(k[j, c]) for c in range(d_k))
    assert view.scores[j] == pytest.approx(dot / math.sqrt(d_k), rel=1e-4, abs=1e-4)
    assert view.d_k == d_k


def test_query_outside_the_sentence_is_refused(loaded_model):
    result = analyse_sentence(loaded_model, "Dogs bark.")
    with pytest.raises(IndexError):
        neuron_view(loaded_model, result.hidden_states[0], 0, 0, result.n_tokens)


def test_strongest_keys_in_sentence_order():
    weights = np.array([0.05, 0.4, 0.1, 0.3, 0.15])
    assert strongest_keys(weights, 3).tolist() == [1, 3, 4]
    assert strongest_keys(weights, 9).tolist() == [0, 1, 2, 3, 4]
