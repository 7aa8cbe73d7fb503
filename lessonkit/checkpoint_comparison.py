"""Comparing checkpoints: MiniLM before and after fine-tuning its top two layers, and two BiLSTM seeds.

Fine-tuning (scripts/finetune_minilm.py) starts from the frozen encoder plus the committed linear
head and trains the last two transformer layers and the head on the tweets. Only what changed is
committed, models/minilm_finetuned_top2.safetensors:

- ``delta.<parameter name>``: fine-tuned minus base weight of every parameter of the two layers,
  stored as float16 (a 16-bit copy of the weights themselves would round away most of the
  fine-tuning: the changes are far smaller than the weights);
- ``head.weight``, ``head.bias``: the fine-tuned head (float32, tiny).

``load_finetuned`` rebuilds the model as base weights + delta, so every number is measured on
exactly what the file holds.

How far attention moved is the Jensen-Shannon *divergence* in nats (0 .. ln 2 = 0.693), the
square of what ``scipy.spatial.distance.jensenshannon`` returns (the JS distance), the unit the
app's other JSD numbers use. Per head: the divergence of each query row's distribution, averaged
over the rows of a tweet, then over the tweets.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel

from lessonkit.model import LoadedModel
from lessonkit.transformer_classifier import SentimentHead, classifier_forward, mean_pool
from lessonkit.uses_results import RESULTS_DIR, load_results, rounded

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
FINETUNED_FILE = MODELS_DIR / "minilm_finetuned_top2.safetensors"
RESULTS_FILE = RESULTS_DIR / "uses_checkpoints.json"
FINETUNE_COMMAND = "python -m scripts.finetune_minilm"
TOP_LAYERS = 2
MAX_TOKENS = 64
JSD_DEFINITION = ("Jensen-Shannon divergence in nats (0 .. ln 2), the square of scipy's jensenshannon distance; "
                  "per query row, averaged over rows and tweets")


class CheckpointError(RuntimeError):
    """The fine-tuned file is missing or does not fit the loaded model; the message says what to do."""


# ---------------------------------------------------------------------------- fine-tuning
def top_layer_indices(n_layers: int, top: int = TOP_LAYERS) -> list[int]:
    return list(range(n_layers - top, n_layers))


def _is_top_layer(name: str, layers: list[int]) -> bool:
    return any(name.startswith(f"encoder.layer.{i}.") for i in layers)


@dataclass
class FinetuneSettings:
    n_train: int = 2000
    epochs: int = 2
    batch_size: int = 16
    lr_layers: float = 3e-5
    lr_head: float = 1e-3
    seed: int = 0


def finetune(loaded: LoadedModel, head: SentimentHead, texts: list[str], labels: np.ndarray,
             settings: FinetuneSettings | None = None, progress=None) -> tuple[dict, SentimentHead, float]:
    """Train the top layers and the head; returns (float16 deltas by parameter name, new head, seconds).

    Eval mode throughout (no dropout), a seeded batch order and one thread: identical runs.
    """
    settings = settings or FinetuneSettings()
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    started = time.perf_counter()
    model = copy.deepcopy(loaded.model)
    model.eval()
    layers = top_layer_indices(loaded.facts.n_layers)
    trainable = []
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(_is_top_layer(name, layers))
        if parameter.requires_grad:
            trainable.append(parameter)
    weight = torch.nn.Parameter(head.weight.detach().clone().float())
    bias = torch.nn.Parameter(head.bias.detach().clone().float())
    optimiser = torch.optim.AdamW([{"params": trainable, "lr": settings.lr_layers},
                                   {"params": [weight, bias], "lr": settings.lr_head}], weight_decay=0.0)
    texts, y = list(texts)[: settings.n_train], torch.as_tensor(np.asarray(labels)[: settings.n_train])
    batches = [b for _ in range(settings.epochs)
               for b in np.array_split(rng.permutation(len(texts)), max(1, len(texts) // settings.batch_size))]
    for batch in (batches if progress is None else progress(batches)):
        encoded = loaded.tokenizer([texts[i] for i in batch], padding=True, truncation=True, max_length=MAX_TOKENS,
                                   return_tensors="pt")
        hidden = model(**encoded).last_hidden_state
        logits = mean_pool(hidden, encoded["attention_mask"]) @ weight.T + bias
        loss = torch.nn.functional.cross_entropy(logits, y[torch.as_tensor(batch)])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    base = dict(loaded.model.named_parameters())
    deltas = {name: (p.detach() - base[name].detach()).half().contiguous()
              for name, p in model.named_parameters() if _is_top_layer(name, layers)}
    new_head = SentimentHead(weight=weight.detach().clone(), bias=bias.detach().clone(), metadata={})
    return deltas, new_head, time.perf_counter() - started


def save_finetuned(deltas: dict, head: SentimentHead, info: dict[str, str], path: Path = FINETUNED_FILE) -> None:
    from safetensors.torch import save_file

    tensors = {f"delta.{name}": t for name, t in deltas.items()}
    tensors["head.weight"] = head.weight.detach().contiguous()
    tensors["head.bias"] = head.bias.detach().contiguous()
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={k: str(v) for k, v in info.items()})


def apply_deltas(loaded: LoadedModel, deltas: dict) -> LoadedModel:
    """A copy of the loaded model whose named parameters are base + delta (the base is untouched)."""
    model = copy.deepcopy(loaded.model)
    parameters = dict(model.named_parameters())
    with torch.no_grad():
        for name, delta in deltas.items():
            if name not in parameters or parameters[name].shape != delta.shape:
                raise CheckpointError(f"The fine-tuned file does not fit {loaded.facts.name} (parameter {name}).")
            parameters[name].add_(delta.to(parameters[name].dtype))
    model.eval()
    return LoadedModel(tokenizer=loaded.tokenizer, model=model, facts=loaded.facts)


@dataclass(frozen=True)
class Finetuned:
    loaded: LoadedModel  # base + deltas
    head: SentimentHead
    info: dict[str, str]


def load_finetuned(loaded: LoadedModel, path: Path = FINETUNED_FILE) -> Finetuned:
    """The fine-tuned classifier: ``loaded``'s weights with the file's deltas added, and its head."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path} is missing. Create it with `{FINETUNE_COMMAND}`.")
    with safe_open(str(path), framework="pt") as handle:
        info = dict(handle.metadata() or {})
        if info.get("model") != loaded.facts.name:
            raise CheckpointError(
                f"{path} was fine-tuned from {info.get('model', 'an unknown model')}; the loaded model is "
                f"{loaded.facts.name}. Use the default model, or fine-tune this one with `{FINETUNE_COMMAND}`."
            )
        names = handle.keys()  # a safetensors handle is not itself iterable
        deltas = {k.removeprefix("delta."): handle.get_tensor(k) for k in names if k.startswith("delta.")}
        head = SentimentHead(weight=handle.get_tensor("head.weight"), bias=handle.get_tensor("head.bias"), metadata=info)
    return Finetuned(apply_deltas(loaded, deltas), head, info)


