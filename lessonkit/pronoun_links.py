"""Which head links a pronoun to a noun in one sentence: the lesson's "it" -> "animal" example.

Works on word-level maps (lessonkit.word_level), usually with [CLS]/[SEP]/punctuation hidden
(lessonkit.visible_tokens), so a weight reads as "share of the visible attention".
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from jaxtyping import Float


def word_position(labels: Sequence[str], word: str) -> int | None:
    """First position whose label is ``word`` (case-insensitive; RoBERTa's 'Ġ' space mark ignored)."""
    wanted = word.lower()
    for position, label in enumerate(labels):
        if label.lstrip("Ġ▁").lower() == wanted:
            return position
    return None


@dataclass(frozen=True)
class PronounLink:
    layer: int  # 0-based
    head: int  # 0-based
    pronoun_position: int
    weights: dict[str, float]  # candidate noun -> weight from the pronoun in that head


def strongest_link(
    attn: Float[np.ndarray, "layers heads query key"], labels: Sequence[str], pronoun: str, candidates: Sequence[str]
) -> PronounLink | None:
    """The head whose pronoun row gives ``candidates[0]`` the most weight, with its weight on each candidate.

    None when the pronoun or a candidate is not among the labels.
    """
    source = word_position(labels, pronoun)
    targets = [word_position(labels, word) for word in candidates]
    if source is None or any(t is None for t in targets):
        return None
    to_first = attn[:, :, source, targets[0]]
    layer, head = np.unravel_index(int(np.argmax(to_first)), to_first.shape)
    weights = {word: float(attn[layer, head, source, t]) for word, t in zip(candidates, targets)}
    return PronounLink(int(layer), int(head), source, weights)
