"""Two attention maps of the same shape compared cell by cell (the explorer's Winograd twins)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from jaxtyping import Float


@dataclass(frozen=True)
class MapDifference:
    difference: Float[np.ndarray, "query key"]  # second - first
    query: int  # cell with the largest |difference|
    key: int
    value: float


def compare_maps(first: Float[np.ndarray, "query key"], second: Float[np.ndarray, "query key"]) -> MapDifference:
    """second - first, and where it changes most (the first such cell in row-major order on ties)."""
    if first.shape != second.shape:
        raise ValueError(f"maps of different shapes: {first.shape} and {second.shape}")
    difference = np.asarray(second, dtype=np.float64) - np.asarray(first, dtype=np.float64)
    i, j = np.unravel_index(int(np.argmax(np.abs(difference))), difference.shape)
    return MapDifference(difference, int(i), int(j), float(difference[i, j]))
