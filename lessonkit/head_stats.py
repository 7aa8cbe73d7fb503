"""Every head measured over the sentences the lesson ships: pattern scores on the probe library,
coreference accuracy on the Winograd twins, and accuracy on the hand-labelled syntactic arcs.

These numbers depend only on the model and the data files, so for the shipped model they are
computed once by ``python -m scripts.compute_head_stats`` into results/head_stats.json and read
back here (validated with pydantic; a missing, damaged or stale file raises HeadStatsFileError
naming the file and the rebuild command). For any other model they are computed live with
padded batches of sentences (one forward per batch instead of one per sentence).

Padding is on the right and masked, so each sentence's maps, cut to its own length, are the
maps of an unpadded forward (tested against a sentence-by-sentence loop).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from jaxtyping import Float
from pydantic import BaseModel, ConfigDict, ValidationError

from lessonkit.analysis import segments_from_sep
from lessonkit.head_accuracy import AccuracyResult, coreference_accuracy, syntax_accuracy
from lessonkit.head_patterns import PATTERNS, average_scores, pattern_scores, token_kinds
from lessonkit.model import DEFAULT_MODEL_NAME, LoadedModel, ModelFacts, default_model_dir
from lessonkit.probes import RELATIONS, load_coreference_items, load_probes, load_syntax_arcs
from lessonkit.word_level import merge_attention, word_groups, word_labels

RESULT_FILE = Path(__file__).resolve().parent.parent / "results" / "head_stats.json"
REBUILD_COMMAND = "python -m scripts.compute_head_stats"
BATCH_SIZE = 16  # padded batches of 16 measured 2.8-3.0x faster than one sentence at a time
DATA_FILES = ("probes.json", "coreference_pairs.json", "probes_syntax.json")

Progress = Callable[[int, int], None]  # (sentences done, sentences in all)


@dataclass(frozen=True)
class TokenMaps:
    """One sentence's tokens and every head's map, cut to its own length."""

    tokens: list[str]
    word_ids: list[int | None]
    segment_ids: list[int]
    attn: Float[np.ndarray, "layers heads query key"]


def batched_attention(
    loaded: LoadedModel,
    inputs: Sequence[tuple[str, str | None]],
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> list[TokenMaps]:
    """(text, second text or None) for each sentence -> its maps, from padded batches (sorted by
    length so a batch pads little). Results come back in the order of ``inputs``."""
    import torch

    tokenizer = loaded.tokenizer
    max_length = loaded.facts.max_length
    # each sentence encoded on its own (a pair only where it has one), then padded per batch
    singles = [tokenizer(text, pair, truncation=True, max_length=max_length) for text, pair in inputs]
    order = sorted(range(len(inputs)), key=lambda i: len(singles[i]["input_ids"]))
    out: list[TokenMaps | None] = [None] * len(inputs)
    step = max(1, batch_size)
    for start in range(0, len(order), step):
        chosen = order[start : start + step]
        padded = tokenizer.pad([dict(singles[i]) for i in chosen], padding=True, return_tensors="pt")
        # An additive 4-D mask built here: transformers hands a ready 4-D mask through as it is, so
        # padded keys get no weight whether or not the attention function has a mask builder.
        keep = padded["attention_mask"][:, None, None, :].to(torch.float32)
        padded["attention_mask"] = (1.0 - keep) * torch.finfo(torch.float32).min
        with torch.inference_mode():
            attentions = loaded.model(**padded, output_attentions=True).attentions
        stacked = torch.stack(attentions, dim=1).float().numpy()  # batch x layers x heads x q x k
        for row, index in enumerate(chosen):
            single = singles[index]
            ids = list(single["input_ids"])
            n = len(ids)
            segments = (
                list(single["token_type_ids"]) if "token_type_ids" in single
                else segments_from_sep(ids, tokenizer.sep_token_id)
            )
            out[index] = TokenMaps(
                tokens=tokenizer.convert_ids_to_tokens(ids),
                word_ids=list(single.word_ids()),
                segment_ids=segments,
                attn=np.ascontiguousarray(stacked[row, :, :, :n, :n]),
            )
        if progress is not None:
            progress(min(start + step, len(order)), len(inputs))
    return [maps for maps in out if maps is not None]


def word_map(maps: TokenMaps) -> tuple[np.ndarray, list[str], np.ndarray]:
    """(word_attn: layers x heads x words x words, word labels, special: words bool)."""
    groups = word_groups(maps.word_ids, maps.segment_ids)
    special = np.array([maps.word_ids[g[0]] is None for g in groups], dtype=bool)
    return merge_attention(maps.attn, groups), word_labels(maps.tokens, groups), special


@dataclass(frozen=True)
class HeadStats:
    """What the two deep-dive head pages show, for one model."""

    library: dict[str, np.ndarray]  # pattern -> layers x heads, mean over the probe library
    coreference: AccuracyResult
    syntax: dict[tuple[str, bool], AccuracyResult]  # (relation, reverse) -> result
    n_probes: int


def compute_head_stats(
    loaded: LoadedModel, batch_size: int = BATCH_SIZE, progress: Progress | None = None
) -> HeadStats:
    """Every sentence the lesson ships, once, in padded batches; then the three measurements."""
    probes = load_probes()
    items = load_coreference_items()
    arcs = load_syntax_arcs()
    inputs: list[tuple[str, str | None]] = [(p.text, p.text_pair) for p in probes]
    inputs += [(text, None) for text in dict.fromkeys([i.text for i in items] + [a.text for a in arcs])]
    unique = list(dict.fromkeys(inputs))
    computed = dict(zip(unique, batched_attention(loaded, unique, batch_size, progress)))

    library = average_scores(
        [pattern_scores(m.attn, token_kinds(m.tokens)) for m in (computed[(p.text, p.text_pair)] for p in probes)]
    )
    words = {text: word_map(computed[(text, None)]) for text in {i.text for i in items} | {a.text for a in arcs}}
    coreference = coreference_accuracy(items, [words[i.text][:2] for i in items])
    syntax = {}
    for relation in RELATIONS:
        chosen = [a for a in arcs if a.relation == relation]
        for reverse in (False, True):
            syntax[(relation, reverse)] = syntax_accuracy(chosen, [words[a.text] for a in chosen], reverse=reverse)
    return HeadStats(library=library, coreference=coreference, syntax=syntax, n_probes=len(probes))


# ---------------------------------------------------------------------------- the saved measurement
def data_fingerprint() -> str:
    """sha256 of the data files the measurement reads: a file saved before an edit of them is stale."""
    digest = hashlib.sha256()
    for name in DATA_FILES:
        digest.update(resources.files("lessonkit").joinpath("data", name).read_bytes())
    return digest.hexdigest()


def is_shipped_model(facts: ModelFacts) -> bool:
    """True for the model the saved measurement was made on (the package's own folder)."""
    try:
        return facts.name == DEFAULT_MODEL_NAME and Path(facts.source).resolve() == default_model_dir().resolve()
    except Exception:  # the package is missing: nothing can be the shipped model
        return False


class SyntaxRecord(BaseModel):
    relation: str
    reverse: bool
    accuracy: list[list[float]]
    n_items: int
    baselines: dict[str, float]
    best_offset: int


class HeadStatsRecord(BaseModel):
    """results/head_stats.json as scripts/compute_head_stats.py writes it."""

    model_config = ConfigDict(extra="ignore", protected_namespaces=())
    description: str
    model: str
    n_layers: int
    n_heads: int
    n_parameters: int
    data_sha256: str
    n_probes: int
    library: dict[str, list[list[float]]]
    coreference_correct: list[list[list[int]]]  # items x layers x heads, 1 = right
    coreference_baselines: dict[str, float]
    syntax: list[SyntaxRecord]
    seconds: float


class HeadStatsFileError(RuntimeError):
    """The saved measurement is missing, damaged or stale; the message names the file and the command."""


def to_record(stats: HeadStats, facts: ModelFacts, seconds: float) -> HeadStatsRecord:
    return HeadStatsRecord(
        description="Every head measured over the lesson's sentences (lessonkit.head_stats).",
        model=facts.name,
        n_layers=facts.n_layers,
        n_heads=facts.n_heads,
        n_parameters=facts.n_parameters,
        data_sha256=data_fingerprint(),
        n_probes=stats.n_probes,
        library={name: np.round(values, 6).tolist() for name, values in stats.library.items()},
        coreference_correct=stats.coreference.correct.astype(int).tolist(),
        coreference_baselines=stats.coreference.baselines,
        syntax=[
            SyntaxRecord(relation=relation, reverse=reverse, accuracy=result.accuracy.tolist(),
                         n_items=result.n_items, baselines=result.baselines, best_offset=int(result.best_offset or 0))
            for (relation, reverse), result in stats.syntax.items()
        ],
        seconds=round(seconds, 2),
    )


def save_head_stats(stats: HeadStats, facts: ModelFacts, seconds: float, path: Path = RESULT_FILE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_record(stats, facts, seconds).model_dump(), separators=(",", ":")) + "\n")


