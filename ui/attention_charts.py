"""Altair charts of attention maps (head view lines, heatmap, model view, difference) and exports.

Every chart is plain Vega-Lite with inline data: the browser draws it with the Vega bundled in
Streamlit, so nothing is fetched from elsewhere, and token text only ever reaches the page as
Vega text marks or tooltips (drawn as text, never parsed as HTML). Exports go through
vl-convert (a local Rust/Deno renderer), also without network.

Heads are labelled 1-indexed (``L3-H5`` = layer index 2, head index 4), like Clark et al.
"""
from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from lessonkit.head_patterns import head_label

ROW_PX = 22  # vertical space per token in the head view
HEAD_COLOURS = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939",
]
MODEL_VIEW_PICK = "pick"  # name of the click selection in the model view


def inline(data: pd.DataFrame) -> pd.DataFrame:
    """Chart data stays a DataFrame: Streamlit ships it as Arrow without validating every row.

    (Wrapping rows in alt.Data(values=...) makes Altair validate each one: seconds at 256 tokens.)
    Exports lift Altair's 5,000-row limit themselves (see spec_dict).
    """
    return data


def position_labels(labels: Sequence[str]) -> list[str]:
    """Unique axis labels 'i: token' so repeated tokens (two 'the') keep their own row and column."""
    return [f"{i}: {label}" for i, label in enumerate(labels)]


def top_links(attn_heads: np.ndarray, threshold: float, top_k: int) -> pd.DataFrame:
    """attn_heads: heads x q x k -> long table of the lines worth drawing.

    Keeps, for each head and query, the top_k keys and only those with weight >= threshold.
    Long inputs therefore stay at most heads x q x top_k lines instead of heads x q x k.
    """
    n_heads, n_q, n_k = attn_heads.shape
    top_k = max(1, min(top_k, n_k))
    order = np.argsort(-attn_heads, axis=-1)[..., :top_k]  # heads x q x top_k
    weights = np.take_along_axis(attn_heads, order, axis=-1)
    h_idx, q_idx, r_idx = np.nonzero(weights >= threshold)
    return pd.DataFrame(
        {"h": h_idx, "i": q_idx, "j": order[h_idx, q_idx, r_idx], "w": weights[h_idx, q_idx, r_idx].astype(float)}
    )


