"""Attention rollout (Abnar & Zuidema, ACL 2020), plain and gradient-weighted.

Shapes: ``attn`` is layers x heads x q x k (rows sum to 1). Per layer the heads are fused
into one q x k matrix, the residual connection is modelled as (A + I) / 2, every row is
renormalised to sum to 1, and the per-layer matrices are multiplied up through the layers:

    R_1 = Ã_1,   R_l = Ã_l @ R_{l-1}

so R_l[i, j] says how much input token j reaches position i after layer l.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
from jaxtyping import Float

from lessonkit.statistics import normalised_entropy

Maps = Float[np.ndarray, "layers heads query key"]
Fused = Float[np.ndarray, "layers query key"]
HeadFusion = Literal["mean", "max", "min"]
FUSIONS: tuple[str, ...] = ("mean", "max", "min")


def fuse_heads(attn: Maps, fusion: HeadFusion = "mean") -> Fused:
    """layers x heads x q x k -> layers x q x k, fusing heads by mean, max or min."""
    attn = np.asarray(attn, dtype=np.float64)
    if attn.ndim != 4:
        raise ValueError(f"attn must be layers x heads x q x k, got shape {attn.shape}")
    if fusion == "mean":
        return attn.mean(axis=1)
    if fusion == "max":
        return attn.max(axis=1)
    if fusion == "min":
        return attn.min(axis=1)
    raise ValueError(f"unknown head fusion {fusion!r}; choose one of {FUSIONS}")


def discard_lowest(fused: np.ndarray, fraction: float) -> np.ndarray:
    """layers x q x k -> same: per layer, set the lowest ``fraction`` of the weights to 0.

    The diagonal is never discarded (it is where the residual goes), so no row can become empty
    once the identity is added.
    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"discard fraction must be in [0, 1), got {fraction}")
    fused = np.array(fused, dtype=np.float64, copy=True)
    if fraction == 0.0:
        return fused
    n = fused.shape[-1]
    off_diagonal = ~np.eye(n, dtype=bool)
    for layer in fused:
        values = layer[off_diagonal]
        n_drop = int(np.floor(fraction * values.size))
        if n_drop == 0:
            continue
        order = np.argsort(values, kind="stable")
        values[order[:n_drop]] = 0.0
        layer[off_diagonal] = values
    return fused


def residual_matrices(fused: np.ndarray, residual: bool = True) -> np.ndarray:
    """layers x q x k -> layers x q x k: (A + I) / 2 (if ``residual``), each row renormalised to sum 1."""
    fused = np.asarray(fused, dtype=np.float64)
    n = fused.shape[-1]
    mixed = (fused + np.eye(n)[None]) / 2.0 if residual else fused.copy()
    row_sums = mixed.sum(axis=-1, keepdims=True)  # layers x q x 1: one sum per row
    if np.any(row_sums <= 0):
        raise ValueError("a row of the fused attention is all zero; cannot renormalise it")
    return mixed / row_sums


def rollout_from_matrices(per_layer: np.ndarray) -> np.ndarray:
    """layers x q x k per-layer matrices Ã_l -> layers x q x k cumulative rollout R_l = Ã_l @ ... @ Ã_1."""
    per_layer = np.asarray(per_layer, dtype=np.float64)
    out = np.empty_like(per_layer)
    current = per_layer[0]
    out[0] = current
    for layer in range(1, per_layer.shape[0]):
        current = per_layer[layer] @ current
        out[layer] = current
    return out


def attention_rollout(
    attn: np.ndarray,
    fusion: HeadFusion = "mean",
    discard_fraction: float = 0.0,
    residual: bool = True,
) -> np.ndarray:
    """attn: layers x heads x q x k -> rollout: layers x q x k (entry [l] is the product up to layer l)."""
    fused = discard_lowest(fuse_heads(attn, fusion), discard_fraction)
    return rollout_from_matrices(residual_matrices(fused, residual))


def gradient_weighted_fusion(attn: Maps, class_grad: Maps) -> Fused:
    """Attention and dy_c/dA (the explained class's logit) -> layers x q x k: mean over heads of (A * dy_c/dA)+.

    This is the head fusion of Chefer et al. (2021) and vit-explain's grad rollout.
    """
    from lessonkit.gradient_attention import signed_gradient_attention

    return signed_gradient_attention(attn, class_grad).mean(axis=1)


def gradient_weighted_rollout(attn: Maps, class_grad: Maps, discard_fraction: float = 0.0) -> Fused:
    """Rollout with heads fused by the positive part of A * dy_c/dA instead of the plain mean.

    Each fused matrix is scaled so its largest row sum is 1 before the residual is added, so the
    gradient's overall size does not decide how much the identity dominates. Returns layers x q x k.
    """
    fused = discard_lowest(gradient_weighted_fusion(attn, class_grad), discard_fraction)
    peak = fused.sum(axis=-1).max(axis=-1, keepdims=True)[..., None]  # layers x 1 x 1
    fused = np.divide(fused, peak, out=np.zeros_like(fused), where=peak > 0)
    return rollout_from_matrices(residual_matrices(fused, residual=True))


def own_share(matrices: Fused) -> Float[np.ndarray, " layers"]:
    """layers x q x k -> layers: the mean over positions of the weight a position keeps on its own token."""
    return np.diagonal(np.asarray(matrices, dtype=np.float64), axis1=-2, axis2=-1).mean(-1)


def mixing_by_layer(raw: Fused, rollout: Fused) -> list[dict[str, float | int | str]]:
    """Rows (layer counted from 1, what, value) of how mixed the positions are after each layer.

    Own token's share = the mean of the diagonal; spread = mean row entropy / log(n) of rollout.
    """
    raw_own, rollout_own = own_share(raw), own_share(rollout)
    spread = normalised_entropy(np.asarray(rollout, dtype=np.float64)).mean(-1)
    rows: list[dict[str, float | int | str]] = []
    for layer in range(len(raw_own)):
        rows += [
            {"layer": layer + 1, "what": "own token's share, raw attention", "value": float(raw_own[layer])},
            {"layer": layer + 1, "what": "own token's share, rollout", "value": float(rollout_own[layer])},
            {"layer": layer + 1, "what": "spread of rollout rows (entropy / log n)", "value": float(spread[layer])},
        ]
    return rows


def row_comparison(rows: dict[str, np.ndarray], labels: list[str]) -> list[dict[str, float | int | str]]:
    """Rows (method, position, label, share) for bars of several methods' weights over the input tokens."""
    return [
        {"method": method, "position": position, "label": labels[position], "share": float(value)}
        for method, values in rows.items()
        for position, value in enumerate(np.asarray(values, dtype=np.float64))
    ]


def token_row(rollout: np.ndarray, position: int = 0, layer: int = -1) -> np.ndarray:
    """rollout: layers x q x k -> k: the row of one output position (default [CLS]) after ``layer``."""
    return np.asarray(rollout)[layer, position]
