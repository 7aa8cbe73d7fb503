"""Hiding [CLS]/[SEP]/punctuation and renormalising, checked on maps worked out by hand."""
from __future__ import annotations

import numpy as np
import pytest

from lessonkit.visible_tokens import hidden_positions, is_punctuation, without_positions


def test_renormalised_by_hand():
    # tokens: [CLS] a b . [SEP]
    attn = np.array(
        [
            [0.5, 0.1, 0.1, 0.1, 0.2],
            [0.6, 0.1, 0.3, 0.0, 0.0],
            [0.2, 0.2, 0.2, 0.2, 0.2],
            [1.0, 0.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 1.0],
        ]
    )
    labels = ["[CLS]", "a", "b", ".", "[SEP]"]
    special = np.array([True, False, False, False, True])
    hide = hidden_positions(labels, special, punctuation=True)
    assert hide.tolist() == [True, False, False, True, True]
    maps, hidden_share = without_positions(attn, hide)
    # kept: a, b. Row a: 0.1, 0.3 -> 0.25, 0.75; row b: 0.2, 0.2 -> 0.5, 0.5
    np.testing.assert_allclose(maps, [[0.25, 0.75], [0.5, 0.5]], atol=1e-7)
    np.testing.assert_allclose(hidden_share, [0.6, 0.6], atol=1e-7)
    # punctuation kept: a, b, "."; row "." gave everything to [CLS] -> zeros
    maps, hidden_share = without_positions(attn, hidden_positions(labels, special, punctuation=False))
    np.testing.assert_allclose(maps[0], [0.25, 0.75, 0.0], atol=1e-7)
    np.testing.assert_allclose(maps[1], [1 / 3, 1 / 3, 1 / 3], atol=1e-7)
    np.testing.assert_allclose(maps[2], [0.0, 0.0, 0.0])
    assert hidden_share[2] == pytest.approx(1.0)


def test_works_on_layers_and_heads():
    rng = np.random.default_rng(0)
    attn = rng.dirichlet(np.ones(6), size=(2, 3, 6))
    hide = np.array([True, False, False, True, False, False])
    maps, share = without_positions(attn, hide)
    assert maps.shape == (2, 3, 4, 4) and share.shape == (2, 3, 4)
    for l in range(2):
        for h in range(3):
            for row, i in enumerate([1, 2, 4, 5]):
                kept = [attn[l, h, i, j] for j in (1, 2, 4, 5)]
                assert maps[l, h, row].tolist() == pytest.approx([v / sum(kept) for v in kept], abs=1e-6)
                assert share[l, h, row] == pytest.approx(attn[l, h, i, 0] + attn[l, h, i, 3], abs=1e-6)


@pytest.mark.parametrize("label, expected", [(".", True), ("...", True), ("'", True), ("«", True), ("##,", True),
                                             ("a", False), ("it's", False), ("[SEP]", False), ("", False), ("🙂", False)])
def test_punctuation(label, expected):
    assert is_punctuation(label) is expected
