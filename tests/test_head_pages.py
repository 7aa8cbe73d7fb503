"""AppTest runs of the head pages: views, deep links, bad input, and no model rerun on view changes."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parent.parent
EXPLORER = str(REPO / "pages" / "head_explorer.py")
FINDER = str(REPO / "pages" / "head_finder.py")
ACCURACY = str(REPO / "pages" / "head_accuracy.py")
SHORT = "The cat sat on the mat."


def charts(at) -> list[dict]:
    """Each chart's spec, with the rows Streamlit sends apart (as Arrow) put back under '_rows'."""
    import pyarrow as pa

    specs = []
    for element in at.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        rows = []
        if element.proto.data.data:
            rows += pa.ipc.open_stream(element.proto.data.data).read_all().to_pylist()
        for dataset in element.proto.datasets:
            rows += pa.ipc.open_stream(dataset.data.data).read_all().to_pylist()
        spec["_rows"] = rows
        specs.append(spec)
    return specs


def head_views(at) -> list[dict]:
    """What each head view component on the page was given (ui.charts.head_view.head_view_data)."""
    return [json.loads(element.proto.json) for element in at.get("bidi_component")
            if element.proto.component_name == "lessonkit_head_view"]


def lines_of(data: dict) -> list[dict]:
    """A head view's lines as rows h, i (query), j (key), w."""
    flat = data["links"]
    return [dict(zip("hijw", flat[k : k + 4])) for k in range(0, len(flat), 4)]


def rows_of(spec: dict) -> list[dict]:
    """Every data row of a chart: rows sent apart, top-level datasets, inline values of the chart and its layers."""
    rows = list(spec.get("_rows", []))
    rows += [row for values in spec.get("datasets", {}).values() for row in values]
    for part in [spec, *spec.get("layer", [])]:
        rows += part.get("data", {}).get("values", [])
    return rows


