"""AppTest for the gradient x attention, rollout/flow and faithfulness pages."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from lessonkit.analysis import analyse_sentence
from lessonkit.attention_flow import attention_flow, normalise_rows
from lessonkit.rollout import attention_rollout, fuse_heads, residual_matrices

TIMEOUT = 180
REPO = Path(__file__).resolve().parent.parent


def _page(name: str) -> AppTest:
    return AppTest.from_file(str(REPO / "pages" / name), default_timeout=TIMEOUT)


def _charts(at):
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


def _chart_rows(at, title_part: str) -> tuple[dict, list[dict]]:
    """(spec, data rows) of the first chart whose title contains title_part."""
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        if title_part in json.dumps(spec.get("title")):
            rows = [row for rows in spec.get("datasets", {}).values() for row in rows]
            for dataset in chart.proto.datasets:
                rows += convert_arrow_bytes_to_pandas_df(dataset.data.data).to_dict("records")
            return spec, rows
    raise AssertionError(f"no chart titled like {title_part!r}")


def _no_errors(at):
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _every_chart_has_tooltips(at):
    specs = _charts(at)
    assert specs
    for spec in specs:
        assert "tooltip" in json.dumps(spec), spec.get("title")


def test_rollout_flow_page_shows_the_lesson_numbers(loaded_model):
    at = _page("rollout_flow.py").run()
    _no_errors(at)
    _every_chart_has_tooltips(at)
    text = at.text_input(key="rf_text").value
    # the row bars: raw, rollout and normalised flow of [CLS] after the last layer, against our own computation
    attn = analyse_sentence(loaded_model, text).attn
    expected_rollout = attention_rollout(attn)[-1, 0]
    expected_flow = normalise_rows(attention_flow(residual_matrices(fuse_heads(attn)), [0]))[0]
    _, rows = _chart_rows(at, "gets its information")
    by_method = {}
    for row in rows:
        by_method.setdefault(row["method"], {})[row["position"]] = row["share"]
    rollout_values = np.array([by_method["rollout (mean of heads)"][i] for i in range(len(expected_rollout))])
    flow_values = np.array([by_method["flow (normalised)"][i] for i in range(len(expected_flow))])
    np.testing.assert_allclose(rollout_values, expected_rollout, atol=1e-6)
    np.testing.assert_allclose(flow_values, expected_flow, atol=1e-4)

    # moving the layer slider and choosing another row changes the view without errors
    at.slider(key="rf_layer").set_value(2).run()
    at.selectbox(key="rf_position").set_value(3).run()
    _no_errors(at)
    bars, rows = _chart_rows(at, "gets its information")
    assert "after layer 2" in json.dumps(bars["title"])
    rows = [r for r in rows if r["method"] == "rollout (mean of heads)"]
    np.testing.assert_allclose(
        [r["share"] for r in sorted(rows, key=lambda r: r["position"])], attention_rollout(attn)[1, 3], atol=1e-6
    )


def test_rollout_flow_page_refuses_bad_input_with_a_message():
    at = _page("rollout_flow.py").run()
    at.text_input(key="rf_text").set_value("   ").run()
    assert not at.exception
    assert any("empty" in w.value for w in at.warning)
    at.text_input(key="rf_text").set_value("word " * 300).run()
    assert not at.exception
    assert any("at most" in w.value for w in at.warning)


def test_rollout_flow_page_gradient_weighted_option():
    at = _page("rollout_flow.py").run()
    at.radio(key="rf_source").set_value("MiniLM sentiment classifier").run()
    _no_errors(at)
    at.toggle(key="rf_gradient").set_value(True).run()
    _no_errors(at)
    assert any("gradient-weighted rollout" in json.dumps(spec.get("title")) for spec in _charts(at))


def test_gradient_page_runs_and_shows_rankings():
    at = _page("gradient_attention.py").run()
    _no_errors(at)
    _every_chart_has_tooltips(at)
    labels = [m.label for m in at.metric]
    assert any("Gradient × attention vs ablation" in label for label in labels)
    assert any("Pattern strength vs ablation" in label for label in labels)
    for metric in at.metric:
        assert -1.0 <= float(metric.value) <= 1.0
    table = at.dataframe[0].value
    assert len(table) == 72
    at.slider(key="ga_layer").set_value(1).run()
    at.slider(key="ga_head").set_value(5).run()
    # layers and heads are shown counted from 1: slider value 1 is the first layer
    spec = " ".join(str(c.proto.spec) for c in at.get("vega_lite_chart"))
    assert "Attention A, layer 1 head 5" in spec
    assert set(table["name"]) == {f"L{l} H{h}" for l in range(1, 7) for h in range(1, 13)}
    at.toggle(key="ga_signed").set_value(True).run()
    _no_errors(at)
    at.text_input(key="ga_text").set_value("").run()
    assert not at.exception and any("empty" in w.value for w in at.warning)


def test_gradient_page_explains_a_missing_head(monkeypatch, tmp_path):
    import ui.classifier_cache as cache

    monkeypatch.setattr(cache.get_classifier_head, "__defaults__", (tmp_path / "no_head.safetensors",))
    at = _page("gradient_attention.py").run()
    assert not at.exception
    assert any("not trained yet" in i.value for i in at.info)
    assert not at.get("vega_lite_chart")


def test_faithfulness_page_shows_saved_and_live_measurements():
    from scipy.stats import spearmanr

    at = _page("faithfulness.py").run()
    _no_errors(at)
    _every_chart_has_tooltips(at)
    saved = json.loads((REPO / "results" / "faithfulness.json").read_text())
    # the by-layer chart shows the saved means, beside the published subject-verb agreement numbers
    _, rows = _chart_rows(at, "Agreement with blank-out by layer")
    ours = {(r["family"], r["layer"]): r["spearman"] for r in rows if r["source"].startswith("ours")}
    assert ours[("rollout", 6)] == pytest.approx(saved["summary"]["rollout_L6"]["blank_out"]["mean"])
    assert ours[("flow", 3)] == pytest.approx(saved["summary"]["flow_L3"]["blank_out"]["mean"])
    theirs = {(r["family"], r["layer"]): r["spearman"] for r in rows if r["source"].startswith("Abnar")}
    assert theirs[("flow", 3)] == pytest.approx(0.70) and theirs[("raw attention", 3)] == pytest.approx(-0.11)

    # one sentence: the correlation shown equals Spearman of the token scores shown
    _, token_rows = _chart_rows(at, "token importance")
    frame = pd.DataFrame(token_rows).pivot(index="position", columns="method", values="share")
    _, corr_rows = _chart_rows(at, "for this sentence")
    shown = {(r["method"], r["yardstick"]): r["spearman"] for r in corr_rows}
    expected = spearmanr(frame["grad x attention"], frame["blank out"]).statistic
    assert shown[("grad x attention", "blank-out")] == pytest.approx(expected, abs=1e-9)

    at.radio(key="fa_reference").set_value("input_gradient").run()
    _no_errors(at)
    at.text_input(key="fa_text").set_value("word " * 60).run()
    assert not at.exception and any("at most 40" in w.value for w in at.warning)
