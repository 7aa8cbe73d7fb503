"""The start-up warm-up (ui/warm_up.py) fills the caches a class hits first, so nobody pays for them."""
from __future__ import annotations

from lessonkit import jain_wallace as jw
from lessonkit.transformer_classifier import class_probabilities
from ui import jain_wallace_lab as lab
from ui import models
from ui.warm_up import FIRST_SENTENCE, warm_up


def test_warm_up_leaves_the_first_sentence_and_the_labs_default_in_the_shared_caches():
    warm_up()
    loaded = models._load_cached_model(models.configured_model_setting())
    assert models._sentence_cache().get((loaded.facts.source, FIRST_SENTENCE, None)) is not None
    head = models._shipped_head(models._file_key(models.HEAD_FILE))
    last, every = loaded.facts.n_layers - 1, tuple(range(loaded.facts.n_heads))
    key = (loaded.facts.source, head.metadata.get("held_out_accuracy"), lab.DEFAULT_TEXT, last, every)
    cached = lab._transformer_cache().get(key)
    assert cached is not None
    result, truncated = cached
    assert not truncated
    # its starting point is the classifier's own prediction for that text (an ordinary forward)
    encoded = loaded.tokenizer(lab.DEFAULT_TEXT, return_tensors="pt")
    expected = float(class_probabilities(loaded, head, encoded)[0, 1].detach())
    assert abs(result.base_output - expected) < 1e-6
    assert len(result.permutation.outputs) == jw.N_PERMUTATIONS
