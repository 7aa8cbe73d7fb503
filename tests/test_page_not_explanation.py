"""AppTest of the "Is attention an explanation?" page: the live lab on both classifiers, deep links,
the held-out-tweet picker, hostile text, bad data files, and other models."""
from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from lessonkit import bilstm_classifier as bc
from lessonkit import explanation_stats
from lessonkit import jain_wallace as jw
from lessonkit.references import JAIN_WALLACE_2019_TAU
from tests.page_apps import TIMEOUT, ok, page_app
from ui import session_keys as keys

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "not_explanation.py")


_app = functools.partial(page_app, PAGE)
_ok = ok


def _metric(at, start):
    return next(m.value for m in at.metric if m.label.startswith(start))


def _chart_data(at, title_part):
    import pyarrow as pa

    for chart in at.get("vega_lite_chart"):
        if title_part in chart.proto.spec:
            return [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in chart.proto.datasets]
    raise AssertionError(f"no chart with {title_part!r}")


@pytest.fixture(scope="module")
def default_page():
    return _ok(_app().run())


def _bilstm_by_hand(text: str) -> tuple[float, np.ndarray]:
    """(P(positive), P(positive) under each of the 100 shuffles), one decode per shuffle."""
    model, _ = bc.load_bilstm(bc.MAIN_FILE)
    s = bc.encode_sentence(bc.shipped_tokenizer(), text)
    with torch.no_grad():
        states = model.encode(s.ids, s.mask)
        attention = model.attention(states, s.mask)
        base = float(model.decode(states, attention)[0])
        perms = jw.permute_attention(attention.double().numpy(), s.mask[0].numpy().astype(bool), 100, seed=0)
        outputs = np.array([float(model.decode(states, torch.tensor(a, dtype=torch.float32))[0]) for a in perms])
    return base, outputs


def test_default_bilstm_lab_matches_an_independent_run(default_page):
    at = default_page
    base, outputs = _bilstm_by_hand(at.text_area(key=keys.NE_TEXT).value)
    assert float(_metric(at, "P(positive) →")) == pytest.approx(base, abs=6e-4)
    assert float(_metric(at, "Median |change|")) == pytest.approx(np.median(np.abs(outputs - base)), abs=6e-5)
    flips = int(((outputs > 0.5) != (base > 0.5)).sum())
    assert _metric(at, "Shuffles flipping") == f"{flips} / 100"
    assert float(_metric(at, "|change in P(positive)|")) <= jw.OUTPUT_TOLERANCE
    (histogram,) = [d for d in _chart_data(at, "after permuting") if len(d) == 100]
    np.testing.assert_allclose(np.sort(histogram["change"]), np.sort(np.abs(outputs - base)), atol=1e-5)
    # the default is predicted right (negative), so no "wrong prediction" warning
    assert base < 0.5 and not any("wrong" in w.value for w in at.warning)
    # try-this quotes the same live numbers
    try_this = " ".join(m.value for m in at.markdown if "Try this" in m.value or "Keep the default" in m.value)
    assert f"{np.median(np.abs(outputs - base)):.3f}" in try_this


def test_published_numbers_and_the_reply(default_page):
    at = default_page
    tables = [df.value for df in at.dataframe]
    tau_table = next(t for t in tables if "J&W: BiLSTM on SST (published)" in t.columns)
    sst = JAIN_WALLACE_2019_TAU["SST"]["attention~gradient"]
    assert f"{sst.mean:.2f} ± {sst.std:.2f} ({sst.fraction_significant:.2f})" in tau_table.iloc[:, 1].tolist()
    stats = json.loads(explanation_stats.RESULTS_FILE.read_text())
    assert _metric(at, "Attention frozen uniform") == f"{stats['bilstm']['uniform_held_out_accuracy']:.1%}"
    text = " ".join(m.value for m in at.markdown)
    assert f"{stats['bilstm']['summary']['median_seed_jsd']:.2f}" in text and "Seed variance" in text


def test_deep_link_opens_the_transformer_lab_at_layer_one_with_progress_and_an_explanation():
    at = _ok(_app(classifier="transformer", layer="1", heads="1,5", tweet="3").run())
    assert at.selectbox(key=keys.NE_LAYER).value == 1
    assert at.multiselect(key=keys.NE_HEADS).value == [1, 5]
    assert at.text_area(key=keys.NE_TEXT).value == at.selectbox(key=keys.NE_EXAMPLE).value
    assert float(_metric(at, "|change in P(positive)|")) <= jw.OUTPUT_TOLERANCE
    assert any("Why shuffles can flip" in e.label for e in at.expander)
    assert "layer 1, 2 head(s)" in " ".join(c.value for c in at.caption)
    # an out-of-range layer is clamped to the model's last one
    clamped = _ok(_app(classifier="transformer", layer="99", heads="0,77").run())
    assert clamped.selectbox(key=keys.NE_LAYER).value == 6
    assert clamped.multiselect(key=keys.NE_HEADS).value == list(range(1, 13))


