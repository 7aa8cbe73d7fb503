"""The pronoun-link search against a plain loop over heads."""
from __future__ import annotations

import numpy as np

from lessonkit.pronoun_links import strongest_link, word_position


def test_strongest_link_by_loop():
    labels = ["The", "animal", "crossed", "the", "street", "because", "it", "was", "tired"]
    rng = np.random.default_rng(3)
    attn = rng.dirichlet(np.ones(9), size=(3, 4, 9))
    link = strongest_link(attn, labels, "it", ["animal", "street"])
    best = max(((l, h) for l in range(3) for h in range(4)), key=lambda lh: attn[lh[0], lh[1], 6, 1])
    assert (link.layer, link.head) == best
    assert link.pronoun_position == 6
    assert link.weights == {"animal": float(attn[best[0], best[1], 6, 1]), "street": float(attn[best[0], best[1], 6, 4])}
    assert strongest_link(attn, labels, "she", ["animal", "street"]) is None


def test_word_position_ignores_case_and_roberta_space_mark():
    assert word_position(["<s>", "ĠThe", "Ġanimal", "Ġit"], "animal") == 2
    assert word_position(["[CLS]", "The", "it"], "the") == 1
    assert word_position(["a"], "b") is None
