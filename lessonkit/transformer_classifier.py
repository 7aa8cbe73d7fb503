"""The lesson's transformer classifier: the shipped encoder plus a small trained linear head.

Sentence representation = mean of the last hidden states over real tokens (the pooling
all-MiniLM-L6-v2 was trained with), then a linear layer to 2 logits (0 = negative, 1 = positive).
The head's weights live in models/minilm_sentiment_head.safetensors, written by
scripts/train_classifiers.py; the encoder stays frozen.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lessonkit.model import LoadedModel

if TYPE_CHECKING:  # torch is imported lazily at run time, so importing this module stays cheap
    import torch

LABELS = ("negative", "positive")
HEAD_FILE = Path(__file__).resolve().parent.parent / "models" / "minilm_sentiment_head.safetensors"


class ClassifierMissingError(RuntimeError):
    """The trained head file is missing; the message names the script that makes it."""


@dataclass
class SentimentHead:
    weight: "torch.Tensor"  # 2 x d_model
    bias: "torch.Tensor"  # 2
    metadata: dict[str, str]  # e.g. held-out accuracy, seed, training size (strings: safetensors metadata)


def mean_pool(last_hidden: "torch.Tensor", attention_mask: "torch.Tensor") -> "torch.Tensor":
    """batch x seq x d_model, batch x seq -> batch x d_model: mean over positions where the mask is 1."""
    mask = attention_mask.unsqueeze(-1).to(last_hidden.dtype)
    return (last_hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def head_logits(head: SentimentHead, pooled: "torch.Tensor") -> "torch.Tensor":
    return pooled @ head.weight.T + head.bias


def classifier_forward(loaded: LoadedModel, head: SentimentHead, encoded, output_attentions: bool = False):
    """(logits: batch x 2, attentions: tuple of layers x (batch x heads x q x k) or None).

    Differentiable: call under torch.no_grad()/inference_mode yourself when no gradient is needed.
    """
    outputs = loaded.model(**encoded, output_attentions=output_attentions)
    pooled = mean_pool(outputs.last_hidden_state, encoded["attention_mask"])
    return head_logits(head, pooled), (outputs.attentions if output_attentions else None)


def save_head(head: SentimentHead, path: Path = HEAD_FILE) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(
        {"weight": head.weight.detach().contiguous(), "bias": head.bias.detach().contiguous()},
        str(path),
        metadata={k: str(v) for k, v in head.metadata.items()},
    )


def load_head(path: Path = HEAD_FILE) -> SentimentHead:
    from safetensors import safe_open

    if not Path(path).is_file():
        raise ClassifierMissingError(
            f"The trained sentiment head {path} is missing. Create it with `python -m scripts.train_classifiers`."
        )
    with safe_open(str(path), framework="pt") as handle:
        return SentimentHead(
            weight=handle.get_tensor("weight"), bias=handle.get_tensor("bias"), metadata=dict(handle.metadata() or {})
        )