def no_exceptions(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def explorer(**params) -> AppTest:
    at = AppTest.from_file(EXPLORER, default_timeout=120)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


@pytest.fixture
def count_model_calls(monkeypatch):
    """Counts calls of the model (analyse_sentence as used by ui.models), with an empty sentence cache."""
    import ui.models

    calls = []
    real = ui.models.analyse_sentence

    def counting(*args, **kwargs):
        calls.append(args[1:])
        return real(*args, **kwargs)

    ui.models._sentence_cache.clear()
    monkeypatch.setattr(ui.models, "analyse_sentence", counting)
    yield calls
    ui.models._sentence_cache.clear()


def test_changing_layer_head_view_and_words_never_reruns_the_model(count_model_calls):
    at = explorer(text=SHORT)
    no_exceptions(at)
    first = len(count_model_calls)  # this sentence, and the guided example and its twin
    assert first == 3
    at.slider(key="hx_layer").set_value(5).run()
    at.multiselect(key="hx_heads").set_value([2, 7]).run()
    for view in ("heatmap", "model", "lines", "heatmap"):
        at.radio(key="hx_view").set_value(view).run()
        no_exceptions(at)
    at.toggle(key="hx_words").set_value(True).run()
    at.slider(key="hx_layer").set_value(1).run()
    no_exceptions(at)
    assert len(count_model_calls) == first, count_model_calls
    # a new sentence does run it (so the counter can see calls at all)
    at.text_area(key="hx_text").set_value("Dogs bark.").run()
    no_exceptions(at)
    assert len(count_model_calls) == first + 1


def test_head_lines_show_the_models_strongest_link_per_token(loaded_model):
    from lessonkit.analysis import analyse_sentence

    at = explorer(text=SHORT, layer="2", head="9", view="lines")
    no_exceptions(at)
    (view,) = head_views(at)
    attn = analyse_sentence(loaded_model, SHORT).attn[1, 8]  # layer 2, head 9 (1-indexed)
    lines = lines_of(view)
    assert lines
    best = {}
    for row in lines:
        if row["w"] > best.get(row["i"], (None, -1))[1]:
            best[row["i"]] = (row["j"], row["w"])
    for i in range(attn.shape[0]):
        j = int(np.argmax(attn[i]))
        assert best[i][0] == j
        assert best[i][1] == pytest.approx(float(attn[i, j]), abs=1e-4)


def test_selecting_a_query_token_keeps_only_its_lines():
    at = explorer(text=SHORT, layer="2", head="9,10", view="lines")
    at.selectbox(key="hx_focus").set_value(3).run()
    no_exceptions(at)
    (view,) = head_views(at)
    lines = lines_of(view)
    assert lines and {row["i"] for row in lines} == {3}
    assert {row["h"] for row in lines} == {0, 1}  # both heads drawn, named in the view's heads
    assert view["heads"] == ["L2-H9", "L2-H10"]
    assert at.query_params["query"] in ("4", ["4"])  # 1-based in the URL


def test_deep_link_restores_the_view_and_the_url_follows_changes():
    at = explorer(text=SHORT, layer="2", head="9,10", view="heatmap", words="1")
    no_exceptions(at)
    assert at.text_area(key="hx_text").value == SHORT
    assert at.slider(key="hx_layer").value == 2
    assert at.multiselect(key="hx_heads").value == [9, 10]
    assert at.radio(key="hx_view").value == "heatmap"
    assert at.toggle(key="hx_words").value is True
    specs = charts(at)
    assert len(specs) == 2  # one heatmap per head
    assert specs[0]["title"].startswith("L2-H9") and specs[1]["title"].startswith("L2-H10")
    at.slider(key="hx_layer").set_value(4).run()
    assert at.query_params["layer"] == ["4"] or at.query_params["layer"] == "4"
    # out-of-range and junk values fall back to something valid instead of failing
    at2 = explorer(text=SHORT, layer="99", head="x,0,13,3", view="nonsense")
    no_exceptions(at2)
    assert at2.slider(key="hx_layer").value == 6
    assert at2.multiselect(key="hx_heads").value == [3]
    assert at2.radio(key="hx_view").value == "lines"


def test_heatmap_cells_are_the_models_weights(loaded_model):
    from lessonkit.analysis import analyse_sentence

    at = explorer(text=SHORT, layer="1", head="3", view="heatmap")
    (spec,) = charts(at)
    sentence = analyse_sentence(loaded_model, SHORT)
    n = sentence.n_tokens
    cells = {(row["row"], row["column"]): row["weight"] for row in rows_of(spec) if "row" in row}
    assert len(cells) == n * n
    for i in range(n):
        for j in range(n):
            label_i, label_j = f"{i}: {sentence.tokens[i]}", f"{j}: {sentence.tokens[j]}"
            assert cells[(label_i, label_j)] == pytest.approx(float(sentence.attn[0, 2, i, j]), abs=6e-5)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 25_000, "limit"),
    ],
)
def test_refused_input_gives_a_message(text, expected):
    at = explorer(text="placeholder")
    at.text_area(key="hx_text").set_value(text).run()
    no_exceptions(at)
    assert any(expected in w.value for w in at.warning), [w.value for w in at.warning]
    assert not at.get("vega_lite_chart")


def test_long_emoji_and_html_input_is_shown_as_data():
    text = ("The <script>alert('x')</script> & \"quoted\" 🙂 text. " * 250)[:10_000]
    at = explorer(text=text)
    no_exceptions(at)
    assert any("only the first 512" in w.value for w in at.warning)
    at.radio(key="hx_view").set_value("heatmap").run()
    no_exceptions(at)
    assert at.slider(key="hx_row_start").value == 0  # long input: rows in windows
    assert len(at.get("image")) >= 1  # and an overview image of the whole map
    at.radio(key="hx_view").set_value("lines").run()
    (view,) = head_views(at)
    tokens = view["tokens"]
    assert "<" in tokens and "script" in tokens and "&" in tokens  # kept as text (head_view.js sets textContent)
    assert len(tokens) == 512
    at.radio(key="hx_view").set_value("model").run()
    no_exceptions(at)


