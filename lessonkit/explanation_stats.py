"""The saved test-set statistics of the "Is attention an explanation?" page, validated on load.

``scripts/compute_explanation_stats.py`` writes results/not_explanation_stats.json; the page reads
it through ``load_explanation_stats``, which raises ExplanationStatsError (naming the file and the
command that rebuilds it) for a missing, truncated or malformed file, so the rest of the page works.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

RESULTS_FILE = Path(__file__).resolve().parent.parent / "results" / "not_explanation_stats.json"
REBUILD_COMMAND = "python -m scripts.compute_explanation_stats"
PAIR_KEYS = ("attention~gradient", "attention~leave_one_out", "gradient~leave_one_out")


class ExplanationStatsError(RuntimeError):
    """The statistics file is missing or unusable; the message says how to rebuild it."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class TauStats(_Model):
    mean: float
    std: float
    fraction_significant: float
    n: int = Field(ge=0)


class Summary(_Model):
    n_sentences: int = Field(ge=1)
    taus: dict[str, TauStats]
    median_permutation_median_change: float
    median_adversarial_jsd: float
    median_seed_jsd: float | None = None


class SentenceRow(_Model):
    n_tokens: int
    max_attention: float
    permutation_median_change: float
    adversarial_jsd: float
    adversarial_change: float
    seed_jsd: float | None = None


class BiLSTMStats(_Model):
    held_out_accuracy: float
    seed2_held_out_accuracy: float
    uniform_held_out_accuracy: float
    summary: Summary
    sentences: list[SentenceRow]


class TransformerStats(_Model):
    held_out_accuracy: float
    layer: int = Field(ge=0)  # counted from 0 in the file
    heads: list[int]
    summary: Summary
    sentences: list[SentenceRow]


class ExplanationStats(_Model):
    bilstm: BiLSTMStats
    transformer: TransformerStats


def load_explanation_stats(path: Path = RESULTS_FILE) -> ExplanationStats:
    """The validated statistics, or ExplanationStatsError saying what is wrong and how to rebuild."""
    rebuild = f"Rebuild it with `{REBUILD_COMMAND}` (a few minutes)."
    path = Path(path)
    if not path.is_file():
        raise ExplanationStatsError(f"The saved statistics file {path.name} is missing. {rebuild}")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        stats = ExplanationStats.model_validate(raw)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValidationError) as error:
        raise ExplanationStatsError(
            f"The saved statistics file {path.name} is damaged or incomplete ({type(error).__name__}). {rebuild}"
        ) from error
    for part in (stats.bilstm, stats.transformer):
        missing = [k for k in PAIR_KEYS if k not in part.summary.taus]
        if missing or not part.sentences:
            raise ExplanationStatsError(f"The saved statistics file {path.name} is incomplete. {rebuild}")
    return stats


def is_number(value: float | None) -> bool:
    return value is not None and not math.isnan(value)
