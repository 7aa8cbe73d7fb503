"""Chart builders and offline export: the lines kept, thumbnails as real PNGs, escaped text in SVG."""
from __future__ import annotations

import base64
import io

import altair as alt
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from ui.charts.common import chart_png, chart_svg, spec_dict
from ui.charts.head_grid import scores_heatmap
from ui.charts.head_view import CANVAS_LINES, head_view_data, head_view_spec, top_links
from ui.charts.heatmap import ANNOTATED_CELL, ANNOTATION_FONT, cell_text, heatmap
from ui.charts.model_view import model_view_chart

HOSTILE = ["[CLS]", "<", "script", ">", "alert", "(", '"', "x", "&", "y", '"', ")", "[SEP]"]


def decode_png(data: bytes) -> np.ndarray:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_head_view_spec_is_valid_vega_lite_with_numbers_only_in_its_lines():
    rng = np.random.default_rng(4)
    attn = rng.dirichlet(np.ones(len(HOSTILE)) * 0.3, size=(2, len(HOSTILE)))
    spec = head_view_spec(attn, HOSTILE, ["L1-H1", "L1-H2"])
    alt.LayerChart.from_dict(spec, validate=True)  # raises on anything the Vega-Lite schema refuses
    assert all(set(row) == {"h", "i", "j", "w"} for row in spec["datasets"]["links"])
    assert [row["token"] for row in spec["datasets"]["tokens"]] == HOSTILE


def test_a_head_view_with_many_lines_is_painted_on_a_canvas_and_stays_valid():
    rng = np.random.default_rng(7)
    n = 64
    attn = rng.dirichlet(np.ones(n) * 0.3, size=(12, n))  # 12 heads x 64 x 64
    many = head_view_spec(attn, [f"t{i}" for i in range(n)], [f"L1-H{h}" for h in range(1, 13)])
    # the lines kept, counted here by hand: the top 8 keys of each row that reach 0.05
    expected = sum(int((np.sort(row)[::-1][:8] >= 0.05).sum()) for head in attn for row in head)
    assert len(many["datasets"]["links"]) == expected > CANVAS_LINES
    assert many["usermeta"] == {"embedOptions": {"renderer": "canvas"}}
    alt.LayerChart.from_dict(many, validate=True)
    few = head_view_spec(attn[:1, :8, :8] / attn[:1, :8, :8].sum(-1, keepdims=True), [f"t{i}" for i in range(8)], ["L1-H1"])
    assert "usermeta" not in few  # small views stay SVG (the browser tests read their lines)


def test_the_page_head_view_draws_the_lines_of_the_downloads_as_flat_numbers():
    rng = np.random.default_rng(9)
    n = len(HOSTILE)
    attn = rng.dirichlet(np.ones(n) * 0.3, size=(3, n))
    names = ["L2-H1", "L2-H4", "L2-H7"]
    data = head_view_data(attn, HOSTILE, names, threshold=0.1, top_k=3)
    # by a separate loop: each head's and query's 3 heaviest keys that reach 0.1, weights to 4 decimals
    expected = sorted((h, i, int(j), round(float(attn[h, i, j]), 4)) for h in range(3) for i in range(n)
                      for j in np.argsort(-attn[h, i])[:3] if attn[h, i, j] >= 0.1)
    flat = data["links"]
    assert sorted((int(flat[k]), int(flat[k + 1]), int(flat[k + 2]), flat[k + 3]) for k in range(0, len(flat), 4)) == expected
    assert data["tokens"] == HOSTILE and data["heads"] == names  # text, drawn with textContent (head_view.js)
    # the same lines and the same look as the downloaded spec
    spec = head_view_spec(attn, HOSTILE, names, threshold=0.1, top_k=3)
    assert sorted((r["h"], r["i"], r["j"], r["w"]) for r in spec["datasets"]["links"]) == expected
    encoding = spec["layer"][0]["encoding"]
    assert data["style"]["stroke"] == encoding["strokeWidth"]["scale"]["range"]
    assert data["style"]["opacity"] == encoding["opacity"]["condition"]["scale"]["range"]
    assert data["style"]["dim_opacity"] == encoding["opacity"]["value"]
    assert data["colours"] == encoding["color"]["scale"]["range"]
    only = head_view_data(attn, HOSTILE, names, threshold=0.1, top_k=3, only_query=4)["links"]
    assert {int(only[k + 1]) for k in range(0, len(only), 4)} == {4}


@pytest.mark.parametrize("value, text", [(0.123, "0.12"), (-3.456, "-3.46"), (12.34, "12.3"), (-45.67, "-45.7"),
                                         (123.4, "123"), (-9.999, "-10.0"), (99.96, "100")])
def test_cell_text_is_short(value, text):
    assert cell_text(np.array([value])) == [text]


def test_annotated_numbers_fit_their_cells():
    # the widest text cell_text makes is 5 characters ("-12.3"); a digit is at most ~0.6 em wide
    rng = np.random.default_rng(5)
    texts = cell_text(rng.normal(0, 40, size=1000))
    assert max(len(t) for t in texts) <= 5
    assert 5 * 0.6 * ANNOTATION_FONT <= ANNOTATED_CELL - 6


