"""lessonkit.statistics against the formulas written out by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest

from lessonkit import statistics as S


def _kl(a, b):
    return sum(x * math.log(x / y) for x, y in zip(a, b) if x > 0)


def test_jsd_is_the_divergence_in_nats_not_its_square_root():
    p, q = [0.7, 0.2, 0.1], [0.1, 0.3, 0.6]
    m = [(x + y) / 2 for x, y in zip(p, q)]
    by_hand = 0.5 * _kl(p, m) + 0.5 * _kl(q, m)
    assert S.jensen_shannon_divergence(np.array(p), np.array(q)) == pytest.approx(by_hand, abs=1e-12)
    assert S.jensen_shannon_divergence(np.array([1.0, 0]), np.array([0, 1.0])) == pytest.approx(math.log(2))
    assert S.jensen_shannon_divergence(np.zeros(3), np.zeros(3)) == 0.0


def test_jsd_rows_along_an_axis():
    p = np.array([[0.5, 0.5], [1.0, 0.0]])
    q = np.array([[0.5, 0.5], [0.0, 1.0]])
    assert S.jensen_shannon_divergence(p, q).tolist() == pytest.approx([0.0, math.log(2)])


def test_total_variation_and_entropy_by_hand():
    assert S.total_variation(np.array([0.5, 0.5, 0]), np.array([0, 0.5, 0.5])) == pytest.approx(0.5)
    rows = np.array([[0.25, 0.25, 0.25, 0.25], [1.0, 0, 0, 0], [0.5, 0.5, 0, 0]])
    assert S.row_entropy(rows).tolist() == pytest.approx([math.log(4), 0.0, math.log(2)])
    assert S.normalised_entropy(rows).tolist() == pytest.approx([1.0, 0.0, 0.5])


def test_ranks_and_correlations():
    assert S.ranks(np.array([0.1, 0.9, 0.5, 0.9])).tolist() == [4, 1, 3, 1]
    a, b = np.array([1.0, 2, 3, 4, 5]), np.array([5.0, 6, 7, 8, 7])
    # Spearman = Pearson of the ranks (average ranks for ties), computed with numpy
    ra, rb = np.array([1, 2, 3, 4, 5.0]), np.array([1, 2, 3.5, 5, 3.5])
    assert S.spearman(a, b) == pytest.approx(np.corrcoef(ra, rb)[0, 1])
    assert math.isnan(S.spearman(a, np.ones(5)))
    # Kendall tau without ties: (concordant - discordant) / pairs
    x, y = [1, 2, 3, 4], [1, 3, 2, 4]
    pairs = [(i, j) for i in range(4) for j in range(i + 1, 4)]
    by_hand = sum(np.sign(x[j] - x[i]) * np.sign(y[j] - y[i]) for i, j in pairs) / len(pairs)
    assert S.kendall_tau(np.array(x), np.array(y))[0] == pytest.approx(by_hand)
