"""The model view: every head of every layer as a small thumbnail (BertViz's second view)."""
from __future__ import annotations

import base64
import io

import altair as alt
import numpy as np
import pandas as pd

from lessonkit.head_patterns import head_label

MODEL_VIEW_PICK = "pick"  # name of the click selection in the model view


def thumbnail_png(matrix: np.ndarray, target_px: int = 64) -> bytes:
    """q x k weights in [0, 1] -> PNG bytes of a white-to-blue image about ``target_px`` wide.

    Long inputs are reduced to one pixel per block of tokens (block sums over keys, mean over
    queries, so a pixel row is still a share of attention); short ones are enlarged with square
    pixels (nearest neighbour), so every cell stays visible.
    """
    from PIL import Image

    n_q, n_k = matrix.shape
    if max(n_q, n_k) > target_px:
        row_edges = np.linspace(0, n_q, min(n_q, target_px) + 1).astype(int)[:-1]
        col_edges = np.linspace(0, n_k, min(n_k, target_px) + 1).astype(int)[:-1]
        summed = np.add.reduceat(np.add.reduceat(matrix, row_edges, axis=0), col_edges, axis=1)
        matrix = summed / np.diff(np.append(row_edges, n_q))[:, None]
        n_q, n_k = matrix.shape
    scale = max(1, target_px // max(n_q, n_k))
    w = np.clip(matrix, 0.0, 1.0) ** 0.6  # lift faint weights a little so patterns show in a small tile
    low, high = np.array([255.0, 255.0, 255.0]), np.array([8.0, 48.0, 107.0])
    rgb = (low + (high - low) * w[..., None]).round().astype(np.uint8)
    image = Image.fromarray(rgb).resize((n_k * scale, n_q * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def thumbnail_uri(matrix: np.ndarray, target_px: int = 64) -> str:
    """The thumbnail as a data: URI (embedded in the chart: nothing is fetched)."""
    return "data:image/png;base64," + base64.b64encode(thumbnail_png(matrix, target_px)).decode("ascii")


def model_view_chart(
    attn: np.ndarray,
    tile_notes: dict[tuple[int, int], str] | None = None,
    tile_px: int = 64,
) -> alt.TopLevelMixin:
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
    images = alt.Chart(tiles).mark_image(width=tile_px, height=tile_px).encode(x=x_enc, y=y_enc, url="img:N")
    tile_layer = (
        alt.Chart(tiles.drop(columns="img"))
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
    head_text = alt.Chart(head_titles).mark_text(baseline="bottom", fontSize=11).encode(
        x=alt.X("x:Q", scale=x_scale, axis=None), y=alt.Y("y:Q", scale=y_scale, axis=None), text="t:N"
    )
    layer_text = alt.Chart(layer_titles).mark_text(align="right", fontSize=11).encode(
        x=alt.X("x:Q", scale=x_scale, axis=None), y=alt.Y("y:Q", scale=y_scale, axis=None), text="t:N"
    )
    return alt.layer(images, tile_layer, head_text, layer_text).properties(width=width_px, height=height_px)
