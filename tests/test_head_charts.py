"""Chart builders and offline export: the lines kept, thumbnails as real PNGs, escaped text in SVG."""
from __future__ import annotations

import struct
import zlib

import numpy as np

from ui.charts.common import chart_png, chart_svg, spec_dict
from ui.charts.head_grid import scores_heatmap
from ui.charts.head_view import head_view_chart, top_links
from ui.charts.heatmap import heatmap_chart
from ui.charts.model_view import model_view_chart, png_bytes

HOSTILE = ["[CLS]", "<", "script", ">", "alert", "(", '"', "x", "&", "y", '"', ")", "[SEP]"]


def decode_png(data: bytes) -> np.ndarray:
    """Minimal PNG reader for 8-bit RGB with filter type 0 (what png_bytes writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, payload = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + payload) & 0xFFFFFFFF
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", payload[:10])
            assert (depth, colour) == (8, 2)
        elif kind == b"IDAT":
            idat += payload
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = 1 + 3 * width
    rows = [raw[r * stride : (r + 1) * stride] for r in range(len(raw) // stride)]
    assert all(row[0] == 0 for row in rows)
    return np.array([list(row[1:]) for row in rows], dtype=np.uint8).reshape(len(rows), width, 3)


def test_png_writer_round_trips():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    np.testing.assert_array_equal(decode_png(png_bytes(rgb)), rgb)


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
        head_view_chart(attn[0], HOSTILE, ["L1-H1", "L1-H2", "L1-H3"]),
        heatmap_chart(attn[0, 0], HOSTILE, HOSTILE, "a title with <b>tags</b> & more"),
        heatmap_chart(attn[0, 0] - attn[1, 0], HOSTILE, HOSTILE, diverging=True),
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
    import base64

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
    import base64

    image = decode_png(base64.b64decode(rows[0]["img"].split(",", 1)[1]))
    assert image.shape == (64, 64, 3)
    diagonal = image[np.arange(64), np.arange(64)].sum(axis=-1)
    off = image[np.arange(64), (np.arange(64) + 32) % 64].sum(axis=-1)
    assert (diagonal < off).all()  # the diagonal survives the block reduction
