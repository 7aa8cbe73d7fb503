"""Gradient x attention and head importance for the sentiment classifier (lesson section 4).

Shapes: ``attn`` and the gradients are layers x heads x q x k (one sentence), for one class c
(the "target", by default the predicted one):
- ``grad[l, h, i, j]`` = dL/dA_h[i, j] for L = the cross-entropy of class c: the unsigned view
  A * |dL/dA| and the head scores use it;
- ``class_grad[l, h, i, j]`` = dy_c/dA_h[i, j] for y_c = the logit of class c: the signed view
  (A * dy_c/dA)+ of Chefer et al. (2021) and vit-explain uses it. Its sign is the one that
  matters: positive = more attention there raises the class's score. (dL/dA points the other
  way, since lowering the loss raises the class.)

Gradients are taken with ``torch.autograd.grad`` with respect to the attention tensors (and the
input embeddings) of this one forward pass. Nothing is ever written to a parameter's ``.grad``,
so many users can share one cached model at the same time without disturbing each other.

Head ablation goes through the registered attention function of ``lessonkit.intervention``
(transformers 5 ignores ``head_mask``): every head's removal is one element of a batch.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from jaxtyping import Bool, Float

from lessonkit.intervention import editing_attention
from lessonkit.model import LoadedModel
from lessonkit.statistics import normalised_entropy, ranks, spearman
from lessonkit.transformer_classifier import SentimentHead, classifier_forward

Maps = Float[np.ndarray, "layers heads query key"]
PerHead = Float[np.ndarray, "layers heads"]


@dataclass(frozen=True)
class GradientResult:
    attn: Maps
    grad: Maps  # dL/dA, L = cross-entropy of the target class
    class_grad: Maps  # dy/dA, y = the target class's logit
    input_grad: Float[np.ndarray, "seq d_model"]  # dL/d(word embedding of each token)
    input_embeddings: Float[np.ndarray, "seq d_model"]
    probabilities: Float[np.ndarray, " classes"]  # softmax of the logits
    target: int  # the class explained
    loss: float

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.probabilities))


def encode_text(loaded: LoadedModel, text: str) -> tuple[dict, list[str], bool]:
    """(encoded batch of one, tokens, truncated) for a checked text; raises InputError on bad text."""
    from lessonkit.analysis import check_text, tokenize

    encoded, truncated, _ = tokenize(loaded, check_text(text))
    tokens = loaded.tokenizer.convert_ids_to_tokens(encoded["input_ids"][0].tolist())
    return dict(encoded), tokens, truncated


def _embedded_inputs(loaded: LoadedModel, encoded: dict):
    """The encoded batch with input_ids replaced by a fresh leaf tensor of word embeddings."""
    embeds = loaded.model.embeddings.word_embeddings(encoded["input_ids"]).detach().requires_grad_(True)
    inputs = {key: value for key, value in encoded.items() if key != "input_ids"}
    inputs["inputs_embeds"] = embeds
    return inputs, embeds


def attention_gradients(
    loaded: LoadedModel, head: SentimentHead, encoded: dict, target: int | None = None
) -> GradientResult:
    """One forward and two backward passes (loss, class logit) for a batch of one sentence."""
    import torch

    with torch.enable_grad():
        inputs, embeds = _embedded_inputs(loaded, encoded)
        logits, attentions = classifier_forward(loaded, head, inputs, output_attentions=True)
        if target is None:
            target = int(logits[0].argmax())
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor([target]))
        grads = torch.autograd.grad(loss, [embeds, *attentions], retain_graph=True)
        class_grads = torch.autograd.grad(logits[0, target], list(attentions))
    return GradientResult(
        attn=torch.stack([a.detach()[0] for a in attentions]).double().numpy(),
        grad=torch.stack([g[0] for g in grads[1:]]).double().numpy(),
        class_grad=torch.stack([g[0] for g in class_grads]).double().numpy(),
        input_grad=grads[0][0].double().numpy(),
        input_embeddings=embeds.detach()[0].double().numpy(),
        probabilities=torch.softmax(logits.detach()[0].double(), -1).numpy(),
        target=target,
        loss=float(loss.detach()),
    )


def _same_shape(attn, grad) -> tuple[np.ndarray, np.ndarray]:
    attn = np.asarray(attn, dtype=np.float64)
    grad = np.asarray(grad, dtype=np.float64)
    if attn.shape != grad.shape:
        raise ValueError(f"attention {attn.shape} and gradient {grad.shape} shapes differ")
    return attn, grad


def unsigned_gradient_attention(attn: Maps, loss_grad: Maps) -> Maps:
    """A * |dL/dA|: attention where the loss is sensitive, in either direction."""
    attn, loss_grad = _same_shape(attn, loss_grad)
    return attn * np.abs(loss_grad)


def signed_gradient_attention(attn: Maps, class_grad: Maps) -> Maps:
    """(A * dy_c/dA)+ (Chefer et al. 2021; vit-explain): attention that raises the class's score.

    The one place this is written: the gradient page and the gradient-weighted rollout call it.
    """
    attn, class_grad = _same_shape(attn, class_grad)
    return np.clip(attn * class_grad, 0.0, None)


def gradient_weighted_attention(result: GradientResult, signed: bool = False) -> Maps:
    """The signed view (A * dy/dA)+ or the unsigned A * |dL/dA| of one gradient result."""
    if signed:
        return signed_gradient_attention(result.attn, result.class_grad)
    return unsigned_gradient_attention(result.attn, result.grad)


def attention_concentration(attn: Maps) -> PerHead:
    """layers x heads x q x k -> layers x heads: 1 - mean row entropy / log(k).

    1 for a head whose every row is one-hot (a strong, crisp pattern), 0 for uniform rows.
    """
    return 1.0 - normalised_entropy(np.asarray(attn, dtype=np.float64)).mean(-1)


def head_scores(attn: Maps, grad: Maps) -> dict[str, PerHead]:
    """Three per-head scores, each layers x heads (``grad`` = dL/dA).

    - ``gradient_weighted``: sum over i, j of A * |dL/dA|;
    - ``concentration``: how crisp the pattern is, from attention alone (no gradient);
    - ``taylor``: |sum over i, j of A * dL/dA|, the first-order estimate of the loss change when
      the head is scaled to zero (Michel et al. 2019's head importance for this one example).
      Unlike the sum of |.|, entries that push the loss in opposite directions cancel here, as
      they do when the head is really removed.
    """
    attn, grad = _same_shape(attn, grad)
    return {
        "gradient_weighted": unsigned_gradient_attention(attn, grad).sum((-1, -2)),
        "concentration": attention_concentration(attn),
        "taylor": np.abs((attn * grad).sum((-1, -2))),
    }


SCORE_NAMES = {
    "gradient_weighted": "gradient × attention",
    "concentration": "pattern strength",
    "taylor": "Taylor estimate",
}


def agreement_with_ablation(scores: dict[str, PerHead], ablation: PerHead) -> dict[str, float]:
    """score name -> Spearman correlation of that score with |loss change when the head is removed|."""
    truth = np.abs(np.asarray(ablation, dtype=np.float64))
    return {name: spearman(values, truth) for name, values in scores.items()}


def head_table(ablation: PerHead, scores: dict[str, PerHead], ride: Bool[np.ndarray, "layers heads"]):
    """One row per head (layers and heads counted from 1), sorted by the size of the ablation effect.

    Column names are written for learners; ranks are 1 = largest (|loss change| for removal).
    """
    import pandas as pd

    ablation = np.asarray(ablation, dtype=np.float64)
    layers, heads = np.indices(ablation.shape)
    frame = pd.DataFrame(
        {
            "head": [f"L{l + 1} H{h + 1}" for l, h in zip(layers.ravel(), heads.ravel())],
            "role": np.where(np.asarray(ride).ravel(), "along for the ride", "other"),
            "loss change when removed": ablation.ravel(),
            "rank by removal": ranks(np.abs(ablation)).ravel(),
            "rank by gradient × attention": ranks(scores["gradient_weighted"]).ravel(),
            "rank by pattern strength": ranks(scores["concentration"]).ravel(),
            "rank by Taylor estimate": ranks(scores["taylor"]).ravel(),
            "gradient × attention": np.asarray(scores["gradient_weighted"]).ravel(),
            "pattern strength": np.asarray(scores["concentration"]).ravel(),
            "Taylor estimate": np.asarray(scores["taylor"]).ravel(),
        }
    )
    return frame.sort_values("rank by removal", kind="stable").reset_index(drop=True)


def _ablate_per_example(pairs: list[tuple[int, int]]):
    """An edit zeroing head pairs[b] = (layer, head) in batch element b only."""

    def edit(layer_index, weights):
        keep = weights.new_ones(weights.shape[0], weights.shape[1])
        touched = False
        for b, (layer, head) in enumerate(pairs):
            if layer == layer_index:
                keep[b, head] = 0.0
                touched = True
        return weights * keep[:, :, None, None] if touched else weights

    return edit


def ablation_loss_changes(
    loaded: LoadedModel, head: SentimentHead, encoded: dict, target: int, batch_size: int = 24
) -> np.ndarray:
    """layers x heads: loss with that one head removed minus the loss of the intact model.

    ``loaded`` must run the editable attention (lessonkit.model.load_model; checked).
    Positive = removing the head hurts the chosen class.
    """
    import torch

    model = loaded.model
    n_layers, n_heads = model.config.num_hidden_layers, model.config.num_attention_heads
    pairs = [(layer, h) for layer in range(n_layers) for h in range(n_heads)]
    target_tensor = torch.tensor([target])
    with torch.inference_mode():
        logits, _ = classifier_forward(loaded, head, encoded)
        base = float(torch.nn.functional.cross_entropy(logits.double(), target_tensor))
        losses = []
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start : start + batch_size]
            batch = {key: value.expand(len(chunk), *value.shape[1:]) for key, value in encoded.items()}
            with editing_attention(loaded, _ablate_per_example(chunk)):
                chunk_logits, _ = classifier_forward(loaded, head, batch)
            losses.append(
                torch.nn.functional.cross_entropy(
                    chunk_logits.double(), target_tensor.expand(len(chunk)), reduction="none"
                )
            )
    return (torch.cat(losses).numpy() - base).reshape(n_layers, n_heads)


def along_for_the_ride(
    concentration: np.ndarray, gradient_weighted: np.ndarray, quantile: float = 1 / 3
) -> np.ndarray:
    """layers x heads bool: heads in the top ``quantile`` by pattern strength and the bottom by gradient."""
    concentration = np.asarray(concentration, dtype=np.float64)
    gradient_weighted = np.asarray(gradient_weighted, dtype=np.float64)
    strong = concentration >= np.quantile(concentration, 1 - quantile)
    idle = gradient_weighted <= np.quantile(gradient_weighted, quantile)
    return strong & idle
