"""Gradient x attention and head importance for the sentiment classifier (LESSON.md section 4).

Shapes: ``attn`` and ``grad`` are layers x heads x q x k (one sentence). ``grad[l, h, i, j]`` is
dL/dA_h[i, j] for the loss L = cross-entropy of the chosen class (by default the predicted one).

Gradients are taken with ``torch.autograd.grad`` with respect to the attention tensors (and the
input embeddings) of this one forward pass. Nothing is ever written to a parameter's ``.grad``,
so many users can share one cached model at the same time without disturbing each other.

Head ablation goes through the registered attention function of ``lessonkit.intervention``
(transformers 5 ignores ``head_mask``): every head's removal is one element of a batch.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lessonkit.intervention import editing_attention
from lessonkit.model import LoadedModel
from lessonkit.transformer_classifier import SentimentHead, classifier_forward


@dataclass(frozen=True)
class GradientResult:
    attn: np.ndarray  # layers x heads x q x k
    grad: np.ndarray  # layers x heads x q x k: dL/dA
    input_grad: np.ndarray  # seq x d_model: dL/d(word embedding of each token)
    input_embeddings: np.ndarray  # seq x d_model
    probabilities: np.ndarray  # n_classes, softmax of the logits
    target: int  # the class whose loss was differentiated
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
    """One forward and one backward pass for a batch of one sentence."""
    import torch

    with torch.enable_grad():
        inputs, embeds = _embedded_inputs(loaded, encoded)
        logits, attentions = classifier_forward(loaded, head, inputs, output_attentions=True)
        if target is None:
            target = int(logits[0].argmax())
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor([target]))
        grads = torch.autograd.grad(loss, [embeds, *attentions])
    return GradientResult(
        attn=torch.stack([a.detach()[0] for a in attentions]).double().numpy(),
        grad=torch.stack([g[0] for g in grads[1:]]).double().numpy(),
        input_grad=grads[0][0].double().numpy(),
        input_embeddings=embeds.detach()[0].double().numpy(),
        probabilities=torch.softmax(logits.detach()[0].double(), -1).numpy(),
        target=target,
        loss=float(loss.detach()),
    )


def gradient_weighted_attention(attn: np.ndarray, grad: np.ndarray, signed: bool = False) -> np.ndarray:
    """layers x heads x q x k -> same: A * |dL/dA|, or with ``signed`` (Chefer et al.) max(A * dL/dA, 0)."""
    attn = np.asarray(attn, dtype=np.float64)
    grad = np.asarray(grad, dtype=np.float64)
    if attn.shape != grad.shape:
        raise ValueError(f"attention {attn.shape} and gradient {grad.shape} shapes differ")
    return np.clip(attn * grad, 0.0, None) if signed else attn * np.abs(grad)


def attention_concentration(attn: np.ndarray) -> np.ndarray:
    """layers x heads x q x k -> layers x heads: 1 - mean row entropy / log(k).

    1 for a head whose every row is one-hot (a strong, crisp pattern), 0 for uniform rows.
    """
    attn = np.asarray(attn, dtype=np.float64)
    n = attn.shape[-1]
    if n < 2:
        return np.zeros(attn.shape[:2])
    entropy = -(attn * np.log(np.clip(attn, 1e-30, None))).sum(-1)  # layers x heads x q
    return 1.0 - entropy.mean(-1) / np.log(n)


def head_scores(attn: np.ndarray, grad: np.ndarray) -> dict[str, np.ndarray]:
    """Three per-head scores, each layers x heads.

    - ``gradient_weighted``: sum over i, j of A * |dL/dA|;
    - ``concentration``: how crisp the pattern is, from attention alone (no gradient);
    - ``taylor``: |sum over i, j of A * dL/dA|, the first-order estimate of the loss change when
      the head is scaled to zero (Michel et al. 2019's head importance for this one example).
    """
    attn = np.asarray(attn, dtype=np.float64)
    grad = np.asarray(grad, dtype=np.float64)
    return {
        "gradient_weighted": (attn * np.abs(grad)).sum((-1, -2)),
        "concentration": attention_concentration(attn),
        "taylor": np.abs((attn * grad).sum((-1, -2))),
    }


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


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two score arrays (flattened); NaN when either is constant."""
    from scipy.stats import spearmanr

    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def along_for_the_ride(
    concentration: np.ndarray, gradient_weighted: np.ndarray, quantile: float = 1 / 3
) -> np.ndarray:
    """layers x heads bool: heads in the top ``quantile`` by pattern strength and the bottom by gradient."""
    concentration = np.asarray(concentration, dtype=np.float64)
    gradient_weighted = np.asarray(gradient_weighted, dtype=np.float64)
    strong = concentration >= np.quantile(concentration, 1 - quantile)
    idle = gradient_weighted <= np.quantile(gradient_weighted, quantile)
    return strong & idle
