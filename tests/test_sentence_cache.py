"""The per-sentence cache is bounded by bytes: many long texts keep the process under a budget."""
from __future__ import annotations

import gc

import numpy as np
import pytest

from lessonkit.analysis import analyse_sentence
from ui.models import SentenceCache

BUDGET = 200 * 2**20


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096


def test_many_long_sentences_stay_within_the_byte_budget(loaded_model):
    cache = SentenceCache(BUDGET)
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
    cache = SentenceCache(BUDGET)
    calls = []

    def compute():
        calls.append(1)
        return analyse_sentence(loaded_model, "it was too tired")

    first = cache.get_or_compute(("m", "it", None), compute)
    second = cache.get_or_compute(("m", "it", None), compute)
    assert first is second and len(calls) == 1
    with pytest.raises(ValueError):
        first.attn[0, 0, 0, 0] = 1.0