def head_view_chart(
    attn_heads: np.ndarray,
    labels: Sequence[str],
    head_names: Sequence[str],
    threshold: float = 0.05,
    top_k: int = 8,
    width: int = 520,
) -> alt.LayerChart:
    """BertViz-style lines: queries on the left, keys on the right, one colour per head.

    attn_heads: heads x q x k. Hovering a token on the left keeps only its lines (on the right:
    only the lines arriving at it); line thickness and opacity follow the weight.
    """
    n = len(labels)
    links = top_links(attn_heads, threshold, top_k)
    links["head"] = [head_names[h] for h in links["h"]]
    links["query"] = [labels[i] for i in links["i"]]
    links["key"] = [labels[j] for j in links["j"]]
    links["w"] = links["w"].round(4)
    links["x0"], links["x1"] = 0.0, 1.0
    # One hover selection for both columns of tokens: {pos, side} says which token and which side.
    # (Vega-Lite listens for a selection's events on every mark of a layered chart, so two selections
    # keyed on shared fields would both fire on one hover.)
    queries = pd.DataFrame({"pos": range(n), "side": "q", "token": list(labels)})
    keys = pd.DataFrame({"pos": range(n), "side": "k", "token": list(labels)})
    height = max(120, ROW_PX * n) + (50 if len(head_names) > 1 else 0)
    y_scale = alt.Scale(domain=[-0.5, n - 0.5], reverse=True)
    x_scale = alt.Scale(domain=[-0.35, 1.35])
    hover = alt.selection_point(name="hover", fields=["pos", "side"], on="pointerover", clear="pointerout", empty=True)
    # No token hovered (or a line hovered): every line; a query token: its lines; a key token: lines into it.
    isolate = (
        "!(hover.side && hover.side[0]) || "
        "(hover.side[0] === 'q' ? datum.i === hover.pos[0] : datum.j === hover.pos[0])"
    )
    colour = alt.Color(
        "head:N",
        scale=alt.Scale(domain=list(head_names), range=HEAD_COLOURS[: len(head_names)] or HEAD_COLOURS),
        legend=alt.Legend(title="head", orient="top", symbolStrokeWidth=6, symbolSize=400, symbolOpacity=1) if len(head_names) > 1 else None,
    )
    lines = (
        alt.Chart(inline(links))
        .mark_rule(strokeCap="round")
        .encode(
            x=alt.X("x0:Q", scale=x_scale, axis=None),
            x2="x1:Q",
            y=alt.Y("i:Q", scale=y_scale, axis=None),
            y2="j:Q",
            color=colour,
            strokeWidth=alt.StrokeWidth("w:Q", scale=alt.Scale(domain=[0, 1], range=[0.3, 5]), legend=None),
            opacity=alt.condition(
                isolate,
                alt.Opacity("w:Q", scale=alt.Scale(domain=[0, 1], range=[0.15, 0.9]), legend=None),
                alt.value(0.03),
            ),
            tooltip=[
                alt.Tooltip("head:N"),
                alt.Tooltip("query:N", title="query (from)"),
                alt.Tooltip("key:N", title="key (to)"),
                alt.Tooltip("w:Q", title="weight", format=".4f"),
            ],
        )
    )
    left = (
        alt.Chart(inline(queries))
        .mark_text(align="right", dx=-6, fontSize=13)
        .encode(
            x=alt.X("x:Q", scale=x_scale, axis=None),
            y=alt.Y("pos:Q", scale=y_scale, axis=None),
            text="token:N",
            tooltip=[alt.Tooltip("token:N", title="query token (hover to isolate)")],
        )
        .transform_calculate(x="0")
        .add_params(hover)
    )
    right = (
        alt.Chart(inline(keys))
        .mark_text(align="left", dx=6, fontSize=13)
        .encode(
            x=alt.X("x:Q", scale=x_scale, axis=None),
            y=alt.Y("pos:Q", scale=y_scale, axis=None),
            text="token:N",
            tooltip=[alt.Tooltip("token:N", title="key token (hover to isolate)")],
        )
        .transform_calculate(x="1")
    )
    return alt.layer(lines, left, right).properties(width=width, height=height)


