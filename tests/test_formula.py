"""The toy attention and the scaling simulation against the formula written out by hand."""
import math

import numpy as np
import pytest

from lessonkit.formula import attention_steps, random_toy_vectors, softmax_peakedness


def by_hand(queries, keys, values, scale=True):
    n, d_k = len(queries), len(queries[0])
    weights = []
    for i in range(n):
        scores = [sum(queries[i][c] * keys[j][c] for c in range(d_k)) / (math.sqrt(d_k) if scale else 1.0)
                  for j in range(n)]
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        weights.append([e / sum(exps) for e in exps])
    outputs = [[sum(weights[i][j] * values[j][c] for j in range(n)) for c in range(len(values[0]))]
               for i in range(n)]
    return np.array(weights), np.array(outputs)


def test_toy_steps_match_the_formula():
    queries, keys, values = random_toy_vectors(5, 7, 3, seed=11)
    for scale in (True, False):
        steps = attention_steps(queries, keys, values, scale=scale)
        weights, outputs = by_hand(queries.tolist(), keys.tolist(), values.tolist(), scale)
        np.testing.assert_allclose(steps.weights, weights, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(steps.output, outputs, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(steps.scores, queries @ keys.T)
        assert steps.d_k == 7


def test_hand_picked_example():
    # q . k = [2, 0] with d_k = 1: softmax([2, 0]) = [e^2, 1] / (e^2 + 1)
    steps = attention_steps(np.array([[1.0]]), np.array([[2.0], [0.0]]),
                            np.array([[1.0], [0.0]]))
    assert steps.weights.shape == (1, 2)
    assert math.isclose(steps.weights[0, 0], math.e**2 / (math.e**2 + 1), rel_tol=1e-12)
    assert math.isclose(steps.output[0, 0], steps.weights[0, 0], rel_tol=1e-12)


def test_rows_are_on_the_simplex():
    steps = attention_steps(*random_toy_vectors(6, 64, 2, seed=3))
    assert (steps.weights >= 0).all()
    np.testing.assert_allclose(steps.weights.sum(axis=1), 1.0, atol=1e-12)


def test_peakedness_shows_why_we_scale():
    frame = softmax_peakedness([1, 16, 256], n_keys=10, n_draws=400, seed=0).set_index(["d_k", "scaling"])
    top = frame["mean largest weight"]
    # at d_k = 1 dividing by sqrt(1) changes nothing
    assert math.isclose(top[(1, "divided by sqrt(d_k)")], top[(1, "not scaled")], rel_tol=1e-12)
    # without scaling the softmax saturates as d_k grows; with it, it does not
    assert top[(256, "not scaled")] > 0.9 > top[(256, "divided by sqrt(d_k)")]
    assert top[(1, "not scaled")] < top[(16, "not scaled")] < top[(256, "not scaled")]
    assert abs(top[(256, "divided by sqrt(d_k)")] - top[(16, "divided by sqrt(d_k)")]) < 0.05
    assert (frame["uniform entropy (nats)"] == math.log(10)).all()
    assert (frame["mean entropy (nats)"] <= math.log(10) + 1e-12).all()


def test_peakedness_entropy_against_an_independent_draw():
    frame = softmax_peakedness([8], n_keys=4, n_draws=200, seed=5)
    rng = np.random.default_rng(5)
    q = rng.standard_normal((200, 1, 8))
    k = rng.standard_normal((200, 4, 8))
    dots = np.einsum("nod,nkd->nk", q, k) / math.sqrt(8)
    p = np.exp(dots - dots.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    expected = float((-(p * np.log(p)).sum(1)).mean())
    got = frame.query("scaling == 'divided by sqrt(d_k)'")["mean entropy (nats)"].item()
    assert math.isclose(got, expected, rel_tol=1e-9)


# --- the page, under AppTest ---------------------------------------------------------------

FORMULA_PAGE = str(__import__("pathlib").Path(__file__).resolve().parent.parent / "pages" / "formula.py")


def _chart_rows(element) -> list[dict]:
    import json

    import pyarrow as pa

    spec = json.loads(element.proto.spec)
    rows = [row for values in spec.get("datasets", {}).values() for row in values]
    for dataset in element.proto.datasets:
        rows += pa.ipc.open_stream(dataset.data.data).read_all().to_pylist()
    return rows


def test_neuron_view_on_the_page_is_the_models_row(loaded_model):
    from streamlit.testing.v1 import AppTest

    from lessonkit.analysis import analyse_sentence

    text = "The cat sat on the mat because it was warm."
    at = AppTest.from_file(FORMULA_PAGE, default_timeout=300)
    at.query_params.update({"text": text, "layer": "4", "head": "7", "query": "9"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert (at.slider(key="real_layer").value, at.slider(key="real_head").value) == (4, 7)
    assert at.selectbox(key="real_query").value == 8  # 1-based in the URL, 0-based on the page
    row = analyse_sentence(loaded_model, text).attn[3, 6, 8]
    weights = {}
    for element in at.get("vega_lite_chart"):
        for r in _chart_rows(element):
            if "weight" in r and "key" in r:  # the neuron view's softmax bars
                weights[int(r["key"].split(":")[0])] = r["weight"]
    assert len(weights) == len(row)
    for position, weight in weights.items():
        assert weight == pytest.approx(float(row[position]), abs=1e-4)


def test_formula_page_deep_link_is_clamped_and_bad_text_is_a_message():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(FORMULA_PAGE, default_timeout=300)
    at.query_params.update({"layer": "99", "head": "-4", "query": "9999"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert (at.slider(key="real_layer").value, at.slider(key="real_head").value) == (6, 1)
    at.text_input(key="real_text").set_value("").run()
    assert not at.exception and any("empty" in w.value for w in at.warning)
    assert at.slider(key="real_layer").value == 6  # kept through the empty sentence
    hostile = ("<script>alert(1)</script> 🙂 & it " * 1200)[:19_990]
    at.text_input(key="real_text").set_value(hostile).run()
    assert not at.exception, [e.value for e in at.exception]