def load_head_stats(facts: ModelFacts, path: Path | None = None) -> HeadStats:
    """The saved measurement for this model, validated; HeadStatsFileError otherwise."""
    path = RESULT_FILE if path is None else Path(path)
    name = f"results/{path.name}"
    rebuild = f"Rebuild it with `{REBUILD_COMMAND}` (under a minute on 2 cores)."
    if not path.is_file():
        raise HeadStatsFileError(f"The saved measurement {name} is missing. {rebuild}")
    try:
        record = HeadStatsRecord.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, ValidationError) as error:  # truncated JSON, or fields missing / of the wrong type
        raise HeadStatsFileError(
            f"The saved measurement {name} is damaged or incomplete ({type(error).__name__}). {rebuild}"
        ) from error
    if (record.model, record.n_layers, record.n_heads, record.n_parameters) != (
        facts.name, facts.n_layers, facts.n_heads, facts.n_parameters
    ):
        raise HeadStatsFileError(f"The saved measurement {name} was made on another model ({record.model}). {rebuild}")
    if record.data_sha256 != data_fingerprint():
        raise HeadStatsFileError(f"The saved measurement {name} is older than the lesson's sentences. {rebuild}")
    try:
        return _from_record(record, facts)
    except ValueError as error:
        raise HeadStatsFileError(f"The saved measurement {name} is damaged ({error}). {rebuild}") from error


