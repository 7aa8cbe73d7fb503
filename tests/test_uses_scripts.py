"""The training and statistics scripts of the "uses of attention" experiments, on tiny subsets (nothing committed is touched)."""
from __future__ import annotations

import pytest

from lessonkit.sentiment_data import load_sentiment_split


@pytest.fixture(scope="module")
def tiny():
    return load_sentiment_split().tiny(400, 200)


def test_train_artifact_on_tiny_subset_beats_chance(loaded_model, tiny):
    from lessonkit import artifact as ar
    from scripts.train_artifact import train

    before = {p: p.stat().st_mtime for p in (ar.ARTIFACT_BILSTM_FILE, ar.ARTIFACT_HEAD_FILE)}
    out = train(tiny, head_steps=300, save=False, log=lambda *_: None)
    bilstm, info = out["bilstm"]
    head, head_info = out["minilm"]
    assert float(info["held_out_accuracy"]) > 0.6  # chance is 0.5 on the balanced split
    assert float(head_info["held_out_accuracy"]) > 0.6
    assert info["artifact_token"] == head_info["artifact_token"] == "~"
    assert {p: p.stat().st_mtime for p in before} == before  # save=False wrote nothing


def test_finetune_script_on_tiny_subset(tiny):
    from lessonkit.checkpoint_comparison import FINETUNED_FILE, FinetuneSettings
    from scripts.finetune_minilm import run

    before = FINETUNED_FILE.stat().st_mtime
    tuned, info = run(tiny, FinetuneSettings(n_train=48, epochs=1), save=False, log=lambda *_: None)
    assert float(info["held_out_accuracy"]) > 0.6
    assert info["finetuned_layers"] == "5,6" and info["n_train"] == "48"
    assert FINETUNED_FILE.stat().st_mtime == before


def test_compute_uses_stats_parts_round_trip(loaded_model, tmp_path):
    """Each part of the statistics script on a few tweets, written and read back through the loaders."""
    from lessonkit import artifact as ar
    from lessonkit import checkpoint_comparison as cc
    from lessonkit import error_analysis as ea
    from lessonkit.uses_results import save_results
    from scripts.compute_uses_stats import compute_artifact, compute_checkpoints, compute_errors

    small = load_sentiment_split().tiny(50, 30)
    artifact = compute_artifact(loaded_model, small, 4, 4)
    save_results(tmp_path / "a.json", artifact)
    assert ar.load_artifact_results(tmp_path / "a.json") == artifact
    assert [m.n_test for m in artifact.models] == [30] * 4
    checkpoints = compute_checkpoints(loaded_model, small, n_jsd=2)
    save_results(tmp_path / "c.json", checkpoints)
    assert cc.load_checkpoint_results(tmp_path / "c.json").n_jsd_tweets == 2
    errors = compute_errors(loaded_model, small)
    save_results(tmp_path / "e.json", errors)
    assert ea.load_error_results(tmp_path / "e.json").texts == errors.texts
