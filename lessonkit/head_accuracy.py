"""How often each head points at the right word: coreference and hand-labelled syntax.

Everything works on word-level maps (``word_attn: layers x heads x words x words``, see
lessonkit.word_level) so a noun split into pieces counts once.

Coreference (Clark et al. 2019 style, on our Winograd twins): a head is right on a sentence when,
in the pronoun's row, the true antecedent gets more weight than the other candidate noun.
Baselines: always the first candidate, always the nearest candidate before the pronoun.
In a twin pair the two sentences have different antecedents but the same word order, so each
fixed baseline is right on exactly one of the two: 50% by design.

Syntax: for each arc (dependent, head) a head is right when the word it attends to most from the
query word - among all words except the special tokens and the query word itself - is the
labelled word. Measured both ways (dependent -> head and head -> dependent). Baseline: the best
fixed offset ("always the word k to the left/right"), like Clark et al.'s table.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lessonkit.probes import CoreferenceItem, SyntaxArc


def find_word(labels: Sequence[str], word: str, after: int = -1) -> int:
    """Index of a word in labels. 'word@n' = its n-th occurrence (1-based); plain = first after `after`."""
    name, _, occurrence = word.partition("@")
    n = int(occurrence) if occurrence else 1
    seen = 0
    for index, label in enumerate(labels):
        if index > after and label == name:
            seen += 1
            if seen == n:
                return index
    raise ValueError(f"word {word!r} not found in {list(labels)!r}")


@dataclass(frozen=True)
class CoreferencePositions:
    pronoun: int
    candidates: tuple[int, ...]
    answer: int  # index into candidates of the true antecedent


def locate_coreference(labels: Sequence[str], item: CoreferenceItem) -> CoreferencePositions:
    """Word positions: each candidate's first occurrence, then the pronoun's first occurrence after them."""
    candidates = tuple(find_word(labels, c) for c in item.candidates)
    pronoun = find_word(labels, item.pronoun, after=max(candidates))
    return CoreferencePositions(pronoun, candidates, item.candidates.index(item.antecedent))


def candidate_choice(word_attn: np.ndarray, positions: CoreferencePositions) -> np.ndarray:
    """word_attn: layers x heads x words x words -> layers x heads index into the candidates."""
    weights = word_attn[:, :, positions.pronoun, list(positions.candidates)]  # layers x heads x candidates
    return np.argmax(weights, axis=-1)


@dataclass(frozen=True)
class AccuracyResult:
    accuracy: np.ndarray  # layers x heads, fraction right
    n_items: int
    baselines: dict[str, float]  # name -> accuracy of the baseline
    correct: np.ndarray  # items x layers x heads bool
    best_offset: int | None = None  # syntax only: the offset of the best fixed-offset baseline


def coreference_accuracy(
    items: Sequence[CoreferenceItem],
    word_maps: Sequence[tuple[np.ndarray, Sequence[str]]],
) -> AccuracyResult:
    """items and, for each, (word_attn: layers x heads x words x words, word labels)."""
    if len(items) != len(word_maps) or not items:
        raise ValueError("need one word map per item, and at least one item")
    correct, first_right, nearest_right = [], 0, 0
    for item, (word_attn, labels) in zip(items, word_maps):
        positions = locate_coreference(labels, item)
        correct.append(candidate_choice(word_attn, positions) == positions.answer)
        first = int(np.argmin(positions.candidates))
        before = [i for i, p in enumerate(positions.candidates) if p < positions.pronoun]
        nearest = max(before, key=lambda i: positions.candidates[i])
        first_right += first == positions.answer
        nearest_right += nearest == positions.answer
    stacked = np.stack(correct)
    n = len(items)
    return AccuracyResult(
        accuracy=stacked.mean(axis=0),
        n_items=n,
        baselines={"first noun": first_right / n, "nearest noun": nearest_right / n},
        correct=stacked,
    )


def attended_word(word_attn: np.ndarray, query: int, excluded: np.ndarray) -> np.ndarray:
    """layers x heads index of the word the query attends to most, skipping excluded words (bool mask) and itself."""
    row = word_attn[:, :, query, :].astype(np.float64).copy()  # layers x heads x words
    mask = excluded.copy()
    mask[query] = True
    row[:, :, mask] = -np.inf
    return np.argmax(row, axis=-1)


def syntax_accuracy(
    arcs: Sequence[SyntaxArc],
    word_maps: Sequence[tuple[np.ndarray, Sequence[str], np.ndarray]],
    reverse: bool = False,
    offsets: Sequence[int] = (-4, -3, -2, -1, 1, 2, 3, 4),
) -> AccuracyResult:
    """arcs and, for each, (word_attn, labels, special: words bool). reverse: query the head word instead.

    Baselines: one per offset ("offset -1" = the word just before), plus "best fixed offset".
    """
    if len(arcs) != len(word_maps) or not arcs:
        raise ValueError("need one word map per arc, and at least one arc")
    correct = []
    offset_right = {k: 0 for k in offsets}
    for arc, (word_attn, labels, special) in zip(arcs, word_maps):
        dependent, head = find_word(labels, arc.dependent), find_word(labels, arc.head)
        query, target = (head, dependent) if reverse else (dependent, head)
        correct.append(attended_word(word_attn, query, np.asarray(special, dtype=bool)) == target)
        for k in offsets:
            offset_right[k] += query + k == target
    stacked = np.stack(correct)
    n = len(arcs)
    baselines = {f"offset {k:+d}": offset_right[k] / n for k in offsets}
    best = max(offsets, key=lambda k: offset_right[k])
    baselines["best fixed offset"] = offset_right[best] / n
    return AccuracyResult(
        accuracy=stacked.mean(axis=0), n_items=n, baselines=baselines, correct=stacked, best_offset=best
    )


def chance_best_accuracy(n_items: int, n_heads: int, n_draws: int = 2000, seed: int = 0, p: float = 0.5) -> float:
    """Median, over simulations, of the best accuracy among n_heads heads that each guess at random.

    The yardstick for "the best of 72 heads": even coin-flipping heads have a lucky best one.
    (Heads are treated as independent, which real heads are not; a rough yardstick only.)
    """
    rng = np.random.default_rng(seed)
    right = rng.binomial(n_items, p, size=(n_draws, n_heads))
    return float(np.median(right.max(axis=1)) / n_items)


def twin_pair_accuracy(correct: np.ndarray, pair_ids: Sequence[int]) -> np.ndarray:
    """correct: items x layers x heads bool -> layers x heads fraction of twin pairs with BOTH sentences right.

    A head that ignores the changed word picks the same noun in both twins and so gets at most one
    of the two right: any fixed rule (first noun, nearest noun) scores 0 here.
    """
    pair_ids = np.asarray(pair_ids)
    pairs = sorted(set(pair_ids.tolist()))
    both = [correct[pair_ids == p].all(axis=0) for p in pairs]
    return np.mean(both, axis=0)
