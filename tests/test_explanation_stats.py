"""scripts/compute_explanation_stats.py on a tiny sample, and the validation of what it writes."""
from __future__ import annotations

import json

import pytest
import torch
from scipy.spatial.distance import jensenshannon

from lessonkit import bilstm_classifier as bc
from lessonkit import explanation_stats as es


@pytest.fixture(scope="module")
def tiny_stats(tmp_path_factory):
    from scripts.compute_explanation_stats import main

    out = tmp_path_factory.mktemp("results") / "stats.json"
    main(["--bilstm-n", "2", "--transformer-n", "1", "--out", str(out)])
    return out


def test_the_script_writes_a_file_the_page_accepts_with_independently_checked_numbers(tiny_stats):
    from lessonkit.sentiment_data import load_sentiment_split

    stats = es.load_explanation_stats(tiny_stats)
    assert stats.bilstm.summary.n_sentences == 2 and stats.transformer.summary.n_sentences == 1
    main, main_info = bc.load_bilstm(bc.MAIN_FILE)
    seed2, _ = bc.load_bilstm(bc.SEED2_FILE)
    assert stats.bilstm.held_out_accuracy == pytest.approx(float(main_info["held_out_accuracy"]))
    text = load_sentiment_split().test_texts[0]
    ids = bc.shipped_tokenizer()(text, add_special_tokens=False)["input_ids"][: bc.MAX_TOKENS]
    ids_t = torch.tensor([ids])
    mask = torch.ones_like(ids_t)
    with torch.no_grad():
        a1 = main(ids_t, mask)[1][0].double().numpy()
        a2 = seed2(ids_t, mask)[1][0].double().numpy()
    row = stats.bilstm.sentences[0]
    assert row.n_tokens == len(ids)
    assert row.max_attention == pytest.approx(a1.max(), abs=1e-6)
    assert row.seed_jsd == pytest.approx(jensenshannon(a1, a2) ** 2, abs=1e-6)
    assert row.adversarial_change <= 0.01 and stats.transformer.sentences[0].adversarial_change <= 0.01
    assert stats.transformer.layer == 5 and stats.transformer.heads == list(range(12))


@pytest.mark.parametrize("cut", [0, 10, 0.5])
def test_a_missing_or_truncated_file_is_named_with_the_rebuild_command(tiny_stats, tmp_path, cut):
    path = tmp_path / "not_explanation_stats.json"
    if cut:
        data = tiny_stats.read_text()
        path.write_text(data[: int(cut if cut >= 1 else len(data) * cut)])
    with pytest.raises(es.ExplanationStatsError) as caught:
        es.load_explanation_stats(path)
    assert path.name in str(caught.value) and es.REBUILD_COMMAND in str(caught.value)


def test_a_file_without_a_pair_is_refused(tiny_stats, tmp_path):
    raw = json.loads(tiny_stats.read_text())
    del raw["transformer"]["summary"]["taus"]["gradient~leave_one_out"]
    path = tmp_path / "stats.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(es.ExplanationStatsError):
        es.load_explanation_stats(path)
