"""Scoring every head for the attention patterns of the lesson (Clark et al. 2019 style).

Each score is a number per head, computed from the maps alone (no model call), so scoring all
heads of a sentence costs a few numpy reductions over ``attn: layers x heads x q x k``:

- previous:     mean over queries i >= 1 of a[i, i-1]
- next:         mean over queries i <= n-2 of a[i, i+1]
- self:         mean over queries of a[i, i]
- cls:          mean over queries of the weight on [CLS] positions
- sep:          mean over queries of the weight on [SEP] positions
- punctuation:  mean over queries of the weight on punctuation tokens
- broad:        mean over queries of the row's entropy divided by log(n) (1 = uniform, 0 = one-hot)

Heads are *shown* 1-indexed, like Clark et al. ("L3-H5" is layer index 2, head index 4);
arrays are indexed from 0.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lessonkit.statistics import normalised_entropy

PATTERNS: dict[str, str] = {
    "previous": "previous token",
    "next": "next token",
    "cls": "[CLS]",
    "sep": "[SEP]",
    "punctuation": "punctuation",
    "broad": "broad (high entropy)",
    "self": "self (own token)",
}

# A head "uses" a pattern for a sentence when its score reaches this value
# (for 'broad': a normalised entropy this close to uniform).
PATTERN_THRESHOLDS: dict[str, float] = {
    "previous": 0.5,
    "next": 0.5,
    "cls": 0.5,
    "sep": 0.5,
    "punctuation": 0.5,
    "broad": 0.85,
    "self": 0.5,
}


def head_label(layer: int, head: int) -> str:
    """0-indexed (layer, head) -> the 1-indexed label shown in the app, e.g. (2, 4) -> 'L3-H5'."""
    return f"L{layer + 1}-H{head + 1}"


def is_punctuation(token: str) -> bool:
    """True for tokens made only of punctuation characters (Unicode category P*), e.g. ',', '.', '?!'."""
    text = token[2:] if token.startswith("##") else token
    return bool(text) and all(unicodedata.category(ch).startswith("P") for ch in text)


@dataclass(frozen=True)
class TokenKinds:
    cls: np.ndarray  # (n,) bool
    sep: np.ndarray  # (n,) bool
    punctuation: np.ndarray  # (n,) bool

    @property
    def special(self) -> np.ndarray:
        return self.cls | self.sep


def token_kinds(tokens: Sequence[str], cls_token: str = "[CLS]", sep_token: str = "[SEP]") -> TokenKinds:
    tokens = list(tokens)
    cls = np.array([t == cls_token for t in tokens], dtype=bool)
    sep = np.array([t == sep_token for t in tokens], dtype=bool)
    punctuation = np.array([is_punctuation(t) and not (c or s) for t, c, s in zip(tokens, cls, sep)], dtype=bool)
    return TokenKinds(cls=cls, sep=sep, punctuation=punctuation)


def _offset_score(attn: np.ndarray, offset: int) -> np.ndarray:
    """attn: ... x n x n -> mean over valid queries of a[i, i + offset]."""
    n = attn.shape[-1]
    if n - abs(offset) <= 0:
        return np.zeros(attn.shape[:-2])
    diagonal = np.diagonal(attn, offset=offset, axis1=-2, axis2=-1)  # ... x (n - |offset|)
    return diagonal.mean(axis=-1)


def mean_normalised_entropy(attn: np.ndarray) -> np.ndarray:
    """attn: ... x q x k -> mean over queries of H(row) / log(k), in [0, 1] (lessonkit.statistics)."""
    return normalised_entropy(attn).mean(axis=-1)


def pattern_scores(attn: np.ndarray, kinds: TokenKinds) -> dict[str, np.ndarray]:
    """attn: layers x heads x q x k (or any ... x q x k) -> {pattern: ... array of scores}."""
    attn = np.asarray(attn, dtype=np.float64)

    def weight_on(mask: np.ndarray) -> np.ndarray:
        if not mask.any():
            return np.zeros(attn.shape[:-2])
        return attn[..., mask].sum(axis=-1).mean(axis=-1)

    return {
        "previous": _offset_score(attn, -1),
        "next": _offset_score(attn, 1),
        "cls": weight_on(kinds.cls),
        "sep": weight_on(kinds.sep),
        "punctuation": weight_on(kinds.punctuation),
        "broad": mean_normalised_entropy(attn),
        "self": _offset_score(attn, 0),
    }


def rank_heads(scores: np.ndarray, top: int | None = None) -> list[tuple[int, int, float]]:
    """scores: layers x heads -> [(layer, head, score)] best first (ties: lower layer, then head, first)."""
    n_layers, n_heads = scores.shape
    flat = [(int(l), int(h), float(scores[l, h])) for l in range(n_layers) for h in range(n_heads)]
    flat.sort(key=lambda item: (-item[2], item[0], item[1]))
    return flat if top is None else flat[:top]


def heads_using(scores: np.ndarray, threshold: float) -> list[tuple[int, int, float]]:
    """Heads whose score reaches threshold, best first."""
    return [item for item in rank_heads(scores) if item[2] >= threshold]


def ranking_rows(scores: dict[str, np.ndarray]) -> list[dict]:
    """One row per head: its label, 0-indexed layer/head, each pattern's score, and its strongest pattern.

    'Strongest' compares each score with its pattern's threshold (score / threshold), so a head
    with no score near a threshold is marked as mixed.
    """
    some = next(iter(scores.values()))
    n_layers, n_heads = some.shape
    rows = []
    for layer in range(n_layers):
        for head in range(n_heads):
            row = {"head": head_label(layer, head), "layer_index": layer, "head_index": head}
            ratios = {}
            for name in PATTERNS:
                value = float(scores[name][layer, head])
                row[name] = value
                ratios[name] = value / PATTERN_THRESHOLDS[name]
            best = max(ratios, key=lambda name: ratios[name])
            row["strongest"] = PATTERNS[best] if ratios[best] >= 1.0 else "mixed"
            rows.append(row)
    return rows


def average_scores(per_sentence: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Mean of each pattern's layers x heads scores over several sentences."""
    if not per_sentence:
        raise ValueError("no sentences to average")
    return {name: np.mean([s[name] for s in per_sentence], axis=0) for name in per_sentence[0]}


