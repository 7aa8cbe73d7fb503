"""Changing attention inside the model: permute, replace or ablate heads.

transformers 5 ignores ``head_mask``, so lessonkit.model loads every model with our own
registered attention function. It computes exactly what eager attention computes, then hands
the weights (batch x heads x q x k) of each layer to the edit set for the current context, if
any. Edits live in a ContextVar, so two users sharing one cached model never see each other's
edits. An edit on a model loaded some other way would silently do nothing, so
``editing_attention`` refuses such a model.
"""
from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from lessonkit.model import LoadedModel

if TYPE_CHECKING:  # torch is imported lazily at run time
    import torch

EDITABLE_IMPLEMENTATION = "lesson_editable"

# edit(layer_index, weights: batch x heads x q x k) -> new weights of the same shape
AttentionEdit = Callable[[int, "torch.Tensor"], "torch.Tensor"]

_current_edit: contextvars.ContextVar[AttentionEdit | None] = contextvars.ContextVar("attention_edit", default=None)


def _editable_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
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


class NotEditableError(TypeError):
    """A model whose attention edits cannot reach was handed to an intervention."""


def register_editable_attention() -> str:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, eager_mask

    AttentionInterface.register(EDITABLE_IMPLEMENTATION, _editable_attention)
    # Without a mask function of its own, a registered implementation gets attention_mask=None:
    # padded positions of a batch would be attended to. Eager's additive mask is what it adds.
    AttentionMaskInterface.register(EDITABLE_IMPLEMENTATION, eager_mask)
    return EDITABLE_IMPLEMENTATION


def require_editable(loaded: LoadedModel) -> None:
    """Raise NotEditableError unless ``loaded`` runs the editable attention (see lessonkit.model.load_model)."""
    implementation = getattr(getattr(loaded.model, "config", None), "_attn_implementation", None)
    if implementation != EDITABLE_IMPLEMENTATION:
        raise NotEditableError(
            f"This model runs {implementation!r} attention, which attention edits cannot reach (they "
            f"would silently change nothing). Load it with lessonkit.model.load_model."
        )


@contextmanager
def editing_attention(loaded: LoadedModel, edit: AttentionEdit | None) -> Iterator[None]:
    """Apply ``edit`` to every layer's attention weights for forwards of ``loaded`` run inside the block."""
    require_editable(loaded)
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