# ---------------------------------------------------------------------------- attention change
def attention_maps(loaded: LoadedModel, head: SentimentHead, text: str, max_tokens: int = MAX_TOKENS) -> np.ndarray:
    """layers x heads x T x T attention of one text (float64)."""
    encoded = loaded.tokenizer(text, return_tensors="pt", truncation=True, max_length=max_tokens)
    with torch.inference_mode():
        _, attentions = classifier_forward(loaded, head, encoded, output_attentions=True)
    return torch.stack([a[0] for a in attentions]).double().numpy()


def row_jsd(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """JS divergence (nats) between distributions along the last axis: scipy's distance, squared."""
    from scipy.spatial.distance import jensenshannon

    return jensenshannon(p, q, axis=-1) ** 2


def head_jsd(base_attn: np.ndarray, other_attn: np.ndarray) -> np.ndarray:
    """layers x heads x T x T (two checkpoints, one text) -> layers x heads: mean over query rows."""
    return row_jsd(base_attn, other_attn).mean(-1)


def head_jsd_grid(base: LoadedModel, base_head: SentimentHead, other: LoadedModel, other_head: SentimentHead,
                  texts: list[str], progress=None) -> np.ndarray:
    """layers x heads: per-head JS divergence averaged over the texts (live on a few, or a whole test set)."""
    total = None
    for text in (texts if progress is None else progress(texts)):
        grid = head_jsd(attention_maps(base, base_head, text), attention_maps(other, other_head, text))
        total = grid if total is None else total + grid
    if total is None:
        raise ValueError("head_jsd_grid needs at least one text")
    return total / len(texts)


def top_heads(grid: np.ndarray, k: int = 5) -> list[tuple[int, int, float]]:
    """The k heads whose attention moved most, as (layer number, head number, divergence), numbered from 1."""
    order = np.argsort(-grid, axis=None, kind="stable")[:k]
    return [(int(i // grid.shape[1]) + 1, int(i % grid.shape[1]) + 1, float(grid.flat[i])) for i in order]


# ---------------------------------------------------------------------------- BiLSTM seeds
def seed_comparison(scorer_a, scorer_b, texts: list[str]) -> dict:
    """Per tweet: JS divergence (nats) between the two seeds' attention, |P_a - P_b|, token count."""
    jsd, change, n_tokens, same_top = [], [], [], []
    p_a, p_b = scorer_a.probabilities(texts), scorer_b.probabilities(texts)
    for start in range(0, len(texts), 256):
        chunk = texts[start : start + 256]
        for a, b in zip(scorer_a.attentions(chunk), scorer_b.attentions(chunk)):
            jsd.append(float(row_jsd(a, b)))
            n_tokens.append(len(a))
            same_top.append(int(np.argmax(a)) == int(np.argmax(b)))
    change = np.abs(p_a - p_b)
    return {"jsd": np.asarray(jsd), "output_change": change, "n_tokens": np.asarray(n_tokens),
            "same_top_token": float(np.mean(same_top)), "p_a": p_a, "p_b": p_b}


# ---------------------------------------------------------------------------- results file
class HeadChange(BaseModel):
    layer_number: int  # from 1
    head_number: int  # from 1
    js_divergence: float


class SeedComparison(BaseModel):
    accuracy_seed1: float
    accuracy_seed2: float
    prediction_agreement: float  # share of tweets with the same predicted class
    same_top_token: float  # share of tweets whose most-attended token is the same
    median_js_divergence: float
    n_tweets: int
    js_divergence: list[float]  # per tweet, nats
    output_change: list[float]  # per tweet, |P_seed1(positive) - P_seed2(positive)|
    n_tokens: list[int]


class CheckpointResults(BaseModel):
    model: str
    finetuned_layer_numbers: list[int]  # from 1
    base_accuracy: float  # frozen encoder + committed head
    finetuned_accuracy: float
    n_test: int
    n_jsd_tweets: int
    jsd_definition: str
    jsd_grid: list[list[float]]  # rows: layers 1..L, columns: heads 1..H
    top_heads: list[HeadChange]
    training: dict[str, str]
    seeds: SeedComparison
    seconds: float


def seed_results(comparison: dict, labels: np.ndarray) -> SeedComparison:
    from lessonkit.classifier_scores import accuracy

    return SeedComparison(
        accuracy_seed1=accuracy(comparison["p_a"], labels), accuracy_seed2=accuracy(comparison["p_b"], labels),
        prediction_agreement=float(((comparison["p_a"] > 0.5) == (comparison["p_b"] > 0.5)).mean()),
        same_top_token=comparison["same_top_token"], median_js_divergence=float(np.median(comparison["jsd"])),
        n_tweets=len(comparison["jsd"]), js_divergence=rounded(comparison["jsd"]),
        output_change=rounded(comparison["output_change"]), n_tokens=[int(n) for n in comparison["n_tokens"]],
    )


def load_checkpoint_results(path: Path = RESULTS_FILE) -> CheckpointResults:
    return load_results(path, CheckpointResults, "checkpoints")

