"""The shared cache (ui/shared_cache.py) is bounded by bytes, shares read-only results, and computes
each key once even when many sessions ask at the same moment."""
from __future__ import annotations

import gc
import threading
import time

import numpy as np
import pytest

from lessonkit.analysis import analyse_sentence
from ui.shared_cache import SharedCache

BUDGET = 200 * 2**20


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096


def test_many_long_sentences_stay_within_the_byte_budget(loaded_model):
    cache = SharedCache(BUDGET)
    words = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "near", "the", "river", "bank"]
    rng = np.random.default_rng(0)
    analyse_sentence(loaded_model, "warm up")
    gc.collect()
    before = _rss_bytes()
    kept = []
    for index in range(8):
        text = " ".join(rng.choice(words, size=600)) + f" {index}"
        result = cache.get_or_compute(("m", text, None), lambda: analyse_sentence(loaded_model, text))
        assert result.n_tokens == loaded_model.facts.max_length  # truncated to 512
        kept.append(result.nbytes)
        assert cache.nbytes <= BUDGET
    # each 512-token analysis: 6 x 12 x 512 x 512 float32 maps + 7 x 512 x 384 hidden states
    assert kept[0] == 4 * (6 * 12 * 512 * 512 + 7 * 512 * 384)
    assert cache.nbytes == 2 * kept[0]  # two fit in 200 MB, the older six were dropped
    del result
    gc.collect()
    assert _rss_bytes() - before < BUDGET + 150 * 2**20  # the budget, plus one forward's working memory


def test_a_cached_result_is_shared_read_only_and_recomputed_only_when_missing(loaded_model):
    cache = SharedCache(BUDGET)
    calls = []

    def compute():
        calls.append(1)
        return analyse_sentence(loaded_model, "it was too tired")

    first = cache.get_or_compute(("m", "it", None), compute)
    second = cache.get_or_compute(("m", "it", None), compute)
    assert first is second and len(calls) == 1
    with pytest.raises(ValueError):
        first.attn[0, 0, 0, 0] = 1.0


def test_sessions_asking_for_the_same_key_at_once_share_one_computation():
    cache: SharedCache[np.ndarray] = SharedCache(BUDGET)
    calls = []
    gate = threading.Barrier(8)
    results = [None] * 8

    def compute():
        calls.append(1)
        time.sleep(0.3)  # long enough for every other thread to arrive while this one computes
        return np.arange(4.0)

    def session(index: int) -> None:
        gate.wait()
        results[index] = cache.get_or_compute(("same",), compute)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert all(r is results[0] for r in results)
    assert cache.nbytes == 4 * 8  # four float64 values
    other = cache.get_or_compute(("other",), lambda: np.zeros(2))
    assert other.tolist() == [0.0, 0.0] and len(cache) == 2


def test_a_failed_computation_is_not_cached_and_the_next_caller_tries_again():
    cache: SharedCache[np.ndarray] = SharedCache(BUDGET)

    def fail():
        raise RuntimeError("model down")

    with pytest.raises(RuntimeError):
        cache.get_or_compute(("k",), fail)
    assert len(cache) == 0 and cache.nbytes == 0
    assert cache.get_or_compute(("k",), lambda: np.ones(3)).tolist() == [1.0, 1.0, 1.0]
