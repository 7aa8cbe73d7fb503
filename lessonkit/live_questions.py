"""Questions whose answers come from the model on the spot.

A live question in a quiz file names a generator and its params, e.g.::

    [[questions]]
    id = "s2-live-previous-token"
    type = "live"
    generator = "positional_head"
    prompt = "In {model}, reading “{sentence}”, which head puts the most weight on the previous token?"
    params = { sentence = "The cat sat on the mat.", offset = -1 }

The page runs the model on ``sentence`` and hands ``attn`` (layers x heads x q x k) and the
tokens to :func:`build`, which scores every head with a small pure function, puts the best head
among three clearly weaker ones and writes an explanation for each option from the numbers.
Layers and heads are shown counted from 1, like everywhere in the app (and Clark et al. 2019);
the (layer, head) tuples in code are 0-based array indices.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

DELIMITER_TOKENS = frozenset({"[CLS]", "[SEP]", "<s>", "</s>"})
MAX_SENTENCE_CHARACTERS = 300


@dataclass(frozen=True)
class LiveOption:
    key: str
    text: str
    explanation: str


@dataclass(frozen=True)
class LiveBuild:
    prompt: str
    options: tuple[LiveOption, ...]
    answer: str
    scores: np.ndarray  # layers x heads: what was compared


def head_key(layer: int, head: int) -> str:
    return f"L{layer}H{head}"


def head_label(layer: int, head: int) -> str:
    """Display label of 0-based indices, counted from 1 as everywhere in the app."""
    return f"layer {layer + 1}, head {head + 1}"


# --------------------------------------------------------------------------- head scores


def positional_scores(attn: np.ndarray, offset: int = -1) -> np.ndarray:
    """layers x heads: mean over query positions i of attn[l, h, i, i + offset] (where i + offset exists)."""
    attn = np.asarray(attn, dtype=np.float64)
    n = attn.shape[-1]
    if offset == 0 or abs(offset) >= n:
        raise ValueError(f"offset {offset} needs a sentence of more than {abs(offset)} tokens and must not be 0")
    queries = np.arange(max(0, -offset), min(n, n - offset))
    return attn[:, :, queries, queries + offset].mean(axis=-1)


def delimiter_scores(attn: np.ndarray, tokens: list[str]) -> np.ndarray:
    """layers x heads: mean over query positions of the total weight on [CLS]/[SEP] (or <s>, </s>)."""
    attn = np.asarray(attn, dtype=np.float64)
    columns = [j for j, token in enumerate(tokens) if token in DELIMITER_TOKENS]
    if not columns:
        raise ValueError("the tokens contain no [CLS]/[SEP] delimiter")
    return attn[:, :, :, columns].sum(axis=-1).mean(axis=-1)


def best_head(scores: np.ndarray) -> tuple[int, int]:
    layer, head = np.unravel_index(int(np.argmax(scores)), scores.shape)
    return int(layer), int(head)


def pick_distractors(scores: np.ndarray, count: int = 3, min_gap: float = 0.05) -> list[tuple[int, int]]:
    """``count`` heads spread over the ranking, each at least ``min_gap`` below the best head."""
    flat = scores.ravel()
    order = [int(i) for i in np.argsort(-flat, kind="stable")]
    top = flat[order[0]]
    eligible = [i for i in order[1:] if top - flat[i] >= min_gap] or order[1:]
    if len(eligible) <= count:
        chosen = eligible
    else:
        # the strongest eligible head, then heads spread down to the weakest
        positions = [int(round(p)) for p in np.linspace(0, len(eligible) - 1, count)]
        chosen = [eligible[p] for p in dict.fromkeys(positions)]
    layer_head = np.unravel_index(np.asarray(chosen, dtype=np.int64), scores.shape)
    return [(int(layer), int(head)) for layer, head in zip(*layer_head)]


# --------------------------------------------------------------------------- generators


def _head_choice(scores: np.ndarray, describe: Callable[[float], str]) -> tuple[tuple[LiveOption, ...], str]:
    best = best_head(scores)
    heads = sorted([best, *pick_distractors(scores)])
    n_heads = scores.size
    flat = np.sort(scores.ravel())[::-1]
    options = []
    for layer, head in heads:
        value = float(scores[layer, head])
        rank = int(np.sum(scores > value)) + 1
        if (layer, head) == best:
            runner_up = float(flat[1]) if n_heads > 1 else value
            explanation = (
                f"Right: {head_label(layer, head)} {describe(value)}, the most of all {n_heads} heads "
                f"(the next best head reaches {runner_up:.2f})."
            )
        else:
            explanation = (
                f"{head_label(layer, head).capitalize()} {describe(value)}; it ranks {rank} of {n_heads}. "
                f"The best head reaches {float(flat[0]):.2f}."
            )
        options.append(LiveOption(head_key(layer, head), head_label(layer, head), explanation))
    return tuple(options), head_key(*best)


def _build_positional(attn, tokens, params):
    offset = int(params.get("offset", -1))
    word = "previous" if offset == -1 else "next" if offset == 1 else f"{offset:+d}"
    scores = positional_scores(attn, offset)
    options, answer = _head_choice(
        scores, lambda v: f"puts on average {v:.2f} of each token's attention on the {word} token"
    )
    return scores, options, answer


def _build_delimiter(attn, tokens, params):
    scores = delimiter_scores(attn, tokens)
    options, answer = _head_choice(
        scores, lambda v: f"puts on average {v:.2f} of each token's attention on [CLS] and [SEP]"
    )
    return scores, options, answer


def _validate_sentence(params: dict) -> list[tuple[str, str]]:
    sentence = params.get("sentence")
    if not isinstance(sentence, str) or not sentence.strip():
        return [("sentence", "must be a non-empty sentence to run the model on")]
    if len(sentence) > MAX_SENTENCE_CHARACTERS:
        return [("sentence", f"must be at most {MAX_SENTENCE_CHARACTERS} characters")]
    return []


def _validate_positional(params: dict) -> list[tuple[str, str]]:
    problems = _validate_sentence(params)
    offset = params.get("offset", -1)
    if isinstance(offset, bool) or offset not in (-1, 1):
        problems.append(("offset", "must be -1 (previous token) or 1 (next token)"))
    unknown = set(params) - {"sentence", "offset"}
    problems.extend((name, "is not a parameter of positional_head") for name in sorted(unknown))
    return problems


def _validate_delimiter(params: dict) -> list[tuple[str, str]]:
    problems = _validate_sentence(params)
    unknown = set(params) - {"sentence"}
    problems.extend((name, "is not a parameter of delimiter_head") for name in sorted(unknown))
    return problems


GENERATORS: dict[str, tuple[Callable, Callable]] = {
    "positional_head": (_validate_positional, _build_positional),
    "delimiter_head": (_validate_delimiter, _build_delimiter),
}


def validate_params(generator: str, params: dict) -> list[tuple[str, str]]:
    """(param name, problem) pairs; empty when the params suit the generator."""
    return GENERATORS[generator][0](params)


def check_prompt_template(prompt: str) -> str | None:
    """A problem with the prompt's {model}/{sentence} placeholders, or None."""
    try:
        prompt.format(model="m", sentence="s")
    except (KeyError, IndexError, ValueError) as error:
        return f"may only use the placeholders {{model}} and {{sentence}} ({error})"
    return None


def build(generator: str, params: dict, prompt: str, attn: np.ndarray, tokens: list[str], model_name: str) -> LiveBuild:
    """Options, answer and explanations of a live question for this model's attention on the sentence."""
    scores, options, answer = GENERATORS[generator][1](attn, tokens, params)
    text = prompt.format(model=model_name, sentence=str(params.get("sentence", "")).strip())
    return LiveBuild(prompt=text, options=options, answer=answer, scores=scores)


def params_sentence(params: dict[str, Any]) -> str:
    return str(params.get("sentence", "")).strip()
