"""AppTest of the "Attention is not explanation" page: live lab on both models, bad input, saved statistics."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "not_explanation.py")


def _run(**state):
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.run()
    if "ne_model" in state:
        at.radio(key="ne_model").set_value(state.pop("ne_model"))
        at.run()
    for key, value in state.items():
        (at.text_area if key == "ne_text" else at.multiselect)(key=key).set_value(value)
    if state:
        at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _chart_specs(at):
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


def _dataset(named):
    import pyarrow as pa

    return pa.ipc.open_stream(named.data.data).read_all().to_pandas()


def _metric(at, label):
    return next(m for m in at.metric if m.label == label)


def test_bilstm_lab_shows_permutations_adversary_and_contrasts():
    at = _run()
    assert "BiLSTM" in at.radio(key="ne_model").value
    median = float(_metric(at, "Median |change|, 100 permutations").value)
    assert 0 <= median <= 1
    jsd = float(_metric(at, "JSD from the learned attention").value)
    assert 0 <= jsd <= 0.6932
    assert float(_metric(at, "|change in P(positive)|").value) <= 0.01 + 1e-4
    specs = _chart_specs(at)
    assert len(specs) >= 2
    assert all(spec.get("width") != 0 for spec in specs)
    # the histogram holds exactly the 100 permutations
    hist = at.get("vega_lite_chart")[0]
    assert "after permuting" in hist.proto.spec
    assert max(len(_dataset(d)) for d in hist.proto.datasets) == 100
    assert any("uniform" in str(df.value) for df in at.dataframe)


def test_minilm_lab_with_chosen_heads():
    at = _run(ne_model="MiniLM + trained head (a transformer)", ne_text="I really love this car", ne_heads=[0, 4])
    assert at.selectbox(key="ne_layer").value == 5
    assert float(_metric(at, "|change in P(positive)|").value) <= 0.01 + 1e-4
    assert "2 head(s)" in " ".join(c.value for c in at.caption)


@pytest.mark.parametrize(
    "text, expect",
    [
        ("   ", "empty"),
        ("bad " * 2500, "first 64 tokens"),
        ("🚗🔥😡", "[UNK]"),
        ("<script>alert('x')</script> <b>great</b> car", None),
    ],
)
def test_bad_input_gives_a_message_not_a_traceback(text, expect):
    at = _run(ne_text=text)
    messages = " ".join(str(m.value) for m in list(at.warning) + list(at.info) + list(at.error))
    if expect:
        assert expect in messages
    assert not any("<script>" in str(m.value) for m in at.markdown)


def test_no_heads_chosen_is_a_warning():
    at = _run(ne_model="MiniLM + trained head (a transformer)", ne_heads=[])
    assert any("at least one head" in str(w.value) for w in at.warning)


def test_saved_statistics_and_published_numbers_side_by_side():
    at = _run()
    tables = [df.value for df in at.dataframe]
    tau_table = next(t for t in tables if "Kendall tau" in t.columns and "J&W: BiLSTM on SST (published)" in t.columns)
    assert "0.35 ± 0.21 (0.49)" in tau_table["J&W: BiLSTM on SST (published)"].tolist()
    assert tau_table["ours: BiLSTM on tweets"].str.match(r"-?\d\.\d\d ± \d\.\d\d \(\d\.\d\d\)").all()
    assert any("uniform" in m.label for m in at.metric)
    text = " ".join(str(m.value) for m in at.markdown)
    assert "Jain & Wallace are right" in text and "Wiegreffe & Pinter are right" in text


def test_recompute_on_a_small_sample():
    at = _run()
    at.slider(key="ne_sample_n").set_value(3)
    at.button(key="ne_recompute").click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    recomputed = [df.value for df in at.dataframe if "mean ± std (significant)" in df.value.columns]
    assert recomputed and len(recomputed[0]) == 6


def test_picking_a_held_out_tweet_fills_the_text_box():
    at = _run()
    options = at.selectbox(key="ne_example").options
    assert len(options) >= 5
    at.selectbox(key="ne_example").set_value(options[2])
    at.run()
    assert not at.exception
    assert at.text_area(key="ne_text").value == options[2]


def test_a_missing_minilm_head_is_explained_and_shared_with_the_gradient_pages(monkeypatch, tmp_path):
    """The lab takes the MiniLM head from the same cached loader as the gradient pages."""
    import ui.classifier_cache as cache

    monkeypatch.setattr(cache.get_classifier_head, "__defaults__", (tmp_path / "no_head.safetensors",))
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("not trained yet" in i.value and "train_classifiers" in i.value for i in at.info)
    assert not at.get("vega_lite_chart")
