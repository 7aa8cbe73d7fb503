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

from lessonkit.head_patterns import head_label, rank_heads
from lessonkit.probes import RELATIONS, CoreferenceItem, SyntaxArc
from lessonkit.references import CLARK_2019_COREFERENCE, CLARK_2019_SYNTAX


def find_word(labels: Sequence[str], word: str, after: int = -1) -> int:
    """Index of a word in labels. 'word@n' = its n-th occurrence (1-based); plain = first after `after`."""
    name, _, occurrence = word.partition("@")
    n = int(occurrence) if occurrence else 1
    seen = 0
    for index, label in enumerate(labels):
        # RoBERTa-style tokenizers mark a leading space with 'Ġ'; cased ones keep capitals
        if index > after and label.lstrip("Ġ▁").lower() == name.lower():
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
    ids = np.asarray(pair_ids)
    pairs = sorted(set(ids.tolist()))
    both = [correct[ids == p].all(axis=0) for p in pairs]
    return np.mean(both, axis=0)


@dataclass(frozen=True)
class CoreferenceSummary:
    """The coreference numbers the page states, for one model."""

    n_items: int
    n_pairs: int
    n_heads: int
    best: list[tuple[int, int, float]]  # top heads by per-sentence accuracy
    chance: float  # best of n_heads coin-flipping heads, per sentence
    both: np.ndarray  # layers x heads: fraction of pairs with both twins right
    best_both: tuple[int, int, float]
    chance_both: float  # best of n_heads random heads on "both twins right" (p = 1/4 per pair)

    @property
    def pairs_right(self) -> int:
        return int(round(self.best_both[2] * self.n_pairs))

    @property
    def verdict(self) -> str:
        """'none' (at or below a single random head), 'luck' (within what the luckiest random head
        reaches) or 'above' (more than luck explains)."""
        score = self.best_both[2]
        return "none" if score <= 0.25 else "luck" if score <= self.chance_both else "above"


def summarise_coreference(
    result: AccuracyResult, items: Sequence[CoreferenceItem], top: int = 5
) -> CoreferenceSummary:
    """The page's coreference numbers from per-item answers (items in the order of result.correct)."""
    pair_ids = [item.pair for item in items]
    n_heads = int(result.accuracy.size)
    n_pairs = len(set(pair_ids))
    both = twin_pair_accuracy(result.correct, pair_ids)
    return CoreferenceSummary(
        n_items=result.n_items,
        n_pairs=n_pairs,
        n_heads=n_heads,
        best=rank_heads(result.accuracy, top),
        chance=chance_best_accuracy(result.n_items, n_heads),
        both=both,
        best_both=rank_heads(both, 1)[0],
        chance_both=chance_best_accuracy(n_pairs, n_heads, p=0.25),
    )


def coreference_rows(summary: CoreferenceSummary, result: AccuracyResult, model_name: str) -> list[dict]:
    """The table: our best heads, the rule baselines, chance, and Clark et al.'s BERT-base numbers."""
    n = summary.n_items

    def count(value: float) -> str:
        return f"{int(round(value * n))} / {n}"

    rows = [
        {"who": head_label(l, h), "accuracy": a, "right / total": count(a), "model": f"{model_name} (ours)",
         "data": "our twins"}
        for l, h, a in summary.best
    ]
    rows += [
        {"who": f"baseline: {name}", "accuracy": value, "right / total": count(value), "model": "no model",
         "data": "our twins"}
        for name, value in result.baselines.items()
    ]
    rows.append({"who": f"luckiest of {summary.n_heads} random heads", "accuracy": summary.chance,
                 "right / total": "", "model": "chance", "data": "simulated"})
    clark = CLARK_2019_COREFERENCE
    rows.append({"who": f"head {clark.head}", "accuracy": clark.accuracy, "right / total": "",
                 "model": "BERT-base (Clark et al. 2019)", "data": "their data"})
    rows += [
        {"who": f"baseline: {name}", "accuracy": value, "right / total": "", "model": "BERT-base paper's baselines",
         "data": "their data"}
        for name, value in clark.baselines.items()
    ]
    return rows


def relation_name(relation: str, reverse: bool) -> str:
    """'det', False -> 'determiner → its noun'; reverse reads the arc from the other end."""
    source, target = RELATIONS[relation].split(" → ")
    return f"{target} → {source}" if reverse else f"{source} → {target}"


def syntax_rows(syntax: dict[tuple[str, bool], AccuracyResult], model_name: str) -> list[dict]:
    """Best head per relation and direction, beside the best fixed offset and Clark et al.'s head."""
    rows = []
    for relation in RELATIONS:
        for reverse in (False, True):
            result = syntax[(relation, reverse)]
            l, h, a = rank_heads(result.accuracy, 1)[0]
            rows.append({
                "relation": relation_name(relation, reverse), "model": f"{model_name} (ours)", "best head": head_label(l, h),
                "accuracy": a, "best fixed offset": result.baselines["best fixed offset"],
                "offset": f"{result.best_offset:+d}", "arcs": str(result.n_items),
            })
        clark = CLARK_2019_SYNTAX[relation]
        rows.append({
            "relation": f"{relation_name(relation, False)} (their labels)", "model": "BERT-base (Clark et al. 2019)",
            "best head": clark.head, "accuracy": clark.accuracy, "best fixed offset": clark.best_fixed_offset_baseline,
            "offset": "", "arcs": "their data",
        })
    return rows


def pair_outcomes(
    result: AccuracyResult, items: Sequence[CoreferenceItem], pair: int, layer: int, head: int
) -> list[tuple[CoreferenceItem, bool]]:
    """The two sentences of a twin pair, each with whether head (layer, head), 0-based, got it right."""
    return [(item, bool(result.correct[index, layer, head])) for index, item in enumerate(items) if item.pair == pair]