def _grid(values: list, facts: ModelFacts, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (facts.n_layers, facts.n_heads) or not np.isfinite(array).all():
        raise ValueError(f"{what} is not a {facts.n_layers} x {facts.n_heads} grid of numbers")
    return array


def _from_record(record: HeadStatsRecord, facts: ModelFacts) -> HeadStats:
    if set(record.library) != set(PATTERNS):
        raise ValueError("the probe-library scores do not cover every pattern")
    library = {name: _grid(values, facts, name) for name, values in record.library.items()}
    correct = np.asarray(record.coreference_correct, dtype=np.int8)
    n_items = len(load_coreference_items())
    if correct.shape != (n_items, facts.n_layers, facts.n_heads) or not np.isin(correct, (0, 1)).all():
        raise ValueError(f"coreference answers are not {n_items} x {facts.n_layers} x {facts.n_heads} zeros and ones")
    correct = correct.astype(bool)
    coreference = AccuracyResult(correct.mean(axis=0), n_items, dict(record.coreference_baselines), correct)
    syntax = {}
    for entry in record.syntax:
        accuracy = _grid(entry.accuracy, facts, f"syntax {entry.relation}")
        syntax[(entry.relation, entry.reverse)] = AccuracyResult(
            accuracy, entry.n_items, dict(entry.baselines), np.zeros((0, *accuracy.shape), dtype=bool), entry.best_offset
        )
    wanted = {(relation, reverse) for relation in RELATIONS for reverse in (False, True)}
    if set(syntax) != wanted:
        raise ValueError("the syntax results do not cover every relation both ways")
    return HeadStats(library=library, coreference=coreference, syntax=syntax, n_probes=record.n_probes)