def test_top_links_keep_the_heaviest_keys_above_the_threshold():
    rng = np.random.default_rng(1)
    attn = rng.dirichlet(np.ones(10) * 0.3, size=(2, 10))  # 2 heads x 10 x 10
    links = top_links(attn, threshold=0.1, top_k=3)
    kept = {(int(h), int(i), int(j)) for h, i, j in zip(links["h"], links["i"], links["j"])}
    want = set()
    for h in range(2):
        for i in range(10):
            order = sorted(range(10), key=lambda j: -attn[h, i, j])[:3]
            want |= {(h, i, j) for j in order if attn[h, i, j] >= 0.1}
    assert kept == want


def test_every_chart_exports_png_and_svg_offline_with_tokens_as_text():
    rng = np.random.default_rng(2)
    n = len(HOSTILE)
    attn = rng.dirichlet(np.ones(n), size=(2, 3, n))  # 2 layers x 3 heads
    charts = [
        head_view_spec(attn[0], HOSTILE, ["L1-H1", "L1-H2", "L1-H3"]),
        heatmap(attn[0, 0], HOSTILE, HOSTILE, title="a title with <b>tags</b> & more"),
        heatmap(attn[0, 0] - attn[1, 0], HOSTILE, HOSTILE, diverging=True),
        heatmap(attn[0, 0, :4, :4] * 30, HOSTILE[:4], HOSTILE[:4], annotate=True),
        model_view_chart(attn),
        scores_heatmap(attn[:, :, 0, 0], "scores"),
    ]
    for chart in charts:
        png = chart_png(chart, scale=1)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
        svg = chart_svg(chart)
        assert svg.lstrip().startswith("<svg")
        assert "<script" not in svg and "<b>" not in svg
    head_svg = chart_svg(charts[0])
    assert ">&lt;</text>" in head_svg and ">&amp;</text>" in head_svg  # drawn as text, escaped in the file
    assert "&lt;b&gt;tags&lt;/b&gt; &amp; more" in chart_svg(charts[1])


def test_model_view_thumbnails_show_the_maps():
    n = 6
    attn = np.zeros((1, 2, n, n))
    attn[0, 0, :, 0] = 1.0  # head 1: everything on the first token
    attn[0, 1] = np.eye(n)  # head 2: each token on itself
    spec = spec_dict(model_view_chart(attn, tile_px=60))
    images = [row["img"] for layer in spec["layer"] for row in layer.get("data", {}).get("values", []) if "img" in row]
    if not images:  # Altair moved the rows to top-level datasets
        images = [row["img"] for rows in spec.get("datasets", {}).values() for row in rows if "img" in row]
    assert len(images) == 2 and all(uri.startswith("data:image/png;base64,") for uri in images)
    first, second = (decode_png(base64.b64decode(uri.split(",", 1)[1])) for uri in images)
    assert first.shape == (60, 60, 3)  # 6 tokens x 10 px
    dark = lambda img: img.sum(axis=-1) < 300  # noqa: E731
    cells = lambda img: dark(img)[5::10, 5::10]  # noqa: E731  (one pixel per token cell)
    np.testing.assert_array_equal(cells(first), attn[0, 0] > 0.5)
    np.testing.assert_array_equal(cells(second), attn[0, 1] > 0.5)


def test_long_input_thumbnails_are_reduced_not_dropped():
    n = 300
    attn = np.zeros((1, 1, n, n))
    attn[0, 0, np.arange(n), np.arange(n)] = 1.0
    spec = spec_dict(model_view_chart(attn, tile_px=64))
    rows = [row for rows in spec.get("datasets", {}).values() for row in rows if "img" in row]
    rows += [row for layer in spec["layer"] for row in layer.get("data", {}).get("values", []) if "img" in row]
    image = decode_png(base64.b64decode(rows[0]["img"].split(",", 1)[1]))
    assert image.shape == (64, 64, 3)
    diagonal = image[np.arange(64), np.arange(64)].sum(axis=-1)
    off = image[np.arange(64), (np.arange(64) + 32) % 64].sum(axis=-1)
    assert (diagonal < off).all()  # the diagonal survives the block reduction


def test_chart_specs_are_built_once_per_distinct_input_and_equal_a_fresh_build():
    from ui.charts.common import cached_spec

    calls = []

    @cached_spec
    def bars(values: np.ndarray, labels: list[str], frame: pd.DataFrame) -> alt.Chart:
        calls.append(1)
        return alt.Chart(pd.DataFrame({"token": labels, "value": values})).mark_bar().encode(x="token", y="value")

    values, labels = np.array([0.2, 0.8]), ["a", "b"]
    frame = pd.DataFrame({"x": [1, 2]})
    first = bars(values, labels, frame)
    again = bars(values.copy(), list(labels), frame.copy())  # equal content, other objects
    assert again is first and len(calls) == 1
    fresh = bars.__wrapped__(values, labels, frame)
    with alt.data_transformers.disable_max_rows():
        assert first == fresh.to_dict(validate=False)
    changed = bars(np.array([0.3, 0.7]), labels, frame)
    assert changed is not first and len(calls) == 3  # the fresh build above counted too
    odd = pd.DataFrame({"x": [{"not": "hashable"}]})  # pandas cannot hash these cells: built every time
    bars(values, labels, odd)
    bars(values, labels, odd)
    assert len(calls) == 5
    # a heatmap of the shipped builders: the cached spec is the plain Altair chart's spec
    attn = np.full((3, 3), 1 / 3)
    with alt.data_transformers.disable_max_rows():
        assert heatmap(attn, ["x", "y", "z"], ["x", "y", "z"]) == heatmap.__wrapped__(
            attn, ["x", "y", "z"], ["x", "y", "z"]).to_dict(validate=False)
