"""Changing attention inside the model: permute, replace or ablate heads.

transformers 5 ignores ``head_mask``, so we register our own attention function. It computes
exactly what eager attention computes, then hands the weights (batch x heads x q x k) of each
layer to the edit set for the current thread, if any. Edits live in a ContextVar, so two
users sharing one cached model never see each other's edits.
"""
from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from lessonkit.model import LoadedModel, load_model

INTERVENABLE_IMPLEMENTATION = "lesson_intervenable"

# edit(layer_index, weights: batch x heads x q x k) -> new weights of the same shape
AttentionEdit = Callable[[int, "torch.Tensor"], "torch.Tensor"]  # noqa: F821

_current_edit: contextvars.ContextVar[AttentionEdit | None] = contextvars.ContextVar("attention_edit", default=None)


def _intervenable_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    import torch
    from torch import nn

    if scaling is None:
        scaling = query.size(-1) ** -0.5
    scores = torch.matmul(query, key.transpose(2, 3)) * scaling
    if attention_mask is not None:
        scores = scores + attention_mask
    weights = nn.functional.softmax(scores, dim=-1)
    edit = _current_edit.get()
    if edit is not None:
        weights = edit(module.layer_idx, weights)
    weights = nn.functional.dropout(weights, p=dropout, training=module.training)
    output = torch.matmul(weights, value).transpose(1, 2).contiguous()
    return output, weights


def register_intervenable_attention() -> str:
    from transformers import AttentionInterface

    AttentionInterface.register(INTERVENABLE_IMPLEMENTATION, _intervenable_attention)
    return INTERVENABLE_IMPLEMENTATION


def load_intervenable_model(setting: str | None = None) -> LoadedModel:
    """The same model as load_model, with attention that edits can reach."""
    return load_model(setting, attn_implementation=register_intervenable_attention())


@contextmanager
def editing_attention(edit: AttentionEdit | None) -> Iterator[None]:
    """Apply ``edit`` to every layer's attention weights for forwards run inside the block."""
    token = _current_edit.set(edit)
    try:
        yield
    finally:
        _current_edit.reset(token)


def ablate_heads(heads: Iterable[tuple[int, int]]) -> AttentionEdit:
    """An edit that zeroes the weights of (layer, head) pairs, so those heads output nothing.

    This is what head_mask = 0 did in older transformers versions.
    """
    by_layer: dict[int, list[int]] = {}
    for layer, head in heads:
        by_layer.setdefault(layer, []).append(head)

    def edit(layer_index, weights):
        if layer_index not in by_layer:
            return weights
        keep = weights.new_ones(weights.shape[1])
        keep[by_layer[layer_index]] = 0.0
        return weights * keep[None, :, None, None]

    return edit


def replace_head_weights(layer: int, head: int, new_weights) -> AttentionEdit:
    """An edit that puts ``new_weights`` (q x k, or batch x q x k) in place of one head's map."""

    def edit(layer_index, weights):
        if layer_index != layer:
            return weights
        weights = weights.clone()
        weights[:, head] = new_weights
        return weights

    return edit