def sorted_ranking(scores: dict[str, np.ndarray], pattern: str) -> list[dict]:
    """ranking_rows sorted by one pattern's score, best first (ties keep layer, then head, order)."""
    return sorted(ranking_rows(scores), key=lambda row: -row[pattern])


def named_heads(items: list[tuple[int, int, float]], limit: int = 6) -> str:
    """'L1-H2 (0.61), L3-H4 (0.55) and 2 more', or 'none'."""
    if not items:
        return "none"
    shown = ", ".join(f"{head_label(l, h)} ({v:.2f})" for l, h, v in items[:limit])
    more = len(items) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def pattern_summary_rows(sentence: dict[str, np.ndarray], library: dict[str, np.ndarray]) -> list[dict]:
    """One row per pattern: which heads reach its threshold, on one sentence and over the library."""
    return [
        {
            "pattern": PATTERNS[p],
            "threshold": PATTERN_THRESHOLDS[p],
            "heads at or above it (this sentence)": named_heads(heads_using(sentence[p], PATTERN_THRESHOLDS[p])),
            "best head (this sentence)": named_heads(rank_heads(sentence[p], 1)),
            "heads at or above it (probe library)": named_heads(heads_using(library[p], PATTERN_THRESHOLDS[p])),
            "best head (probe library)": named_heads(rank_heads(library[p], 1)),
        }
        for p in PATTERNS
    ]


@dataclass(frozen=True)
class LibraryFacts:
    """The model-wide numbers the head finder puts beside Clark et al.'s BERT-base findings."""

    cls_share: float  # mean weight on [CLS], over every head and probe sentence
    sep_share: float
    n_previous: int  # heads with over half their weight on the previous token
    n_next: int
    best_previous: tuple[int, int, float]
    n_heads: int


def library_facts(library: dict[str, np.ndarray]) -> LibraryFacts:
    return LibraryFacts(
        cls_share=float(library["cls"].mean()),
        sep_share=float(library["sep"].mean()),
        n_previous=sum(1 for *_, v in rank_heads(library["previous"]) if v > 0.5),
        n_next=sum(1 for *_, v in rank_heads(library["next"]) if v > 0.5),
        best_previous=rank_heads(library["previous"], 1)[0],
        n_heads=int(library["previous"].size),
    )
