"""From WordPiece tokens to words: merging attention maps so each row and column is a word.

A word split into pieces ("play", "##ing") becomes one row and one column. Over key pieces the
weights are *summed* (the attention a query gives the whole word), over query pieces they are
*averaged* (each piece is one view of the word). Summing keys and averaging queries keeps every
row on the simplex: non-negative and adding up to 1.

Special tokens ([CLS], [SEP]) stay their own groups. A "word" is what the tokenizer's
pre-tokenizer calls a word (punctuation is split off), identified by (segment, word id) so the
two sentences of a pair never merge.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def word_groups(word_ids: Sequence[int | None], segment_ids: Sequence[int] | None = None) -> list[list[int]]:
    """Token positions of each word, in order: consecutive tokens with the same (segment, word id).

    Tokens whose word id is None (special tokens) each form a group of their own.
    """
    if segment_ids is None:
        segment_ids = [0] * len(word_ids)
    groups: list[list[int]] = []
    previous_key: tuple[int, int] | None = None
    for position, (word_id, segment) in enumerate(zip(word_ids, segment_ids)):
        key = None if word_id is None else (int(segment), int(word_id))
        if key is not None and key == previous_key:
            groups[-1].append(position)
        else:
            groups.append([position])
        previous_key = key
    return groups


def word_labels(tokens: Sequence[str], groups: Sequence[Sequence[int]]) -> list[str]:
    """The text of each word: its pieces joined, with the '##' continuation marks removed."""
    labels = []
    for group in groups:
        pieces = [tokens[group[0]]] + [tokens[p][2:] if tokens[p].startswith("##") else tokens[p] for p in group[1:]]
        labels.append("".join(pieces))
    return labels


def merge_matrix(groups: Sequence[Sequence[int]], n_tokens: int) -> np.ndarray:
    """membership: words x tokens, 1 where the token belongs to the word."""
    membership = np.zeros((len(groups), n_tokens), dtype=np.float64)
    for word, group in enumerate(groups):
        membership[word, list(group)] = 1.0
    return membership


def merge_attention(attn: np.ndarray, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """attn: ... x q x k over tokens -> ... x words x words.

    Keys: sum over the word's pieces. Queries: mean over the word's pieces.
    Works on one map (q x k), one layer (heads x q x k) or all layers (layers x heads x q x k).
    """
    n_tokens = attn.shape[-1]
    if attn.shape[-2] != n_tokens:
        raise ValueError(f"expected square maps, got {attn.shape[-2]} x {n_tokens}")
    covered = sorted(p for g in groups for p in g)
    if covered != list(range(n_tokens)):
        raise ValueError("groups must cover every token position exactly once")
    starts = [g[0] for g in groups]
    contiguous = all(list(g) == list(range(g[0], g[0] + len(g))) for g in groups) and starts == sorted(starts)
    if contiguous:  # the usual case (pieces of a word are neighbours): O(n^2) sums instead of matrix products
        values = attn.astype(np.float64)
        keys_summed = np.add.reduceat(values, starts, axis=-1)  # ... x q x words
        sizes = np.array([len(g) for g in groups], dtype=np.float64)
        merged = np.add.reduceat(keys_summed, starts, axis=-2) / sizes[:, None]
        return merged.astype(attn.dtype, copy=False)
    membership = merge_matrix(groups, n_tokens)  # words x tokens
    query_average = membership / membership.sum(axis=1, keepdims=True)  # words x tokens, rows sum to 1
    merged = query_average @ attn.astype(np.float64) @ membership.T
    return merged.astype(attn.dtype, copy=False)


def token_to_word(groups: Sequence[Sequence[int]], n_tokens: int) -> np.ndarray:
    """word index of every token position (n_tokens,)."""
    index = np.empty(n_tokens, dtype=int)
    for word, group in enumerate(groups):
        index[list(group)] = word
    return index