def test_the_tweet_picker_lets_go_once_the_learner_types():
    at = _ok(_app().run())
    options = at.selectbox(key=keys.NE_EXAMPLE).options
    at.selectbox(key=keys.NE_EXAMPLE).set_value(options[2]).run()
    _ok(at)
    assert at.text_area(key=keys.NE_TEXT).value == options[2]
    assert at.query_params["tweet"] == "3" and "text" not in at.query_params
    at.text_area(key=keys.NE_TEXT).set_value("my own words about a lovely day").run()
    _ok(at)
    assert at.selectbox(key=keys.NE_EXAMPLE).value is None
    assert "tweet" not in at.query_params and at.query_params["text"] == "my own words about a lovely day"


def test_a_wrong_prediction_is_called_wrong(monkeypatch):
    """Labelled sentences carry their label; when the shown prediction differs, the page says so."""
    from ui import jain_wallace_lab

    right = _ok(_app().run())
    assert not any("prediction is wrong" in w.value for w in right.warning)
    monkeypatch.setattr(jain_wallace_lab, "DEFAULT_LABEL", 1)  # the default review, labelled positive
    at = _ok(_app().run())
    assert any("prediction is wrong" in w.value and "positive" in w.value for w in at.warning)


def test_hostile_text_is_drawn_as_text_never_as_html():
    hostile = "<script>alert('x')</script> <b>great</b> car"
    at = _ok(_app(text=hostile).run())
    assert at.text_area(key=keys.NE_TEXT).value == hostile
    # the tokens of the hostile text were drawn: in the chart's data, as plain strings
    (tokens,) = {tuple(d["token"].unique()) for d in _chart_data(at, "word piece") if "token" in d}
    assert any("script" in t for t in tokens) and any("<" in t for t in tokens)
    # and nowhere as HTML: no element that may hold raw HTML carries any of it (st.html included)
    html_elements = [m for m in list(at.markdown) + list(at.caption) if m.proto.allow_html] + list(at.get("html"))
    assert not any("script" in str(m.proto) or "<b>" in str(m.proto) for m in html_elements)


@pytest.mark.parametrize("text, expect", [("   ", "empty"), ("bad " * 2500 + "🚗", "first 64 tokens")])
def test_bad_input_gives_a_message(text, expect):
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    at.text_area(key=keys.NE_TEXT).set_value(text).run()
    _ok(at)
    assert expect in " ".join(str(m.value) for m in list(at.warning) + list(at.info))


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_a_bad_statistics_file_is_named_and_the_lab_still_works(monkeypatch, tmp_path, damage):
    path = tmp_path / explanation_stats.RESULTS_FILE.name
    if damage == "truncated":
        data = explanation_stats.RESULTS_FILE.read_text()
        path.write_text(data[: len(data) // 3])
    monkeypatch.setattr(explanation_stats.load_explanation_stats, "__defaults__", (path,))
    at = _ok(_app().run())
    infos = [i.value for i in at.info]
    assert any(path.name in i and explanation_stats.REBUILD_COMMAND in i for i in infos), infos
    assert _metric(at, "Median |change|")


def test_a_missing_bilstm_disables_only_its_part(monkeypatch, tmp_path):
    from ui import models

    monkeypatch.setitem(models.BILSTM_FILES, "learned", tmp_path / bc.MAIN_FILE.name)
    at = _ok(_app().run())
    warnings = " ".join(w.value for w in at.warning)
    assert bc.MAIN_FILE.name in warnings and bc.REBUILD_COMMAND in warnings
    at.radio(key=keys.NE_MODEL).set_value("transformer").run()
    _ok(at)
    assert float(_metric(at, "|change in P(positive)|")) <= jw.OUTPUT_TOLERANCE


def test_other_models_run_the_page(monkeypatch, other_model_dir):
    """The BiLSTM part is unchanged on another model; the transformer part uses a head trained for it."""
    from ui import models
    from ui.jain_wallace_lab import DEFAULT_TEXT

    base, outputs = _bilstm_by_hand(DEFAULT_TEXT)
    bilstm_median = f"{np.median(np.abs(outputs - base)):.4f}"
    monkeypatch.setenv("LESSON_MODEL", str(other_model_dir))
    models._load_cached_model.clear()
    try:
        at = _ok(_app(classifier="bilstm", layer="40", heads="3,99").run())
        assert _metric(at, "Median |change|") == bilstm_median
        at.radio(key=keys.NE_MODEL).set_value("transformer").run()
        _ok(at)
        config = json.loads((other_model_dir / "config.json").read_text())
        assert at.selectbox(key=keys.NE_LAYER).options == [str(i) for i in range(1, config["num_hidden_layers"] + 1)]
        assert float(_metric(at, "|change in P(positive)|")) <= jw.OUTPUT_TOLERANCE
    finally:
        models._load_cached_model.clear()


def test_recomputing_on_a_few_tweets_shows_a_table_for_both_classifiers():
    from ui import session_keys

    at = _ok(_app().run())
    at.slider(key=session_keys.NE_SAMPLE_N).set_value(3).run()
    at.button(key=session_keys.NE_RECOMPUTE).click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[-1].value
    assert len(table) == 6  # three agreement pairs for each of the two classifiers
    assert set(table["model"]) == {"ours: BiLSTM on tweets", "ours: all-MiniLM-L6-v2 on tweets"}