def test_compare_view_fills_in_the_winograd_twin():
    at = explorer(text="The animal didn't cross the street because it was too tired.", view="compare", words="1")
    no_exceptions(at)
    assert at.text_input(key="hx_twin").value == "The animal didn't cross the street because it was too wide."
    specs = charts(at)
    assert len(specs) == 3  # both maps and their difference
    assert specs[2]["title"].endswith("second minus first")
    assert len(at.get("download_button")) == 6  # PNG and SVG under each of the three charts
    at.selectbox(key="hx_probe").set_value("coreference: it -> trophy (big)").run()
    no_exceptions(at)
    assert at.text_area(key="hx_text").value == "The trophy didn't fit in the bag because it was too big."
    assert at.text_input(key="hx_twin").value == "The trophy didn't fit in the bag because it was too small."


def test_layer_and_heads_survive_an_empty_sentence():
    at = explorer(text=SHORT, layer="2", head="9,10")
    no_exceptions(at)
    at.text_area(key="hx_text").set_value("").run()
    no_exceptions(at)
    assert at.slider(key="hx_layer").value == 2 and at.multiselect(key="hx_heads").value == [9, 10]
    at.text_area(key="hx_text").set_value("Dogs bark at night.").run()
    no_exceptions(at)
    assert at.slider(key="hx_layer").value == 2 and at.multiselect(key="hx_heads").value == [9, 10]
    (view,) = head_views(at)
    assert view["heads"] == ["L2-H9", "L2-H10"]
    assert at.query_params["head"] in ("9,10", ["9,10"]) and at.query_params["layer"] in ("2", ["2"])
    at.radio(key="hx_view").set_value("heatmap").run()  # the next interaction keeps the heads too
    assert [s["title"][:6] for s in charts(at)] == ["L2-H9 ", "L2-H10"]


def test_probe_dropdown_names_the_typed_sentence_and_the_twin_follows():
    at = explorer(text="The animal didn't cross the street because it was too tired.", view="compare")
    assert at.selectbox(key="hx_probe").value != "✏️ my own sentence"
    assert at.query_params["twin"] in ("The animal didn't cross the street because it was too wide.",
                                       ["The animal didn't cross the street because it was too wide."])
    at.text_area(key="hx_text").set_value("My own words here.").run()
    no_exceptions(at)
    assert at.selectbox(key="hx_probe").value == "✏️ my own sentence"
    assert at.text_input(key="hx_twin").value == ""
    assert "twin" not in at.query_params
    at.text_area(key="hx_text").set_value("The trophy didn't fit in the bag because it was too big.").run()
    assert at.text_input(key="hx_twin").value == "The trophy didn't fit in the bag because it was too small."
    at.radio(key="hx_view").set_value("lines").run()
    assert "twin" not in at.query_params  # not comparing: no twin in the link


def test_hiding_special_tokens_renormalises_the_heatmap(loaded_model):
    from lessonkit.analysis import analyse_sentence

    at = explorer(text=SHORT, layer="1", head="3", view="heatmap", hide="1")
    no_exceptions(at)
    (spec,) = charts(at)
    cells = {(row["row"], row["column"]): row["weight"] for row in rows_of(spec) if "row" in row}
    sentence = analyse_sentence(loaded_model, SHORT)
    kept = [i for i, t in enumerate(sentence.tokens) if t not in ("[CLS]", "[SEP]", ".")]
    assert len(cells) == len(kept) ** 2
    for a, i in enumerate(kept):
        total = sum(float(sentence.attn[0, 2, i, j]) for j in kept)
        for b, j in enumerate(kept):
            label_i, label_j = f"{a}: {sentence.tokens[i]}", f"{b}: {sentence.tokens[j]}"
            assert cells[(label_i, label_j)] == pytest.approx(float(sentence.attn[0, 2, i, j]) / total, abs=2e-6)


