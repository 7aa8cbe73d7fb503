"""Merging WordPieces into words keeps rows on the simplex and matches a plain loop."""
from __future__ import annotations

import numpy as np
import pytest

from lessonkit.word_level import merge_attention, token_to_word, word_groups, word_labels

TOKENS = ["[CLS]", "play", "##ing", "foot", "##ball", "##er", "is", "fun", "[SEP]", "yes", "##s", "[SEP]"]
WORD_IDS = [None, 0, 0, 1, 1, 1, 2, 3, None, 0, 0, None]
SEGMENTS = [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1]


def test_groups_and_labels():
    groups = word_groups(WORD_IDS, SEGMENTS)
    assert groups == [[0], [1, 2], [3, 4, 5], [6], [7], [8], [9, 10], [11]]
    assert word_labels(TOKENS, groups) == ["[CLS]", "playing", "footballer", "is", "fun", "[SEP]", "yess", "[SEP]"]
    assert token_to_word(groups, len(TOKENS)).tolist() == [0, 1, 1, 2, 2, 2, 3, 4, 5, 6, 6, 7]


def test_second_sentence_word_zero_does_not_merge_with_first():
    # word id 0 again after [SEP] belongs to the second segment: a separate word
    groups = word_groups([None, 0, None, 0, None], [0, 0, 0, 1, 1])
    assert groups == [[0], [1], [2], [3], [4]]


def test_rows_stay_on_the_simplex_and_match_a_loop():
    rng = np.random.default_rng(0)
    n = len(TOKENS)
    attn = rng.dirichlet(np.ones(n) * 0.3, size=(2, 3, n))  # 2 layers x 3 heads x q x k
    groups = word_groups(WORD_IDS, SEGMENTS)
    merged = merge_attention(attn, groups)
    w = len(groups)
    assert merged.shape == (2, 3, w, w)
    assert np.all(merged >= 0)
    np.testing.assert_allclose(merged.sum(axis=-1), 1.0, atol=1e-12)
    for l in range(2):
        for h in range(3):
            for qi, qg in enumerate(groups):
                for ki, kg in enumerate(groups):
                    want = sum(sum(attn[l, h, q, k] for k in kg) for q in qg) / len(qg)
                    assert merged[l, h, qi, ki] == pytest.approx(want)


def test_no_pieces_means_no_change():
    rng = np.random.default_rng(1)
    attn = rng.dirichlet(np.ones(4), size=4)
    groups = word_groups([None, 0, 1, None])
    np.testing.assert_allclose(merge_attention(attn, groups), attn)


def test_bad_groups_are_refused():
    with pytest.raises(ValueError):
        merge_attention(np.eye(3), [[0], [1]])


def test_real_sentence_rows_sum_to_one(loaded_model):
    from lessonkit.analysis import analyse_sentence

    s = analyse_sentence(loaded_model, "Unbelievably, the footballers' celebrations continued.")
    groups = word_groups(s.word_ids, s.segment_ids)
    assert len(groups) < s.n_tokens  # some words were split into pieces
    merged = merge_attention(s.attn, groups)
    np.testing.assert_allclose(merged.sum(axis=-1), 1.0, atol=1e-5)
    labels = word_labels(s.tokens, groups)
    assert "unbelievably" in labels and "celebrations" in labels


def test_groups_out_of_order_give_the_same_sums_as_a_loop():
    """Non-contiguous groups (not produced by tokenizers, but allowed) take the matrix path."""
    rng = np.random.default_rng(2)
    attn = rng.dirichlet(np.ones(5), size=5)
    groups = [[0], [1, 3], [2], [4]]
    merged = merge_attention(attn, groups)
    for qi, qg in enumerate(groups):
        for ki, kg in enumerate(groups):
            assert merged[qi, ki] == pytest.approx(sum(attn[q, k] for q in qg for k in kg) / len(qg))
    np.testing.assert_allclose(merged.sum(axis=-1), 1.0)
