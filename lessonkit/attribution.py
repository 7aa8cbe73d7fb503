"""Token importance: one score per token, by seven methods that share one calling shape.

Like Captum, each method is a class built around the model seen from outside, and answers
``attribute(inputs, target) -> np.ndarray`` (one float64 score per token of ``inputs``):

| class | score of token t |
|---|---|
| ``Attention`` | attention of one layer, heads averaged, pooled over the query rows |
| ``Gradient`` | the L2 norm of dp_target / d(embedding of t) |
| ``InputXGradient`` | (dp_target / d e_t) . e_t, summed over the embedding (absolute by default) |
| ``LeaveOneOut`` | p_target(full) - p_target(t deleted from the input) (absolute by default) |
| ``BlankOut`` | p_target(full) - p_target(t masked out: mask 0) (absolute by default) |
| ``Rollout`` | attention rollout up to one layer (``lessonkit.rollout``), pooled over queries |
| ``Flow`` | attention flow up to one layer (``lessonkit.attention_flow``), pooled over queries |

The methods are written once against a ``ClassifierFunction``: ``embed(ids)``,
``probabilities(embeds, mask, extra)`` and, for the attention methods, ``attention_maps``.
``transformer_function`` wraps MiniLM (or any encoder) + the sentiment head, ``bilstm_function``
the attentive BiLSTM (its one attention vector is a 1-layer, 1-head map with one query row), so
the same classes serve both. The perturbation methods take ``batch_size``: how many perturbed
copies go through one forward pass.

"Pooled over the query rows": the transformer classifier reads the mean of all token states, so
its output position is every position averaged (``query="mean"``, over real tokens); pass an int
to read one row instead (e.g. 0 for [CLS]).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
from jaxtyping import Float

if TYPE_CHECKING:  # torch is imported lazily at run time
    import torch

    from lessonkit.model import LoadedModel
    from lessonkit.transformer_classifier import SentimentHead

Query = int | Literal["mean"]


@dataclass(frozen=True)
class TokenInputs:
    """One sentence: ids and mask (1 x T), plus other per-token inputs (e.g. token_type_ids, 1 x T)."""

    ids: "torch.Tensor"
    mask: "torch.Tensor"
    extra: dict[str, "torch.Tensor"] = field(default_factory=dict)

    @property
    def n_tokens(self) -> int:
        return int(self.ids.shape[1])

    @classmethod
    def from_encoded(cls, encoded) -> "TokenInputs":
        """From a tokenizer's batch of one (input_ids, attention_mask, maybe token_type_ids)."""
        extra = {k: v for k, v in dict(encoded).items() if k not in ("input_ids", "attention_mask")}
        return cls(encoded["input_ids"], encoded["attention_mask"], extra)


@dataclass(frozen=True)
class ClassifierFunction:
    """A classifier seen from outside.

    - ``embed``: ids (batch x T) -> embeddings (batch x T x d);
    - ``probabilities``: (embeddings, mask, extra) -> batch x classes, differentiable;
    - ``attention_maps``: (embeddings, mask, extra) -> layers x heads x q x k for batch element 0
      (None when the model has none).
    """

    embed: Callable
    probabilities: Callable
    attention_maps: Callable | None = None


def transformer_function(loaded: "LoadedModel", head: "SentimentHead") -> ClassifierFunction:
    """The encoder + sentiment head: pooling, head and softmax through lessonkit.transformer_classifier."""
    from lessonkit.transformer_classifier import class_probabilities, classifier_forward

    def embed(ids):
        return loaded.model.get_input_embeddings()(ids)

    def _encoded(embeds, mask, extra):
        return {"inputs_embeds": embeds, "attention_mask": mask, **extra}

    def probabilities(embeds, mask, extra):
        return class_probabilities(loaded, head, _encoded(embeds, mask, extra))

    def attention_maps(embeds, mask, extra):
        import torch

        _, attentions = classifier_forward(loaded, head, _encoded(embeds, mask, extra), output_attentions=True)
        return torch.stack([a[0] for a in attentions])

    return ClassifierFunction(embed, probabilities, attention_maps)


def bilstm_function(model, detach_attention: bool = True) -> ClassifierFunction:
    """The attentive BiLSTM (lessonkit.bilstm_classifier): classes (negative, positive).

    ``detach_attention``: gradients flow around the attention weights, held fixed, as Jain & Wallace
    computed them. The mask must be a run of ones (its sum is the length the LSTM reads), so
    ``BlankOut`` does not suit this model; ``LeaveOneOut`` does.
    """

    def embed(ids):
        return model.embedding(ids)

    def _attention(states, mask):
        attention = model.attention(states, mask)
        return attention.detach() if detach_attention else attention

    def probabilities(embeds, mask, extra):
        import torch

        states = model.encode(mask, mask, embedded=embeds)
        positive = model.decode(states, _attention(states, mask)).double()
        return torch.stack([1.0 - positive, positive], dim=-1)

    def attention_maps(embeds, mask, extra):
        states = model.encode(mask, mask, embedded=embeds)
        return model.attention(states, mask)[0][None, None, None, :]  # 1 layer x 1 head x 1 query x T

    return ClassifierFunction(embed, probabilities, attention_maps)


