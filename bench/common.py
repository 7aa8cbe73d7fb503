"""Timing helpers shared by the benchmarks."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(function: Callable[[], object], repeats: int = 7, warmup: int = 2) -> float:
    """Median wall time of ``function()`` over ``repeats`` runs after ``warmup`` unmeasured runs."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def sentence_of_tokens(n_tokens: int) -> str:
    """A sentence that the uncased WordPiece tokenizer turns into exactly n_tokens (with [CLS] and [SEP])."""
    words = ["the", "cat", "sat", "on", "a", "mat", "and", "looked", "at", "birds"]
    return " ".join(words[i % len(words)] for i in range(n_tokens - 2))
