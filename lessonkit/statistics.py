"""Divergences, entropies, ranks and correlations, in one place, computed by scipy.

Every page and script that compares two attention distributions or two importance rankings
calls these, so a number means the same thing everywhere:

- ``jensen_shannon_divergence`` is the divergence in nats (0 .. ln 2), as Jain & Wallace report
  it; scipy's ``jensenshannon`` returns its square root (a distance), which we square.
- ``total_variation`` is half the L1 distance (0 .. 1).
- ``normalised_entropy`` divides by log(n keys): 1 for uniform rows, 0 for one-hot rows.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy, kendalltau, rankdata, spearmanr


def jensen_shannon_divergence(p: np.ndarray, q: np.ndarray, axis: int = -1) -> np.ndarray:
    """JSD in nats along ``axis`` (NOT its square root); rows need not be normalised exactly."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    with np.errstate(invalid="ignore"):  # identical rows can round to a tiny negative before scipy's sqrt
        distance = jensenshannon(p, q, axis=axis)
    # scipy returns nan for two all-zero rows; they do not differ
    return np.clip(np.nan_to_num(distance, nan=0.0) ** 2, 0.0, math.log(2.0))


def total_variation(p: np.ndarray, q: np.ndarray, axis: int = -1) -> np.ndarray:
    """Total variation distance: half the L1 distance between two distributions."""
    return 0.5 * np.abs(np.asarray(p, dtype=np.float64) - np.asarray(q, dtype=np.float64)).sum(axis=axis)


def row_entropy(weights: np.ndarray, axis: int = -1) -> np.ndarray:
    """Shannon entropy in nats of each distribution along ``axis`` (zeros contribute nothing)."""
    return entropy(np.asarray(weights, dtype=np.float64), axis=axis)


def normalised_entropy(weights: np.ndarray) -> np.ndarray:
    """... x q x k -> ... x q: entropy of each row divided by log(k), in [0, 1]."""
    weights = np.asarray(weights, dtype=np.float64)
    n = weights.shape[-1]
    if n < 2:
        return np.zeros(weights.shape[:-1])
    return row_entropy(weights) / math.log(n)


def ranks(scores: np.ndarray, descending: bool = True) -> np.ndarray:
    """Rank 1 = the largest score when ``descending`` (ties share the lowest rank: 'min')."""
    scores = np.asarray(scores, dtype=np.float64)
    return rankdata(-scores if descending else scores, method="min").reshape(scores.shape).astype(int)


def _constant(x: np.ndarray) -> bool:
    return bool(x.size == 0 or np.ptp(x) == 0)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two score arrays (flattened); NaN when either is constant or < 3 long."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.size < 3 or _constant(a) or _constant(b):
        return float("nan")
    return float(spearmanr(a, b).statistic)


def kendall_tau(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(tau-b, two-sided p-value); (nan, nan) for fewer than 2 values or a constant vector."""
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.size < 2 or _constant(x) or _constant(y):
        return float("nan"), float("nan")
    result = kendalltau(x, y)
    return float(result.statistic), float(result.pvalue)