def heatmap_chart(
    matrix: np.ndarray,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    title: str = "",
    row_offset: int = 0,
    diverging: bool = False,
    cell: int | None = None,
) -> alt.Chart:
    """matrix: q x k heatmap; rows = query (output) positions, columns = key (input) tokens.

    row_offset: the first row's position when only a window of the rows is shown.
    diverging: a red/blue scale centred on 0 (for differences between two maps).
    """
    n_q, n_k = matrix.shape
    rows = position_labels(row_labels)[row_offset : row_offset + n_q] if row_offset else position_labels(row_labels)
    cols = position_labels(col_labels)
    q_idx, k_idx = np.meshgrid(np.arange(n_q), np.arange(n_k), indexing="ij")
    data = pd.DataFrame(
        {
            "query": np.asarray(rows)[q_idx.ravel()],
            "key": np.asarray(cols)[k_idx.ravel()],
            "w": np.round(matrix.ravel().astype(float), 4),
        }
    )
    if diverging:
        limit = float(max(1e-6, np.abs(matrix).max()))
        colour = alt.Color(
            "w:Q", scale=alt.Scale(scheme="redblue", domain=[-limit, limit], reverse=True),
            legend=alt.Legend(title="difference"),
        )
        weight_title = "difference"
    else:
        colour = alt.Color("w:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]), legend=alt.Legend(title="weight"))
        weight_title = "weight"
    if cell is None:
        cell = 22 if n_k <= 40 else max(1.5, 800 / n_k)  # long inputs: thin columns that still fit the page
    return (
        alt.Chart(inline(data), title=title or alt.Undefined)
        .mark_rect()
        .encode(
            x=alt.X("key:N", sort=cols, title="key (input token)", axis=alt.Axis(labelAngle=-60, labelLimit=120, labelOverlap=n_k > 60)),
            y=alt.Y("query:N", sort=rows, title="query (output position)", axis=alt.Axis(labelLimit=120, labelOverlap=n_q > 60)),
            color=colour,
            tooltip=[
                alt.Tooltip("query:N", title="query"),
                alt.Tooltip("key:N", title="key"),
                alt.Tooltip("w:Q", title=weight_title, format=".4f"),
            ],
        )
        # Streamlit fits the whole chart (axes and legend included) into width x height: leave room for them
        .properties(width=round(cell * n_k) + 190, height=round(max(cell, 8) * n_q) + 200)
    )


def png_bytes(rgb: np.ndarray) -> bytes:
    """rgb: height x width x 3 uint8 -> a PNG file (zlib only, no imaging library)."""
    import struct
    import zlib

    height, width, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[row].tobytes() for row in range(height))

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def thumbnail_uri(matrix: np.ndarray, target_px: int = 64) -> str:
    """q x k weights in [0, 1] -> a data: URI of a white-to-blue PNG, each cell a square of pixels."""
    import base64

    n_q, n_k = matrix.shape
    if max(n_q, n_k) > target_px:  # long input: one pixel per block of tokens (block sums over keys, mean over queries)
        row_edges = np.linspace(0, n_q, min(n_q, target_px) + 1).astype(int)[:-1]
        col_edges = np.linspace(0, n_k, min(n_k, target_px) + 1).astype(int)[:-1]
        summed = np.add.reduceat(np.add.reduceat(matrix, row_edges, axis=0), col_edges, axis=1)
        matrix = summed / np.diff(np.append(row_edges, n_q))[:, None]
        n_q, n_k = matrix.shape
    scale = max(1, target_px // max(n_q, n_k))
    w = np.clip(matrix, 0.0, 1.0) ** 0.6  # lift faint weights a little so patterns show in a small tile
    low, high = np.array([255.0, 255.0, 255.0]), np.array([8.0, 48.0, 107.0])
    rgb = (low + (high - low) * w[..., None]).round().astype(np.uint8)
    rgb = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
    return "data:image/png;base64," + base64.b64encode(png_bytes(rgb)).decode("ascii")


def model_view_chart(
    attn: np.ndarray,
    tile_notes: dict[tuple[int, int], str] | None = None,
    tile_px: int = 64,
) -> alt.LayerChart:
    """All heads as small multiples: attn layers x heads x q x k -> one thumbnail per head.

    Rows of the grid are layers, columns heads. Each thumbnail is a small PNG embedded in the
    spec as a data: URI (72 images instead of 72 x n x n rectangles, so long inputs stay light).
    Clicking a tile selects (layer, head) through the selection named 'pick'.
    """
    n_layers, n_heads = attn.shape[:2]
    gap = 14
    step = tile_px + gap
    tiles = pd.DataFrame(
        [
            {
                "layer": l, "head": h, "label": head_label(l, h),
                "note": (tile_notes or {}).get((l, h), ""),
                "x": h * step, "x2": h * step + tile_px, "y": l * step, "y2": l * step + tile_px,
                "xc": h * step + tile_px / 2, "yc": l * step + tile_px / 2,
                "img": thumbnail_uri(attn[l, h], tile_px),
            }
            for l in range(n_layers)
            for h in range(n_heads)
        ]
    )
    width_px, height_px = n_heads * step + gap, n_layers * step + gap
    x_scale = alt.Scale(domain=[-gap, n_heads * step], nice=False, zero=False)
    y_scale = alt.Scale(domain=[-gap, n_layers * step], reverse=True, nice=False, zero=False)
    x_enc = alt.X("xc:Q", scale=x_scale, axis=None)
    y_enc = alt.Y("yc:Q", scale=y_scale, axis=None)
    pick = alt.selection_point(name=MODEL_VIEW_PICK, fields=["layer", "head"], on="click", empty=False)
    images = alt.Chart(inline(tiles)).mark_image(width=tile_px, height=tile_px).encode(x=x_enc, y=y_enc, url="img:N")
    tile_layer = (
        alt.Chart(inline(tiles.drop(columns="img")))
        .mark_rect(fill="white", fillOpacity=0.01, strokeWidth=2, cursor="pointer")
        .encode(
            x=alt.X("x:Q", scale=x_scale, axis=None),
            x2="x2:Q",
            y=alt.Y("y:Q", scale=y_scale, axis=None),
            y2="y2:Q",
            stroke=alt.condition(pick, alt.value("#d62728"), alt.value("#c8c8c8")),
            tooltip=[alt.Tooltip("label:N", title="head (1-indexed)"), alt.Tooltip("note:N", title="pattern")],
        )
        .add_params(pick)
    )
    head_titles = pd.DataFrame({"t": [f"H{h + 1}" for h in range(n_heads)], "x": [h * step + tile_px / 2 for h in range(n_heads)], "y": -2})
    layer_titles = pd.DataFrame({"t": [f"L{l + 1}" for l in range(n_layers)], "x": -3, "y": [l * step + tile_px / 2 for l in range(n_layers)]})
    head_text = alt.Chart(inline(head_titles)).mark_text(baseline="bottom", fontSize=11).encode(
        x=alt.X("x:Q", scale=x_scale, axis=None), y=alt.Y("y:Q", scale=y_scale, axis=None), text="t:N"
    )
    layer_text = alt.Chart(inline(layer_titles)).mark_text(align="right", fontSize=11).encode(
        x=alt.X("x:Q", scale=x_scale, axis=None), y=alt.Y("y:Q", scale=y_scale, axis=None), text="t:N"
    )
    return alt.layer(images, tile_layer, head_text, layer_text).properties(width=width_px, height=height_px)


def scores_heatmap(
    scores: np.ndarray, title: str, value_title: str = "score", domain: tuple[float, float] = (0, 1)
) -> alt.Chart:
    """scores: layers x heads -> a layer x head grid with the value in the tooltip (colours clamp to domain)."""
    n_layers, n_heads = scores.shape
    data = pd.DataFrame(
        [
            {"layer": f"L{l + 1}", "head_n": f"H{h + 1}", "head": head_label(l, h), "v": round(float(scores[l, h]), 4)}
            for l in range(n_layers)
            for h in range(n_heads)
        ]
    )
    return (
        alt.Chart(inline(data), title=title)
        .mark_rect()
        .encode(
            x=alt.X("head_n:N", sort=[f"H{h + 1}" for h in range(n_heads)], title="head", axis=alt.Axis(labelOverlap=False, labelAngle=0)),
            y=alt.Y("layer:N", sort=[f"L{l + 1}" for l in range(n_layers)], title="layer", axis=alt.Axis(labelOverlap=False)),
            color=alt.Color(
                "v:Q", scale=alt.Scale(scheme="viridis", domain=list(domain), clamp=True), legend=alt.Legend(title=value_title)
            ),
            tooltip=[alt.Tooltip("head:N", title="head (1-indexed)"), alt.Tooltip("v:Q", title=value_title, format=".3f")],
        )
        .properties(width=44 * n_heads + 150, height=36 * n_layers + 70)
    )


def spec_dict(chart: alt.TopLevelMixin) -> dict:
    """The full Vega-Lite spec with inline data, for export (no row limit, rows not validated one by one)."""
    with alt.data_transformers.disable_max_rows():
        return chart.to_dict(validate=False)


def chart_png(chart: alt.TopLevelMixin, scale: float = 2.0) -> bytes:
    """The chart as PNG bytes, rendered locally by vl-convert."""
    import vl_convert as vlc

    return vlc.vegalite_to_png(spec_dict(chart), scale=scale)


def chart_svg(chart: alt.TopLevelMixin) -> str:
    """The chart as SVG text, rendered locally by vl-convert (token text is XML-escaped by the renderer)."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(spec_dict(chart))
