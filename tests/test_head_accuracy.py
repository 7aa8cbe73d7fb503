"""Coreference and syntax accuracy: synthetic maps with known answers, the data set's integrity,
and the real model checked against an independent loop over raw token maps."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom

from lessonkit.head_accuracy import (
    chance_best_accuracy,
    coreference_accuracy,
    find_word,
    locate_coreference,
    syntax_accuracy,
)
from lessonkit.probes import (
    RELATIONS,
    CoreferenceItem,
    SyntaxArc,
    coreference_twins,
    load_coreference_items,
    load_probes,
    load_syntax_arcs,
)
from lessonkit.word_level import merge_attention, word_groups, word_labels


def test_find_word_occurrences():
    labels = ["[CLS]", "the", "cat", "saw", "the", "dog", "[SEP]"]
    assert find_word(labels, "the") == 1
    assert find_word(labels, "the@2") == 4
    assert find_word(labels, "the", after=1) == 4
    with pytest.raises(ValueError):
        find_word(labels, "bird")


def test_coreference_accuracy_on_built_maps():
    labels = ["[CLS]", "the", "cup", "hit", "the", "jar", "because", "it", "was", "x", "[SEP]"]
    w = len(labels)
    item_a = CoreferenceItem(0, "", "it", ("cup", "jar"), "cup")
    item_b = CoreferenceItem(0, "", "it", ("cup", "jar"), "jar")
    # 1 layer x 3 heads: head 0 always looks at 'cup', head 1 at 'jar', head 2 at the right one
    def maps(right: int) -> np.ndarray:
        attn = np.full((1, 3, w, w), 1.0 / w)
        for head, col in ((0, 2), (1, 5), (2, right)):
            attn[0, head, 7] = 0.0
            attn[0, head, 7, col] = 0.7
            attn[0, head, 7, 0] = 0.3  # [CLS] gets weight too, but only candidates compete
        return attn

    result = coreference_accuracy([item_a, item_b], [(maps(2), labels), (maps(5), labels)])
    assert result.accuracy.tolist() == [[0.5, 0.5, 1.0]]
    assert result.baselines == {"first noun": 0.5, "nearest noun": 0.5}
    assert locate_coreference(labels, item_a).pronoun == 7


def test_syntax_accuracy_and_offset_baseline_on_built_maps():
    labels = ["[CLS]", "a", "dog", "ate", "the", "bone", "[SEP]"]
    w = len(labels)
    special = np.array([True, False, False, False, False, False, True])
    arcs = [SyntaxArc(0, "", "det", "a", "dog"), SyntaxArc(0, "", "det", "the", "bone")]
    attn = np.zeros((1, 2, w, w))
    attn[0, 0, :, 0] = 0.6  # head 0: most weight on [CLS] (excluded), then the next word
    for i in range(w - 1):
        attn[0, 0, i, i + 1] = 0.4
    attn[0, 0, w - 1, 0] = 1.0
    attn[0, 1, :, 3] = 1.0  # head 1: everything on 'ate'
    result = syntax_accuracy(arcs, [(attn, labels, special)] * 2)
    assert result.accuracy.tolist() == [[1.0, 0.0]]
    assert result.best_offset == 1 and result.baselines["best fixed offset"] == 1.0
    assert result.baselines["offset -1"] == 0.0
    reverse = syntax_accuracy(arcs, [(attn, labels, special)] * 2, reverse=True)
    # from 'dog' head 0 goes to 'ate' (wrong); from 'bone' to [SEP] (excluded) -> next best
    assert reverse.best_offset == -1 and reverse.baselines["best fixed offset"] == 1.0


def test_chance_best_matches_order_statistics():
    n_items, n_heads = 84, 72
    # median of the max of n_heads Binomial(n, 1/2): smallest k with F(k)^n_heads >= 1/2
    k = next(k for k in range(n_items + 1) if binom.cdf(k, n_items, 0.5) ** n_heads >= 0.5)
    assert chance_best_accuracy(n_items, n_heads) == pytest.approx(k / n_items, abs=1.5 / n_items)
    assert chance_best_accuracy(n_items, 1) == pytest.approx(0.5, abs=1.5 / n_items)


def test_data_sets_are_big_enough_and_consistent(loaded_model):
    items = load_coreference_items()
    pairs = {item.pair for item in items}
    assert len(pairs) >= 40 and len(items) == 2 * len(pairs)
    for pair in pairs:
        first, second = coreference_twins(pair)
        assert first.antecedent != second.antecedent  # the twin flips the answer
        assert first.candidates == second.candidates
    tokenizer = loaded_model.tokenizer
    for item in items:
        encoded = tokenizer(item.text)
        groups = word_groups(encoded.word_ids())
        labels = word_labels(tokenizer.convert_ids_to_tokens(encoded["input_ids"]), groups)
        positions = locate_coreference(labels, item)
        assert all(p < positions.pronoun for p in positions.candidates), item.text
    arcs = load_syntax_arcs()
    assert {a.relation for a in arcs} == set(RELATIONS)
    for arc in arcs:
        encoded = tokenizer(arc.text)
        labels = word_labels(tokenizer.convert_ids_to_tokens(encoded["input_ids"]), word_groups(encoded.word_ids()))
        assert find_word(labels, arc.dependent) != find_word(labels, arc.head)
    categories = {p.category for p in load_probes()}
    assert {"coreference", "subject-verb agreement", "adjective-noun", "prepositions", "sentence pair"} <= categories
    assert any(p.text_pair for p in load_probes())


def test_real_model_matches_an_independent_token_loop(loaded_model):
    """On items whose nouns and pronoun are single tokens, redo the count from raw token maps."""
    from lessonkit.analysis import analyse_sentence

    items = [i for i in load_coreference_items() if i.pair in (0, 1, 4, 11)]  # trophy, animal, fish, cat
    word_maps, right = [], np.zeros((6, 12))
    for item in items:
        s = analyse_sentence(loaded_model, item.text)
        groups = word_groups(s.word_ids, s.segment_ids)
        word_maps.append((merge_attention(s.attn, groups), word_labels(s.tokens, groups)))
        # independent: positions straight from the token list
        tokens = s.tokens
        cands = [tokens.index(c) for c in item.candidates]
        pron = tokens.index(item.pronoun, max(cands) + 1)
        true = tokens.index(item.antecedent)
        for l in range(6):
            for h in range(12):
                best = max(cands, key=lambda c: s.attn[l, h, pron, c])
                right[l, h] += best == true
    result = coreference_accuracy(items, word_maps)
    np.testing.assert_allclose(result.accuracy, right / len(items))
    assert result.n_items == 8


def test_twin_pair_accuracy_needs_both_sentences_right():
    from lessonkit.head_accuracy import twin_pair_accuracy

    # 2 pairs (4 sentences) x 1 layer x 3 heads
    correct = np.array(
        [
            [[True, True, True]],  # pair 0, first twin
            [[True, False, True]],  # pair 0, second twin
            [[True, False, False]],  # pair 1, first twin
            [[True, True, True]],  # pair 1, second twin
        ]
    )
    got = twin_pair_accuracy(correct, [0, 0, 1, 1])
    want = np.zeros((1, 3))
    for head in range(3):
        want[0, head] = sum(correct[2 * p, 0, head] and correct[2 * p + 1, 0, head] for p in range(2)) / 2
    np.testing.assert_allclose(got, want)
    # head 2 (1-indexed) is right on half the sentences but never on both twins of a pair
    assert got.tolist() == [[1.0, 0.0, 0.5]]


def test_coreference_summary_counts_pairs_with_both_twins_right():
    from lessonkit.head_accuracy import AccuracyResult, pair_outcomes, summarise_coreference

    rng = np.random.default_rng(3)
    items = [CoreferenceItem(p, f"s{p}{k}", "it", ("a", "b"), "ab"[k]) for p in range(5) for k in range(2)]
    correct = rng.random((10, 2, 3)) < 0.6
    result = AccuracyResult(correct.mean(axis=0), 10, {"first noun": 0.5}, correct)
    summary = summarise_coreference(result, items)
    # independent: a plain loop over pairs and heads
    both = np.zeros((2, 3))
    for p in range(5):
        for l in range(2):
            for h in range(3):
                both[l, h] += correct[2 * p, l, h] and correct[2 * p + 1, l, h]
    np.testing.assert_allclose(summary.both, both / 5)
    l, h = np.unravel_index(np.argmax(both), both.shape)  # first maximum in layer, then head order
    assert summary.best_both[:2] == (l, h) and summary.pairs_right == both.max()
    assert summary.n_pairs == 5 and summary.n_heads == 6
    assert summary.chance_both == chance_best_accuracy(5, 6, p=0.25)
    assert [right for _, right in pair_outcomes(result, items, 3, 1, 2)] == [correct[6, 1, 2], correct[7, 1, 2]]