def test_guided_step_opens_the_named_head():
    at = explorer()
    no_exceptions(at)
    guided = next(m.value for m in at.markdown if m.value.startswith("1. Press"))
    name = guided.split("You should see **")[1].split("**")[0]
    at.button(key="hx_guided").click().run()
    no_exceptions(at)
    assert f"L{at.slider(key='hx_layer').value}-H{at.multiselect(key='hx_heads').value[0]}" == name
    assert at.toggle(key="hx_hide").value is True and at.toggle(key="hx_words").value is True


def test_head_pages_run_on_other_models(other_model_dir, monkeypatch):
    import ui.models
    from lessonkit.model import load_model

    facts = load_model(str(other_model_dir)).facts
    monkeypatch.setenv("LESSON_MODEL", str(other_model_dir))
    ui.models._load_cached_model.clear()
    try:
        for view in ("lines", "heatmap", "model", "compare"):
            at = explorer(text=SHORT, layer="6", head="3,12", view=view, hide="1", words="1")
            no_exceptions(at)
            assert at.slider(key="hx_layer").value == min(6, facts.n_layers)
        assert at.multiselect(key="hx_heads").value == [h for h in (3, 12) if h <= facts.n_heads] or [1]
        formula = AppTest.from_file(str(REPO / "pages" / "formula.py"), default_timeout=180)
        formula.query_params["layer"] = "6"
        formula.query_params["head"] = "12"
        formula.run()
        no_exceptions(formula)
        assert formula.slider(key="real_layer").value == min(6, facts.n_layers)
        assert formula.slider(key="real_head").value == min(12, facts.n_heads)
    finally:
        ui.models._load_cached_model.clear()


def test_head_finder_names_the_previous_token_head(loaded_model):
    from lessonkit.analysis import analyse_sentence

    text = "The animal didn't cross the street because it was too tired."
    at = AppTest.from_file(FINDER, default_timeout=180)
    at.query_params["text"] = text
    at.run()
    no_exceptions(at)
    summary = at.dataframe[0].value
    attn = analyse_sentence(loaded_model, text).attn
    n = attn.shape[-1]
    # independent: average weight on the previous token, head by head, in a plain loop
    prev = np.array([[sum(attn[l, h, i, i - 1] for i in range(1, n)) / (n - 1) for h in range(12)] for l in range(6)])
    l, h = np.unravel_index(np.argmax(prev), prev.shape)
    row = summary[summary["pattern"] == "previous token"].iloc[0]
    assert row["best head (this sentence)"].startswith(f"L{l + 1}-H{h + 1} ")
    ranking = at.dataframe[1].value
    assert len(ranking) == 72
    at.radio(key="hf_pattern").set_value("next").run()
    no_exceptions(at)
    nxt = np.array([[sum(attn[l, h, i, i + 1] for i in range(n - 1)) / (n - 1) for h in range(12)] for l in range(6)])
    l, h = np.unravel_index(np.argmax(nxt), nxt.shape)
    assert at.dataframe[1].value.iloc[0]["head"] == f"L{l + 1}-H{h + 1}"


def test_head_accuracy_page_shows_ours_beside_clark():
    at = AppTest.from_file(ACCURACY, default_timeout=300).run()
    no_exceptions(at)
    coref = at.dataframe[0].value
    assert (coref["model"].str.contains("BERT-base")).any() and (coref["model"].str.contains("ours")).any()
    clark = coref[coref["who"] == "head 5-4"].iloc[0]
    assert clark["accuracy"] == pytest.approx(0.65)
    baselines = coref[coref["who"].str.startswith("baseline: first noun")].iloc[0]
    assert baselines["accuracy"] == pytest.approx(0.5)  # twins: any fixed-position rule is right half the time
    syntax = at.dataframe[1].value
    assert set(syntax["best head"]) >= {"8-11", "8-10", "9-6"}
