"""Checkpoint comparison: per-head JS divergence, the fine-tuned MiniLM rebuilt from its deltas, BiLSTM seeds."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import jensenshannon

from lessonkit import bilstm_classifier as bc
from lessonkit import checkpoint_comparison as cc
from lessonkit.classifier_scores import BiLSTMScorer
from lessonkit.sentiment_data import load_sentiment_split
from lessonkit.transformer_classifier import load_head
from lessonkit.uses_results import UsesResultsError


@pytest.fixture(scope="module")
def split():
    return load_sentiment_split()


@pytest.fixture(scope="module")
def tuned(loaded_model):
    return cc.load_finetuned(loaded_model)


def test_head_jsd_equals_scipy_row_by_row():
    rng = np.random.default_rng(0)
    layers, heads, t = 2, 3, 5
    a = rng.dirichlet(np.ones(t), size=(layers, heads, t))
    b = rng.dirichlet(np.ones(t), size=(layers, heads, t))
    grid = cc.head_jsd(a, b)
    for lay in range(layers):
        for h in range(heads):
            rows = [jensenshannon(a[lay, h, i], b[lay, h, i]) ** 2 for i in range(t)]
            assert grid[lay, h] == pytest.approx(sum(rows) / t, rel=1e-12)
    # known values: disjoint one-hot rows diverge by ln 2 nats; identical rows by 0
    one_hot = np.eye(2)[None, None]  # rows [1, 0] and [0, 1]
    assert cc.head_jsd(one_hot, one_hot[..., ::-1])[0, 0] == pytest.approx(math.log(2))
    assert cc.head_jsd(one_hot, one_hot)[0, 0] == 0.0


def test_top_heads_are_numbered_from_one():
    grid = np.zeros((6, 12))
    grid[5, 0], grid[4, 11], grid[5, 3] = 0.3, 0.2, 0.1
    assert cc.top_heads(grid, 3) == [(6, 1, 0.3), (5, 12, 0.2), (6, 4, 0.1)]


def test_finetuned_model_is_base_plus_stored_deltas(loaded_model, tuned):
    from safetensors import safe_open

    base = dict(loaded_model.model.named_parameters())
    rebuilt = dict(tuned.loaded.model.named_parameters())
    with safe_open(str(cc.FINETUNED_FILE), framework="pt") as handle:
        stored = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118 (not a dict)
    changed = {k.removeprefix("delta.") for k in stored if k.startswith("delta.")}
    assert changed == {n for n in base if n.startswith(("encoder.layer.4.", "encoder.layer.5."))}
    for name, value in base.items():
        if name in changed:
            assert torch.equal(rebuilt[name], value + stored[f"delta.{name}"].float()), name
        else:
            assert torch.equal(rebuilt[name], value), name
    assert rebuilt["encoder.layer.5.output.dense.weight"].data_ptr() != base["encoder.layer.5.output.dense.weight"].data_ptr()
    assert torch.equal(tuned.head.weight, stored["head.weight"])
    assert cc.FINETUNED_FILE.stat().st_size < 8_000_000


def test_grid_is_zero_below_the_finetuned_layers(loaded_model, tuned, split):
    grid = cc.head_jsd_grid(loaded_model, load_head(), tuned.loaded, tuned.head, split.test_texts[:3])
    assert grid.shape == (6, 12)
    assert np.all(grid[:4] == 0.0)  # layers 1-4 were not trained: identical attention
    assert np.all(grid[4:] > 0.0)
    # and by hand for one tweet, one head, with scipy
    text = split.test_texts[0]
    a = cc.attention_maps(loaded_model, load_head(), text)[5, 2]
    b = cc.attention_maps(tuned.loaded, tuned.head, text)[5, 2]
    one = cc.head_jsd_grid(loaded_model, load_head(), tuned.loaded, tuned.head, [text])
    assert one[5, 2] == pytest.approx(np.mean([jensenshannon(p, q) ** 2 for p, q in zip(a, b)]), rel=1e-9)


def test_finetuned_accuracy_reproduces_on_sample(loaded_model, tuned, split):
    n = 150
    right = 0
    for text, label in zip(split.test_texts[:n], split.test_labels[:n]):
        encoded = loaded_model.tokenizer(text, return_tensors="pt")
        with torch.no_grad():
            pooled = tuned.loaded.model(**encoded).last_hidden_state[0].mean(0)
        right += int((pooled @ tuned.head.weight.T + tuned.head.bias).argmax()) == label
    from lessonkit.classifier_scores import MiniLMScorer, accuracy

    batched = MiniLMScorer("fine-tuned", tuned.loaded, tuned.head).probabilities(split.test_texts[:n])
    assert right / n == accuracy(batched, split.test_labels[:n])
    results = cc.load_checkpoint_results()  # the whole test split, measured by the statistics script
    assert results.finetuned_accuracy == pytest.approx(float(tuned.info["held_out_accuracy"]), abs=5e-5)
    assert results.base_accuracy == pytest.approx(float(load_head().metadata["held_out_accuracy"]), abs=5e-5)


def test_tiny_finetune_learns_and_is_deterministic(loaded_model, split):
    from lessonkit.transformer_classifier import SentimentHead

    d = loaded_model.facts.d_model
    zero = SentimentHead(weight=torch.zeros(2, d), bias=torch.zeros(2), metadata={})
    settings = cc.FinetuneSettings(n_train=96, epochs=2, batch_size=16, lr_head=1e-2)
    deltas_a, head_a, _ = cc.finetune(loaded_model, zero, split.train_texts, split.train_labels, settings)
    deltas_b, head_b, _ = cc.finetune(loaded_model, zero, split.train_texts, split.train_labels, settings)
    assert torch.equal(head_a.weight, head_b.weight)
    assert all(torch.equal(deltas_a[k], deltas_b[k]) for k in deltas_a)
    model = cc.apply_deltas(loaded_model, deltas_a)
    from lessonkit.classifier_scores import MiniLMScorer, accuracy

    p = MiniLMScorer("tiny", model, head_a).probabilities(split.test_texts[:200])
    assert accuracy(p, split.test_labels[:200]) > 0.6  # chance is 0.5; it started from a zero head


def test_seed_jsd_matches_a_per_tweet_loop(loaded_model, split):
    texts = split.test_texts[:40]
    one = BiLSTMScorer("seed 1", bc.load_bilstm(bc.MAIN_FILE)[0], loaded_model.tokenizer)
    two = BiLSTMScorer("seed 2", bc.load_bilstm(bc.SEED2_FILE)[0], loaded_model.tokenizer)
    comparison = cc.seed_comparison(one, two, texts)
    for i, text in enumerate(texts):
        s = bc.encode_sentence(loaded_model.tokenizer, text)
        with torch.no_grad():
            p1, a1 = one.model(s.ids, s.mask)
            p2, a2 = two.model(s.ids, s.mask)
        expected = jensenshannon(a1[0].double().numpy(), a2[0].double().numpy()) ** 2
        assert comparison["jsd"][i] == pytest.approx(expected, rel=1e-4, abs=1e-9)
        assert comparison["output_change"][i] == pytest.approx(abs(float(p1[0]) - float(p2[0])), abs=1e-5)


def test_results_file_and_its_loader(tmp_path):
    results = cc.load_checkpoint_results()
    assert len(results.jsd_grid) == 6 and all(len(row) == 12 for row in results.jsd_grid)
    assert results.finetuned_layer_numbers == [5, 6]
    best = results.top_heads[0]
    assert results.jsd_grid[best.layer_number - 1][best.head_number - 1] == best.js_divergence
    assert max(max(row) for row in results.jsd_grid) == best.js_divergence
    assert results.seeds.n_tweets == len(results.seeds.js_divergence) == results.n_test
    assert results.seeds.median_js_divergence == pytest.approx(np.median(results.seeds.js_divergence), abs=1e-4)
    assert cc.RESULTS_FILE.stat().st_size < 300_000
    broken = tmp_path / "uses_checkpoints.json"
    broken.write_bytes(cc.RESULTS_FILE.read_bytes()[:-40])
    with pytest.raises(UsesResultsError, match=r"uses_checkpoints\.json is corrupt.*--only checkpoints"):
        cc.load_checkpoint_results(broken)


def test_missing_or_foreign_finetuned_file(loaded_model, tmp_path):
    with pytest.raises(cc.CheckpointError, match=r"missing\.safetensors is missing.*scripts\.finetune_minilm"):
        cc.load_finetuned(loaded_model, tmp_path / "missing.safetensors")
    from lessonkit.transformer_classifier import SentimentHead

    foreign = tmp_path / "foreign.safetensors"
    head = SentimentHead(weight=torch.zeros(2, 4), bias=torch.zeros(2), metadata={})
    cc.save_finetuned({}, head, {"model": "bert-base-uncased"}, foreign)
    with pytest.raises(cc.CheckpointError, match="fine-tuned from bert-base-uncased"):
        cc.load_finetuned(loaded_model, foreign)
