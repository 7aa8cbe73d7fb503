"""AppTest for the start page and the attention-formula page, through the real navigation."""
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lessonkit.model import MODEL_SETTING_ENV
from ui import session_keys as keys

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")


def open_page(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180).run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric_values(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_home_page_names_the_model_and_the_bert_base_caveat():
    at = open_page()
    metrics = metric_values(at)
    assert metrics["Layers"] == "6" and metrics["Heads per layer"] == "12" and metrics["Heads in all"] == "72"
    info = " ".join(i.value for i in at.info)
    assert "BERT-base" in info and "12 layers × 12" in info
    assert any("all-MiniLM-L6-v2" in m.value.replace("\\", "") for m in at.sidebar.markdown)  # markdown escapes


def test_formula_page_real_head_agrees_with_the_model():
    at = open_page("pages/formula.py")
    metrics = metric_values(at)
    assert float(metrics["Largest |by hand − model|, this head"]) < 1e-5
    assert float(metrics["… over all 72 heads"]) < 1e-5
    assert any("agree to better than 1e-5" in s.value for s in at.success)


def toy_weights_table(at):
    frames = [d.value for d in at.dataframe]
    frame = next(f for f in frames if "row sum" in getattr(getattr(f, "data", f), "columns", []))
    return getattr(frame, "data", frame)  # a Styler shows its DataFrame as .data


def divisor_text(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Divided by**"))


def test_formula_toy_widgets_change_what_is_shown():
    at = open_page("pages/formula.py")
    before = toy_weights_table(at)["largest weight"].to_numpy().copy()
    assert "√4 = 2.00" in divisor_text(at)

    at.slider(key=keys.TOY_D_K).set_value(9).run()
    assert "√9 = 3.00" in divisor_text(at)
    after = toy_weights_table(at)["largest weight"].to_numpy()
    assert before.shape == after.shape and not (before == after).all()

    at.toggle(key=keys.TOY_SCALED).set_value(False).run()
    assert "scaling off" in divisor_text(at)
    sums = toy_weights_table(at)["row sum"].to_numpy()
    assert abs(sums - 1).max() < 1e-9

    at.slider(key=keys.TOY_TOKENS).set_value(6).run()
    assert len(toy_weights_table(at)) == 6


@pytest.mark.parametrize(
    "text, expected",
    [("   ", "empty"), ("word " * 3000, "only the first 512"), ('<script>alert(1)</script> 😀 & "quotes"', None)],
)
def test_formula_page_bad_input_gives_a_message_not_a_traceback(text, expected):
    at = open_page("pages/formula.py")
    at.text_input(key=keys.FORMULA_TEXT).set_value(text).run()
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    if expected:
        assert expected in warnings
    else:
        assert float(metric_values(at)["Largest |by hand − model|, this head"]) < 1e-5


def test_missing_model_gives_a_clear_message(monkeypatch, tmp_path):
    monkeypatch.setenv(MODEL_SETTING_ENV, str(tmp_path / "gone"))
    at = open_page()
    errors = " ".join(e.value for e in at.error)
    assert "could not be loaded" in errors and MODEL_SETTING_ENV in errors
    assert re.search(r"Attention, visualized", " ".join(t.value for t in at.title))


def test_sidebar_stays_complete_when_a_page_stops_on_bad_input():
    at = open_page("pages/head_explorer.py")
    at.text_area(key=next(t.key for t in at.text_area if t.label == "Sentence")).set_value("").run()
    assert not at.exception and any("empty" in w.value for w in at.warning)
    sidebar = " ".join(m.value for m in at.sidebar.markdown).replace("\\", "")  # markdown escapes
    assert "all-MiniLM-L6-v2" in sidebar
