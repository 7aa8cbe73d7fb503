"""Hiding tokens from an attention map and renormalising what is left, as exBERT offers.

Many heads park most of their weight on [CLS] or [SEP] (a "no-op" when nothing else fits,
Clark et al. 2019), which washes out every other cell of a heatmap. Hiding those positions
and dividing each remaining row by what it kept shows how the head shares the rest. The
result is a different quantity: it answers "among the visible tokens, where does the weight
go?", so the share that was hidden is reported beside it.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import numpy as np
from jaxtyping import Bool, Float


def is_punctuation(label: str) -> bool:
    """True for a token or word made only of punctuation characters (Unicode category P*)."""
    text = label[2:] if label.startswith("##") else label
    return bool(text) and all(unicodedata.category(ch).startswith("P") for ch in text)


def hidden_positions(
    labels: Sequence[str], special: Bool[np.ndarray, " seq"], punctuation: bool = True
) -> Bool[np.ndarray, " seq"]:
    """Which positions to hide: special tokens, and punctuation too when asked."""
    hide = np.asarray(special, dtype=bool).copy()
    if punctuation:
        hide |= np.array([is_punctuation(label) for label in labels], dtype=bool)
    return hide


def without_positions(
    attn: Float[np.ndarray, "... query key"], hide: Bool[np.ndarray, " seq"]
) -> tuple[Float[np.ndarray, "... query_kept key_kept"], Float[np.ndarray, "... query_kept"]]:
    """Drop the hidden rows and columns and renormalise each kept row over the kept keys.

    Returns (renormalised maps, share of each kept row's weight that went to hidden keys).
    A row that gave everything to hidden keys stays all zeros (nothing to share out).
    """
    keep = ~np.asarray(hide, dtype=bool)
    kept = np.asarray(attn, dtype=np.float64)[..., keep, :][..., keep]
    totals = kept.sum(axis=-1, keepdims=True)
    renormalised = np.divide(kept, totals, out=np.zeros_like(kept), where=totals > 0)
    return renormalised.astype(np.float32), (1.0 - totals[..., 0]).astype(np.float32)
