"""AppTest for the gradient x attention, rollout/flow and faithfulness pages.

Numbers shown are checked against computations written here (a rollout loop, networkx max-flow,
scipy's Spearman); deep links restore the view; other model shapes run without an exception.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from streamlit.testing.v1 import AppTest

from lessonkit.analysis import analyse_sentence
from lessonkit.attention_flow import reference_flow

TIMEOUT = 300
REPO = Path(__file__).resolve().parent.parent
LONG_TEXT = "Emoji 😀🎉 and <script>alert(1)</script> " * 500  # about 20,000 characters


def _page(name: str, **params: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "pages" / name), default_timeout=TIMEOUT)
    for key, value in params.items():
        at.query_params[key] = value
    return at


def _chart_rows(at, title_part: str) -> tuple[dict, list[dict]]:
    """(spec, data rows) of the first chart whose title contains title_part."""
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        if title_part in json.dumps(spec.get("title"), ensure_ascii=False):
            rows = [row for rows in spec.get("datasets", {}).values() for row in rows]
            for dataset in chart.proto.datasets:
                rows += convert_arrow_bytes_to_pandas_df(dataset.data.data).to_dict("records")
            return spec, rows
    raise AssertionError(f"no chart titled like {title_part!r}")


def _no_errors(at):
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _rollout_by_hand(attn: np.ndarray, fuse) -> np.ndarray:
    n = attn.shape[-1]
    product, out = np.eye(n), []
    for layer in attn.astype(np.float64):
        step = fuse(layer) + np.eye(n)
        product = (step / step.sum(1, keepdims=True)) @ product
        out.append(product)
    return np.stack(out)


def _per_layer_by_hand(attn: np.ndarray) -> np.ndarray:
    step = attn.astype(np.float64).mean(1) + np.eye(attn.shape[-1])
    return step / step.sum(-1, keepdims=True)


def test_rollout_page_numbers_deep_link_and_max_fusion(loaded_model):
    at = _page("rollout_flow.py").run()
    _no_errors(at)
    text = at.text_input(key="rf_text").value
    attn = analyse_sentence(loaded_model, text).attn
    # the row bars of [CLS] after the last layer: rollout by a loop here, flow by networkx
    _, rows = _chart_rows(at, "draws from")
    shown = pd.DataFrame(rows).pivot(index="position", columns="method", values="share")
    np.testing.assert_allclose(shown["rollout (mean of heads)"], _rollout_by_hand(attn, lambda a: a.mean(0))[-1, 0],
                               atol=1e-6)
    flow = reference_flow(_per_layer_by_hand(attn), [0])[0]
    np.testing.assert_allclose(shown["flow (each row scaled to sum 1)"], flow / flow.sum(), atol=1e-4)
    assert not any("_" in m.value.split("\n")[0] for m in at.markdown[:1])
    # the guided step quotes live numbers: rollout's own-token share at layer 1 and at the last
    own = np.diagonal(_rollout_by_hand(attn, lambda a: a.mean(0)), axis1=1, axis2=2).mean(1)
    assert f"falls from {own[0]:.0%} to {own[-1]:.0%}" in at.info[0].value

    # max fusion: the raw panel and the rollout are both fused by max (issue 10)
    at.selectbox(key="rf_fusion").set_value("max").run()
    at.slider(key="rf_layer").set_value(2).run()
    at.selectbox(key="rf_position").set_value(4).run()
    _no_errors(at)
    _, rows = _chart_rows(at, "Raw attention, layer 2 alone (max of heads)")
    raw = pd.DataFrame(rows)
    assert raw["weight"].max() == pytest.approx(float(attn[1].max()), abs=1e-6)
    _, rows = _chart_rows(at, "draws from")
    shown = pd.DataFrame(rows).pivot(index="position", columns="method", values="share")
    np.testing.assert_allclose(shown["raw attention, layer 2"], attn[1].max(0)[3], atol=1e-6)
    np.testing.assert_allclose(shown["rollout (max of heads)"], _rollout_by_hand(attn, lambda a: a.max(0))[1, 3],
                               atol=1e-6)
    assert at.query_params["fusion"] == "max" and at.query_params["layer"] == "2"

    # the same URL on a fresh session restores the view
    fresh = _page("rollout_flow.py", **dict(at.query_params)).run()
    _no_errors(fresh)
    assert (fresh.selectbox(key="rf_fusion").value, fresh.slider(key="rf_layer").value,
            fresh.selectbox(key="rf_position").value) == ("max", 2, 4)


def test_rollout_page_gradient_weighted_and_bad_input():
    at = _page("rollout_flow.py", method="gradient", text="The movie was not bad at all, honestly.").run()
    _no_errors(at)
    _chart_rows(at, "gradient-weighted rollout, layers 1–6")
    # the model calls this positive sentence negative: the page says so
    assert any("This prediction is wrong" in w.value for w in at.warning)
    at.text_input(key="rf_text").set_value("   ").run()
    assert not at.exception and any("empty" in w.value for w in at.warning)
    at.text_input(key="rf_text").set_value("word " * 300).run()
    assert not at.exception and any("at most 128" in w.value for w in at.warning)
    at.text_input(key="rf_text").set_value(LONG_TEXT[:2000]).run()
    assert not at.exception and any("at most 128" in w.value for w in at.warning)


def test_long_url_text_is_refused_without_a_traceback():
    for page in ("rollout_flow.py", "gradient_attention.py", "faithfulness.py"):
        at = _page(page, text=LONG_TEXT, layer="99", head="-3", position="9999", fusion="median").run()
        assert not at.exception, (page, [e.message for e in at.exception])
        assert at.warning, page


def test_gradient_page_agreements_table_and_signed_view():
    at = _page("gradient_attention.py").run()
    _no_errors(at)
    # the default sentence is predicted right, and the guided step names the head that matters most
    assert not any("prediction is wrong" in w.value for w in at.warning)
    assert "The classifier says:** positive" in " ".join(m.value for m in at.markdown)
    table = at.dataframe[0].value
    assert len(table) == 72
    assert not [c for c in table.columns if "_" in c]  # learner labels, no snake_case
    metrics = {m.label: float(m.value) for m in at.metric}
    truth = table["loss change when removed"].abs()
    for score in ("gradient × attention", "pattern strength", "Taylor estimate"):
        expected = spearmanr(table[score], truth).statistic
        assert metrics[f"{score} vs removal"] == pytest.approx(expected, abs=0.006)  # shown to 2 decimals
    assert table.iloc[0]["head"] in at.info[0].value
    # the text explaining the gap quotes the two live agreements
    gap = next(m.value for m in at.markdown if m.value.startswith("Why does gradient"))
    assert f"{metrics['gradient × attention vs removal']:+.2f}" in gap and f"{metrics['Taylor estimate vs removal']:+.2f}" in gap

    at.slider(key="ga_layer").set_value(1).run()
    at.slider(key="ga_head").set_value(5).run()
    at.toggle(key="ga_signed").set_value(True).run()
    _no_errors(at)
    _chart_rows(at, "Attention A, layer 1 head 5")
    _chart_rows(at, "(A·∂y/∂A)⁺, layer 1 head 5")
    assert (at.query_params["layer"], at.query_params["head"], at.query_params["signed"]) == ("1", "5", "1")
    at.text_input(key="ga_text").set_value("").run()
    assert not at.exception and any("empty" in w.value for w in at.warning)


def test_gradient_page_says_when_an_example_is_predicted_wrong():
    at = _page("gradient_attention.py",
               text="The queue was long, but the staff were lovely and the coffee was great.").run()
    _no_errors(at)
    said = " ".join(m.value for m in at.markdown)
    predicted = re.search(r"The classifier says:\*\* (\w+)", said).group(1)
    assert (predicted == "negative") == any("This prediction is wrong" in w.value for w in at.warning)
    assert predicted == "negative"  # MiniLM + our head: 67% negative for this positive sentence


def test_faithfulness_page_saved_and_live_measurements():
    from lessonkit.faithfulness import load_results

    at = _page("faithfulness.py").run()
    _no_errors(at)
    saved = load_results()
    spec, rows = _chart_rows(at, "Agreement with blank-out by layer")
    ours = {(r["family"], r["layer"]): r["spearman"] for r in rows if r["source"] == "ours"}
    assert ours[("rollout", 6)] == pytest.approx(saved.summary["rollout_L6"]["blank_out"].mean)
    assert ours[("flow", 3)] == pytest.approx(saved.summary["flow_L3"]["blank_out"].mean)
    theirs = {(r["family"], r["layer"]): r["spearman"] for r in rows if r["source"] == "Abnar & Zuidema"}
    assert theirs[("flow", 3)] == pytest.approx(0.70) and theirs[("raw attention", 3)] == pytest.approx(-0.11)
    # the legend shows which lines are dashed, and the dashed ones exist
    dash = spec["encoding"]["strokeDash"]
    assert dash["legend"]["symbolType"] == "stroke" and [6, 4] in dash["scale"]["range"]
    assert any("(dashed)" in label for label in dash["scale"]["domain"])
    assert any("dashed" in m.value for m in at.markdown)

    # one sentence: the correlation shown equals scipy's Spearman of the token scores shown
    _, token_rows = _chart_rows(at, "token importance")
    frame = pd.DataFrame(token_rows).pivot(index="position", columns="method", values="share")
    _, corr_rows = _chart_rows(at, "this sentence")
    shown = {(r["method"], r["yardstick"]): r["spearman"] for r in corr_rows}
    expected = spearmanr(frame["gradient × attention"], frame["blank-out"]).statistic
    assert shown[("gradient × attention", "blank-out")] == pytest.approx(expected, abs=1e-9)
    best = max(corr_rows, key=lambda r: r["spearman"])
    assert best["method"] in at.info[0].value

    # input gradients: no published numbers, so no dashed line and no talk of one
    at.radio(key="fa_reference").set_value("input_gradient").run()
    _no_errors(at)
    spec, rows = _chart_rows(at, "Agreement with input gradient by layer")
    assert {r["source"] for r in rows} == {"ours"} and len(spec["encoding"]["strokeDash"]["scale"]["domain"]) == 1
    assert not any("dashed" in m.value for m in at.markdown)
    assert at.query_params["reference"] == "input_gradient"
    at.text_input(key="fa_text").set_value("word " * 60).run()
    assert not at.exception and any("at most 40" in w.value for w in at.warning)


def test_faithfulness_page_names_a_missing_result_file(monkeypatch, tmp_path):
    import lessonkit.faithfulness

    monkeypatch.setattr(lessonkit.faithfulness, "RESULT_FILE", tmp_path / "faithfulness.json")
    at = _page("faithfulness.py").run()
    _no_errors(at)
    assert any("results/faithfulness.json is missing" in i.value and "scripts.compute_faithfulness" in i.value
               for i in at.info)


@pytest.fixture
def other_model(other_model_dir, monkeypatch):
    import ui.models

    monkeypatch.setenv("LESSON_MODEL", str(other_model_dir))
    ui.models._load_cached_model.clear()
    yield other_model_dir
    ui.models._load_cached_model.clear()


def test_pages_run_on_other_models(other_model):
    """Issue 9: heads trained on the spot, URL numbers clamped to the model's layers and heads."""
    from lessonkit.model import load_model

    facts = load_model(str(other_model)).facts
    ga = _page("gradient_attention.py", layer="6", head="12", signed="1").run()
    _no_errors(ga)
    assert (ga.slider(key="ga_layer").value, ga.slider(key="ga_head").value) == (
        min(6, facts.n_layers), min(12, facts.n_heads))
    rf = _page("rollout_flow.py", layer="6", method="gradient").run()
    _no_errors(rf)
    assert rf.slider(key="rf_layer").value == min(6, facts.n_layers)
    fa = _page("faithfulness.py").run()
    _no_errors(fa)
