"""Faithfulness measures: blank-out, per-method token scores, correlations, the script and its saved result."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from lessonkit.attention_flow import reference_flow
from lessonkit.faithfulness import (
    RESULT_FILE,
    ResultsFileError,
    TokenImportance,
    agreement_by_layer,
    blank_out_importance,
    load_results,
    method_family,
    method_name,
    summarise,
    token_importance,
)
from lessonkit.model import LoadedModel
from lessonkit.transformer_classifier import SentimentHead, classifier_forward


@pytest.fixture(scope="module")
def toy():
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=30, hidden_size=8, num_hidden_layers=3, num_attention_heads=2, intermediate_size=16,
        max_position_embeddings=16,
    )
    torch.manual_seed(2)
    model = BertModel._from_config(config, attn_implementation="eager", add_pooling_layer=False).double().eval()
    generator = torch.Generator().manual_seed(4)
    head = SentimentHead(torch.randn(2, 8, generator=generator, dtype=torch.float64) * 3, torch.zeros(2, dtype=torch.float64), {})
    ids = [1, 5, 7, 9, 11, 2]
    encoded = {
        "input_ids": torch.tensor([ids]),
        "attention_mask": torch.ones(1, len(ids), dtype=torch.long),
        "token_type_ids": torch.zeros(1, len(ids), dtype=torch.long),
    }
    tokens = ["[CLS]", "a", "b", "c", "d", "[SEP]"]
    return LoadedModel(tokenizer=None, model=model, facts=None), head, encoded, tokens


def _probability(loaded, head, encoded, target):
    with torch.no_grad():
        logits, _ = classifier_forward(loaded, head, encoded)
    return float(torch.softmax(logits, -1)[0, target])


def test_blank_out_equals_one_masked_forward_per_token_and_hides_the_token(toy):
    loaded, head, encoded, _ = toy
    target = 1
    scores = blank_out_importance(loaded, head, encoded, target)
    base = _probability(loaded, head, encoded, target)
    n = encoded["input_ids"].shape[1]
    for j in range(n):
        masked = {k: v.clone() for k, v in encoded.items()}
        masked["attention_mask"][0, j] = 0
        p_masked = _probability(loaded, head, masked, target)
        assert scores[j] == pytest.approx(abs(base - p_masked), abs=1e-12)
        # masked out means invisible: another word in that slot gives the very same probability
        swapped = {k: v.clone() for k, v in masked.items()}
        swapped["input_ids"][0, j] = 20
        assert _probability(loaded, head, swapped, target) == pytest.approx(p_masked, abs=1e-12)
    assert scores.max() > 1e-7


def test_token_importance_methods_against_independent_computations(toy):
    loaded, head, encoded, tokens = toy
    result = token_importance(loaded, head, encoded, tokens, flow_layers=[1, 2, 3])
    with torch.no_grad():
        attentions = loaded.model(**encoded, output_attentions=True).attentions
    attn = torch.stack(attentions)[:, 0].numpy()  # layers x heads x q x k
    # raw attention of layer 2: heads averaged, then averaged over the query rows
    np.testing.assert_allclose(result.scores["raw_L2"], attn[1].mean(0).mean(0), atol=1e-12)
    # flow of layers 1..3 averaged over output positions, against networkx's per-pair max-flows
    mean_heads = attn.mean(1)
    per_layer = (mean_heads + np.eye(6)) / 2
    per_layer = per_layer / per_layer.sum(-1, keepdims=True)
    np.testing.assert_allclose(result.scores["flow_L3"], reference_flow(per_layer).mean(0), atol=1e-5)
    np.testing.assert_allclose(result.scores["flow_L1"], per_layer[0].mean(0), atol=1e-12)
    # rollout of 2 layers by hand
    np.testing.assert_allclose(result.scores["rollout_L2"], (per_layer[1] @ per_layer[0]).mean(0), atol=1e-12)
    # [CLS] and [SEP] are left out of the correlations
    np.testing.assert_array_equal(result.content, [False, True, True, True, True, False])
    assert set(result.scores) >= {"grad_x_attention", "input_gradient", "blank_out"}
    for values in result.scores.values():
        assert values.shape == (6,)


def test_correlations_use_content_tokens_only():
    # Content tokens (positions 1..4) rank identically in both methods; the special positions would
    # reverse the agreement if they were counted.
    scores = {
        "method": np.array([100.0, 1, 2, 3, 4, -100]),
        "blank_out": np.array([-100.0, 10, 20, 30, 40, 100]),
        "input_gradient": np.array([0.0, 4, 3, 2, 1, 0]),
    }
    importance = TokenImportance(
        tokens=["[CLS]", "a", "b", "c", "d", "[SEP]"], scores=scores,
        content=np.array([False, True, True, True, True, False]), probabilities=np.array([0.4, 0.6]), predicted=1,
    )
    correlations = importance.correlations()
    assert correlations["method"]["blank_out"] == pytest.approx(1.0)
    assert correlations["method"]["input_gradient"] == pytest.approx(-1.0)
    assert math.isnan(correlations["blank_out"]["blank_out"])


def test_summarise_by_hand_skips_undefined_correlations():
    rows = [
        {"m": {"blank_out": 0.5, "input_gradient": float("nan")}},
        {"m": {"blank_out": -0.1, "input_gradient": 0.3}},
        {"m": {"blank_out": 0.2, "input_gradient": 0.1}},
    ]
    summary = summarise(rows)["m"]
    assert summary["blank_out"]["mean"] == pytest.approx(0.2)
    assert summary["blank_out"]["median"] == pytest.approx(0.2)
    assert summary["blank_out"]["std"] == pytest.approx(np.std([0.5, -0.1, 0.2]))
    assert summary["input_gradient"] == pytest.approx({"mean": 0.2, "std": 0.1, "median": 0.2, "n": 2})


def test_method_family_and_learner_names():
    assert method_family("raw_L3") == "raw attention"
    assert method_family("rollout_L6") == "rollout"
    assert method_family("flow_L5") == "flow"
    assert method_family("input_gradient") == "input_gradient"
    assert method_name("flow_L5") == "flow, layer 5"
    assert method_name("grad_x_attention") == "gradient × attention"
    assert method_name("blank_out") == "blank-out"


def test_script_on_a_tiny_sample(tmp_path, loaded_model):
    """Two tweets: the summary is the mean of the per-tweet rows, and blank-out is a loop of masked forwards."""
    from lessonkit.transformer_classifier import load_head
    from scripts.compute_faithfulness import main

    output = tmp_path / "faithfulness.json"
    result = main(["--sentences", "2", "--flow-layers", "1", "3", "--output", str(output)])
    saved = load_results(output)  # what the page reads validates
    raw = json.loads(output.read_text())
    assert saved.n_sentences == 2 == len(raw["per_sentence"]) == result["n_sentences"]
    assert "flow_L3" in saved.summary and "flow_L6" not in saved.summary
    rows = [row["raw_L6"]["blank_out"] for row in raw["per_sentence"]]
    assert saved.summary["raw_L6"]["blank_out"].mean == pytest.approx(np.mean(rows), abs=1e-5)
    assert "NaN" not in output.read_text()
    example = raw["examples"][0]
    head = load_head()
    encoded = loaded_model.tokenizer(example["text"], return_tensors="pt")
    predicted = ["negative", "positive"].index(example["predicted"])
    base = _probability(loaded_model, head, encoded, predicted)
    for j in range(len(example["tokens"])):
        masked = {k: v.clone() for k, v in encoded.items()}
        masked["attention_mask"][0, j] = 0
        expected = abs(base - _probability(loaded_model, head, masked, predicted))
        assert example["scores"]["blank_out"][j] == pytest.approx(expected, abs=6e-6)  # saved to 5 decimals


def test_committed_result_validates_and_covers_a_real_sample():
    saved = load_results(RESULT_FILE)
    assert saved.n_sentences >= 100
    for method in ["raw_L1", "raw_L6", "rollout_L6", "flow_L6", "grad_x_attention", "input_gradient"]:
        assert saved.summary[method]["blank_out"].n >= 50
    rows = agreement_by_layer(saved, "blank_out")
    assert {r["source"] for r in rows} == {"ours", "Abnar & Zuidema"}
    assert {r["family"] for r in rows if r["source"] == "ours"} == {"raw attention", "rollout", "flow"}


def test_missing_or_truncated_results_name_the_file_and_the_command(tmp_path):
    with pytest.raises(ResultsFileError, match=r"results/nothing.json is missing.*scripts.compute_faithfulness"):
        load_results(tmp_path / "nothing.json")
    truncated = tmp_path / "faithfulness.json"
    truncated.write_text(RESULT_FILE.read_text()[:5000])
    with pytest.raises(ResultsFileError, match=r"results/faithfulness.json is damaged.*scripts.compute_faithfulness"):
        load_results(truncated)
    incomplete = json.loads(RESULT_FILE.read_text())
    del incomplete["summary"]["raw_L6"]["blank_out"]
    truncated.write_text(json.dumps(incomplete))
    with pytest.raises(ResultsFileError, match="no complete summary"):
        load_results(truncated)
