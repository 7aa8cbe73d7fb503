"""The neuron view (BertViz's third view): how one query's attention row is built, number by number.

For one head and one query position i: the query vector q_i, every key vector k_j, their
element-wise products q_i * k_j (summing a row of these gives the dot product), the scaled
score q_i . k_j / sqrt(d_k), and the softmax of those scores, which is row i of the head's
attention map. Everything is recomputed in float64 numpy from the layer's input and the
model's weights (lessonkit.formula.recompute_head), not read from the model's attention.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from jaxtyping import Float
from scipy.special import softmax

from lessonkit.formula import recompute_head
from lessonkit.model import LoadedModel


@dataclass(frozen=True)
class NeuronView:
    query_position: int
    query: Float[np.ndarray, " d_k"]  # q_i
    keys: Float[np.ndarray, "key d_k"]  # k_j for every key position
    products: Float[np.ndarray, "key d_k"]  # q_i * k_j, element by element
    scores: Float[np.ndarray, " key"]  # q_i . k_j / sqrt(d_k)
    weights: Float[np.ndarray, " key"]  # softmax of scores: row i of the attention map

    @property
    def d_k(self) -> int:
        return int(self.query.shape[0])

    @property
    def strongest(self) -> int:
        """The key position with the largest weight."""
        return int(np.argmax(self.weights))


def neuron_view(
    loaded: LoadedModel, layer_input: Float[np.ndarray, "seq d_model"], layer: int, head: int, query_position: int
) -> NeuronView:
    """The neuron view of head ``head`` of layer ``layer`` (0-based) for one query position."""
    head_result = recompute_head(loaded, layer_input, layer, head)
    n = head_result.queries.shape[0]
    if not 0 <= query_position < n:
        raise IndexError(f"query position {query_position} is outside 0..{n - 1}")
    query = head_result.queries[query_position]
    keys = head_result.keys
    products = query[None, :] * keys
    scores = products.sum(axis=1) / np.sqrt(query.shape[0])
    return NeuronView(query_position, query, keys, products, scores, softmax(scores))


def strongest_keys(weights: Float[np.ndarray, " key"], limit: int) -> np.ndarray:
    """Positions of the ``limit`` largest weights, in sentence order (all positions when there are fewer)."""
    if weights.shape[0] <= limit:
        return np.arange(weights.shape[0])
    return np.sort(np.argsort(-weights, kind="stable")[:limit])
