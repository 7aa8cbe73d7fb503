"""The head statistics the two deep-dive head pages read: batched forwards against single ones,
the precompute script against a separate loop, the saved file against a fresh run, and the loader's
messages for a missing, truncated or foreign file."""
from __future__ import annotations

import json

import numpy as np
import pytest

import lessonkit.head_stats as head_stats
from lessonkit.analysis import analyse_sentence
from lessonkit.head_stats import (
    HeadStatsFileError,
    batched_attention,
    compute_head_stats,
    is_shipped_model,
    load_head_stats,
)
from lessonkit.probes import load_coreference_items, load_probes, load_syntax_arcs

REBUILD = "python -m scripts.compute_head_stats"


def test_padded_batches_give_the_maps_of_single_forwards(loaded_model):
    inputs = [("Hi.", None), ("The animal didn't cross the street because it was too tired.", None),
              ("Where is the cat?", "It is under the table, asleep."), ("Unbelievably, tokenisation splits words.", None)]
    batched = batched_attention(loaded_model, inputs, batch_size=3)  # a batch with a pair and padding, then one
    for (text, pair), maps in zip(inputs, batched):
        single = analyse_sentence(loaded_model, text, pair)
        assert maps.tokens == single.tokens and maps.word_ids == single.word_ids
        assert maps.segment_ids == single.segment_ids
        np.testing.assert_allclose(maps.attn, single.attn, atol=2e-6)


def test_script_on_a_tiny_sample_matches_a_separate_loop(loaded_model, monkeypatch, tmp_path):
    from scripts import compute_head_stats

    probes = load_probes()[:3]
    items = [i for i in load_coreference_items() if i.pair == 1]  # the animal / street twins
    arcs = load_syntax_arcs()[:12]
    monkeypatch.setattr(head_stats, "load_probes", lambda: probes)
    monkeypatch.setattr(head_stats, "load_coreference_items", lambda: tuple(items))
    monkeypatch.setattr(head_stats, "load_syntax_arcs", lambda: tuple(arcs))
    monkeypatch.setattr("lessonkit.model.load_model", lambda setting=None: loaded_model)
    output = tmp_path / "head_stats.json"
    compute_head_stats.main(["--output", str(output), "--batch-size", "2"])
    record = json.loads(output.read_text())

    # separate loop: one forward per sentence, scores written out by hand
    previous, cls = np.zeros((6, 12)), np.zeros((6, 12))
    for probe in probes:
        s = analyse_sentence(loaded_model, probe.text, probe.text_pair)
        n = s.n_tokens
        for l in range(6):
            for h in range(12):
                previous[l, h] += sum(s.attn[l, h, i, i - 1] for i in range(1, n)) / (n - 1) / len(probes)
                cls[l, h] += sum(s.attn[l, h, i, 0] for i in range(n)) / n / len(probes)
    np.testing.assert_allclose(record["library"]["previous"], previous, atol=1e-5)
    np.testing.assert_allclose(record["library"]["cls"], cls, atol=1e-5)
    for index, item in enumerate(items):  # every word here is one token: word maps = token maps
        s = analyse_sentence(loaded_model, item.text)
        pronoun = s.tokens.index(item.pronoun)
        a, b = (s.tokens.index(c) for c in item.candidates)
        truth = a if item.antecedent == item.candidates[0] else b
        other = b if truth == a else a
        expected = (s.attn[:, :, pronoun, truth] > s.attn[:, :, pronoun, other]).astype(int)
        assert np.array_equal(np.array(record["coreference_correct"][index]), expected)
    stats = load_head_stats(loaded_model.facts, output)  # the file the script wrote validates
    assert stats.coreference.n_items == 2 and stats.n_probes == 3


def test_saved_file_is_current_for_the_shipped_model(loaded_model):
    assert is_shipped_model(loaded_model.facts)
    saved = load_head_stats(loaded_model.facts)
    fresh = compute_head_stats(loaded_model)
    for name, values in fresh.library.items():
        np.testing.assert_allclose(saved.library[name], values, atol=2e-6)
    assert np.array_equal(saved.coreference.correct, fresh.coreference.correct)
    for key, result in fresh.syntax.items():
        np.testing.assert_allclose(saved.syntax[key].accuracy, result.accuracy)
        assert saved.syntax[key].best_offset == result.best_offset


def test_loader_names_the_file_and_the_command(loaded_model, tmp_path):
    path = tmp_path / "head_stats.json"
    with pytest.raises(HeadStatsFileError, match="results/head_stats.json is missing") as missing:
        load_head_stats(loaded_model.facts, path)
    assert REBUILD in str(missing.value)
    text = head_stats.RESULT_FILE.read_text()
    path.write_text(text[: len(text) // 2])  # truncated
    with pytest.raises(HeadStatsFileError, match="damaged or incomplete") as truncated:
        load_head_stats(loaded_model.facts, path)
    assert "results/head_stats.json" in str(truncated.value) and REBUILD in str(truncated.value)
    record = json.loads(text)
    record["library"]["previous"] = record["library"]["previous"][:-1]  # a row missing
    path.write_text(json.dumps(record))
    with pytest.raises(HeadStatsFileError, match="damaged"):
        load_head_stats(loaded_model.facts, path)
    record = json.loads(text)
    record["n_layers"] = 2
    path.write_text(json.dumps(record))
    with pytest.raises(HeadStatsFileError, match="another model"):
        load_head_stats(loaded_model.facts, path)