def with_known_attention(function: ClassifierFunction, maps) -> ClassifierFunction:
    """The same classifier for ONE sentence whose attention maps (layers x heads x q x k) are already
    computed: the attention methods read them instead of running the model again."""
    import torch

    known = torch.as_tensor(np.asarray(maps, dtype=np.float64))
    return ClassifierFunction(function.embed, function.probabilities, lambda embeds, mask, extra: known)


# ---------------------------------------------------------------------------- shared pieces
def _predicted(function: ClassifierFunction, inputs: TokenInputs) -> int:
    import torch

    with torch.inference_mode():
        probabilities = function.probabilities(function.embed(inputs.ids), inputs.mask, inputs.extra)
    return int(probabilities[0].argmax())


def _target(function: ClassifierFunction, inputs: TokenInputs, target: int | None) -> int:
    return _predicted(function, inputs) if target is None else int(target)


def _pool_rows(matrix: Float[np.ndarray, "query key"], mask: np.ndarray, query: Query) -> Float[np.ndarray, " key"]:
    """The row of one query position, or the mean of the rows of the real tokens (mask 1)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if query == "mean":
        rows = mask.astype(bool) if matrix.shape[0] == mask.size else np.ones(matrix.shape[0], dtype=bool)
        return matrix[rows].mean(axis=0)
    return matrix[int(query)]


def _layer_index(layer: int, n_layers: int) -> int:
    """A layer counted from 1 (negative: from the end, -1 = last) -> 0-based index; ValueError outside."""
    index = layer - 1 if layer > 0 else n_layers + layer
    if layer == 0 or not 0 <= index < n_layers:
        raise ValueError(f"layer {layer} is outside 1..{n_layers}")
    return index


def _attention(function: ClassifierFunction, inputs: TokenInputs) -> Float[np.ndarray, "layers heads query key"]:
    import torch

    if function.attention_maps is None:
        raise ValueError("this classifier has no attention maps")
    with torch.inference_mode():
        maps = function.attention_maps(function.embed(inputs.ids), inputs.mask, inputs.extra)
    return maps.double().numpy()


def _gradient(function: ClassifierFunction, inputs: TokenInputs, target: int):
    """(dp_target / d embeddings, embeddings), each T x d float64, for batch element 0."""
    import torch

    with torch.enable_grad():
        embeds = function.embed(inputs.ids).detach().requires_grad_(True)
        probability = function.probabilities(embeds, inputs.mask, inputs.extra)[0, target]
        (grad,) = torch.autograd.grad(probability, embeds)
    return grad[0].double().numpy(), embeds.detach()[0].double().numpy()


def _perturbed_probabilities(
    function: ClassifierFunction, variants: list[TokenInputs], target: int, batch_size: int
) -> np.ndarray:
    """p_target of each variant (all the same length), ``batch_size`` variants per forward pass."""
    import torch

    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    out = []
    with torch.inference_mode():
        for start in range(0, len(variants), batch_size):
            chunk = variants[start : start + batch_size]
            ids = torch.cat([v.ids for v in chunk])
            mask = torch.cat([v.mask for v in chunk])
            extra = {k: torch.cat([v.extra[k] for v in chunk]) for k in chunk[0].extra}
            out.append(function.probabilities(function.embed(ids), mask, extra)[:, target].double())
    return torch.cat(out).numpy() if out else np.zeros(0)


def _base_probability(function: ClassifierFunction, inputs: TokenInputs, target: int) -> float:
    return float(_perturbed_probabilities(function, [inputs], target, 1)[0])


# ---------------------------------------------------------------------------- the methods
@dataclass(frozen=True)
class Attention:
    """Attention of one layer (counted from 1; -1 = last), heads averaged, pooled over query rows."""

    function: ClassifierFunction
    layer: int = -1
    query: Query = "mean"

    def attribute(self, inputs: TokenInputs, target: int | None = None) -> Float[np.ndarray, " tokens"]:
        attn = _attention(self.function, inputs)  # the target does not change attention
        fused = attn[_layer_index(self.layer, attn.shape[0])].mean(axis=0)
        return _pool_rows(fused, inputs.mask[0].numpy(), self.query)


@dataclass(frozen=True)
class Gradient:
    """||dp_target / d e_t||_2 for every token t (target None = the predicted class)."""

    function: ClassifierFunction

    def attribute(self, inputs: TokenInputs, target: int | None = None) -> Float[np.ndarray, " tokens"]:
        grad, _ = _gradient(self.function, inputs, _target(self.function, inputs, target))
        return np.linalg.norm(grad, axis=-1)


@dataclass(frozen=True)
class InputXGradient:
    """(dp_target / d e_t) . e_t for every token t; its absolute value when ``absolute``."""

    function: ClassifierFunction
    absolute: bool = True

    def attribute(self, inputs: TokenInputs, target: int | None = None) -> Float[np.ndarray, " tokens"]:
        grad, embeds = _gradient(self.function, inputs, _target(self.function, inputs, target))
        scores = (grad * embeds).sum(axis=-1)
        return np.abs(scores) if self.absolute else scores


@dataclass(frozen=True)
class LeaveOneOut:
    """p_target(full) - p_target(token t deleted) (absolute when ``absolute``); ``positions`` None = all.

    Entries of tokens not in ``positions`` are NaN. A one-token input scores 0 (nothing to delete).
    """

    function: ClassifierFunction
    batch_size: int = 32
    absolute: bool = True
    positions: tuple[int, ...] | None = None

    def attribute(self, inputs: TokenInputs, target: int | None = None) -> Float[np.ndarray, " tokens"]:
        target = _target(self.function, inputs, target)
        n = inputs.n_tokens
        positions = list(range(n)) if self.positions is None else list(self.positions)
        out = np.full(n, np.nan)
        if n < 2:
            out[positions] = 0.0
            return out

        def drop(tensor, t):
            return tensor[:, [i for i in range(n) if i != t]]

        variants = [
            TokenInputs(drop(inputs.ids, t), drop(inputs.mask, t), {k: drop(v, t) for k, v in inputs.extra.items()})
            for t in positions
        ]
        change = _base_probability(self.function, inputs, target) - _perturbed_probabilities(
            self.function, variants, target, self.batch_size
        )
        out[positions] = np.abs(change) if self.absolute else change
        return out


@dataclass(frozen=True)
class BlankOut:
    """p_target(full) - p_target(token t masked out) (absolute when ``absolute``).

    Masked out: the attention mask is 0 at t, so no position attends to it and mean pooling skips it
    (Abnar & Zuidema's blank-out, done with the mask).
    """

    function: ClassifierFunction
    batch_size: int = 32
    absolute: bool = True

    def attribute(self, inputs: TokenInputs, target: int | None = None) -> Float[np.ndarray, " tokens"]:
        target = _target(self.function, inputs, target)
        variants = []
        for t in range(inputs.n_tokens):
            mask = inputs.mask.clone()
            mask[0, t] = 0
            variants.append(TokenInputs(inputs.ids, mask, inputs.extra))
        change = _base_probability(self.function, inputs, target) - _perturbed_probabilities(
            self.function, variants, target, self.batch_size
        )
        return np.abs(change) if self.absolute else change


def _per_layer(function: ClassifierFunction, inputs: TokenInputs, layer: int, fusion: str):
    """(layers up to ``layer``) x q x k residual matrices (A + I)/2 with heads fused, rows renormalised."""
    from lessonkit.rollout import fuse_heads, residual_matrices

    attn = _attention(function, inputs)
    index = _layer_index(layer, attn.shape[0])
    return residual_matrices(fuse_heads(attn[: index + 1], fusion))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Rollout:
    """Attention rollout up to ``layer`` (counted from 1; -1 = last), pooled over query rows."""

    function: ClassifierFunction
    layer: int = -1
    fusion: str = "mean"
    query: Query = "mean"

    def attribute(self, inputs: TokenInputs, target: int | None = None) -> Float[np.ndarray, " tokens"]:
        from lessonkit.rollout import rollout_from_matrices

        rollout = rollout_from_matrices(_per_layer(self.function, inputs, self.layer, self.fusion))[-1]
        return _pool_rows(rollout, inputs.mask[0].numpy(), self.query)


@dataclass(frozen=True)
class Flow:
    """Attention flow up to ``layer`` (max-flow from each input token to the output rows), pooled.

    ``query="mean"`` solves every output row (n^2 max-flows); an int solves one row (n).
    """

    function: ClassifierFunction
    layer: int = -1
    fusion: str = "mean"
    query: Query = "mean"

    def attribute(self, inputs: TokenInputs, target: int | None = None) -> Float[np.ndarray, " tokens"]:
        from lessonkit.attention_flow import attention_flow

        per_layer = _per_layer(self.function, inputs, self.layer, self.fusion)
        mask = inputs.mask[0].numpy()
        n = per_layer.shape[-1]
        if self.query == "mean":
            positions = [i for i in range(n) if mask[i]] if mask.size == n else list(range(n))
        else:
            positions = [int(self.query)]
        # one layer: every flow is its single edge's capacity
        rows = per_layer[0][positions] if per_layer.shape[0] == 1 else attention_flow(per_layer, positions)
        return np.asarray(rows, dtype=np.float64).mean(axis=0)


METHODS = {
    "attention": Attention,
    "gradient": Gradient,
    "input_x_gradient": InputXGradient,
    "leave_one_out": LeaveOneOut,
    "blank_out": BlankOut,
    "rollout": Rollout,
    "flow": Flow,
}
