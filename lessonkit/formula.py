"""The attention formula, a_ij = softmax_j(q_i . k_j / sqrt(d_k)), worked step by step.

Used three ways: on toy vectors a learner can edit, in a simulation of why the 1/sqrt(d_k)
factor matters, and to recompute one real head of the model by hand from its weights.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import softmax

from lessonkit.model import LoadedModel, head_query_key_weights
from lessonkit.statistics import row_entropy


@dataclass(frozen=True)
class AttentionSteps:
    scores: np.ndarray  # q x k: q_i . k_j
    scaled: np.ndarray  # q x k: scores / sqrt(d_k)
    weights: np.ndarray  # q x k: softmax over each row
    output: np.ndarray  # q x d_v: weights @ values
    d_k: int


def attention_steps(queries: np.ndarray, keys: np.ndarray, values: np.ndarray, scale: bool = True) -> AttentionSteps:
    """Every intermediate of scaled dot-product attention for queries/keys: n x d_k, values: n x d_v."""
    queries, keys, values = (np.asarray(a, dtype=np.float64) for a in (queries, keys, values))
    d_k = queries.shape[-1]
    scores = queries @ keys.T
    scaled = scores / np.sqrt(d_k) if scale else scores
    weights = softmax(scaled, axis=-1)
    return AttentionSteps(scores=scores, scaled=scaled, weights=weights, output=weights @ values, d_k=d_k)


def random_toy_vectors(n_tokens: int, d_k: int, d_v: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Queries and keys n x d_k and values n x d_v, entries drawn from N(0, 1) with a fixed seed."""
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal((n_tokens, d_k)),
        rng.standard_normal((n_tokens, d_k)),
        rng.standard_normal((n_tokens, d_v)),
    )


def softmax_peakedness(d_ks: list[int], n_keys: int = 10, n_draws: int = 500, seed: int = 0) -> pd.DataFrame:
    """How one-hot the softmax gets as d_k grows, with and without dividing by sqrt(d_k).

    For each d_k, draws ``n_draws`` query vectors and ``n_keys`` key vectors with N(0, 1) entries,
    so each dot product has variance d_k. Returns one row per (d_k, scaled) with the mean
    largest weight, mean entropy (nats) and the entropy of a uniform row for reference.
    """
    rng = np.random.default_rng(seed)
    # one draw at the largest d_k; each smaller d_k uses its first d_k entries (still N(0, 1) each)
    largest = max(d_ks)
    all_queries = rng.standard_normal((n_draws, 1, largest))
    all_keys = rng.standard_normal((n_draws, n_keys, largest))
    rows = []
    for d_k in d_ks:
        dots = np.einsum("dqc,dkc->dk", all_queries[..., :d_k], all_keys[..., :d_k])  # n_draws x n_keys
        for scaled in (True, False):
            weights = softmax(dots / np.sqrt(d_k) if scaled else dots, axis=-1)
            rows.append(
                {
                    "d_k": d_k,
                    "scaling": "divided by sqrt(d_k)" if scaled else "not scaled",
                    "mean largest weight": float(weights.max(-1).mean()),
                    "mean entropy (nats)": float(row_entropy(weights).mean()),
                    "uniform entropy (nats)": float(np.log(n_keys)),
                }
            )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class HeadRecomputation:
    queries: np.ndarray  # seq x d_k: Q = X W_q + b_q
    keys: np.ndarray  # seq x d_k: K = X W_k + b_k
    scaled_scores: np.ndarray  # seq x seq: Q K^T / sqrt(d_k)
    weights: np.ndarray  # seq x seq: softmax of each row


def recompute_head(loaded: LoadedModel, layer_input: np.ndarray, layer: int, head: int) -> HeadRecomputation:
    """One head's attention from its layer's input hidden states (seq x d_model) and the model's weights.

    Computed in float64 numpy, independently of the model's own attention code.
    """
    w_q, b_q, w_k, b_k = head_query_key_weights(loaded, layer, head)
    x = np.asarray(layer_input, dtype=np.float64)
    queries = x @ w_q + b_q
    keys = x @ w_k + b_k
    scaled = queries @ keys.T / np.sqrt(w_q.shape[1])
    return HeadRecomputation(queries=queries, keys=keys, scaled_scores=scaled, weights=softmax(scaled, axis=-1))


def recomputation_errors(loaded: LoadedModel, hidden_states: np.ndarray, attn: np.ndarray) -> np.ndarray:
    """layers x heads: largest |by-hand weight - model weight| for every head.

    hidden_states: (layers + 1) x seq x d_model (layer l reads hidden_states[l]); attn: layers x heads x q x k.
    """
    n_layers, n_heads = attn.shape[:2]
    return np.array(
        [
            [np.abs(recompute_head(loaded, hidden_states[layer], layer, head).weights - attn[layer, head]).max()
             for head in range(n_heads)]
            for layer in range(n_layers)
        ]
    )


def row_summary(weights: np.ndarray, labels: list[str]) -> pd.DataFrame:
    """Per query row: largest and smallest weight and the row sum (the simplex, checked)."""
    return pd.DataFrame(
        {"largest weight": weights.max(axis=1), "smallest weight": weights.min(axis=1), "row sum": weights.sum(axis=1)},
        index=pd.Index(labels, name="query"),
    )


def largest_weight_at(peakedness: pd.DataFrame, d_k: int) -> tuple[float, float]:
    """(mean largest weight without scaling, with scaling) at one d_k of softmax_peakedness's table."""
    at = peakedness[peakedness["d_k"] == d_k]
    unscaled = float(at.loc[at["scaling"] == "not scaled", "mean largest weight"].item())
    scaled = float(at.loc[at["scaling"] != "not scaled", "mean largest weight"].item())
    return unscaled, scaled


def max_abs_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Largest |a - b| over all entries."""
    return float(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)).max())


def row_sum_error(attn: np.ndarray) -> float:
    """Largest |row sum - 1| over every row of every map."""
    return float(np.abs(np.asarray(attn, dtype=np.float64).sum(-1) - 1.0).max())
