"""Attention flow (Abnar & Zuidema, ACL 2020): max-flow in the layered attention graph.

Nodes are (layer, position) for layers 0..L (layer 0 = the input tokens). Layer l's matrix
Ã_l (heads fused, residual (A + I)/2, rows renormalised: see ``lessonkit.rollout``) gives the
edges: (l-1, j) -> (l, i) with capacity Ã_l[i, j]. The flow value of input token j for output
position i is the maximum flow from (0, j) to (L, i). Every pair is its own max-flow problem:
a single "super-source" flow over all inputs at once computes a different quantity.

Two implementations:
- ``reference_flow``: the published method, one networkx (float) Edmonds-Karp max-flow per
  node pair in the full graph. Slow, kept as the ground truth for tests and the bench.
- ``attention_flow``: the same max-flow per pair (float capacities, no rounding), by Dinic's
  algorithm compiled with numba (``lessonkit.dinic``). What makes it fast:
  * one compiled call solves every pair asked for, so Python runs once, not once per pair;
  * the graph is built once: layers 0..L-1 plus a single sink, whose n in-edges take the row
    of the output position being solved. Other top-layer nodes lead nowhere and other inputs
    have no way in, so leaving them out changes no pair's value;
  * the network is already layered, so Dinic's first phase needs no search (the levels are the
    layers) and is a blocking flow of the DAG itself; on attention graphs it usually finds the
    whole maximum, and one search of the residual graph proves it;
  * a flow that fills the source's or the sink's total capacity is maximal: no proof search.
The first call in a process imports numba and loads the compiled code (compiles it, once per
machine, about five seconds).
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

# A residual capacity at or below this (relative to the largest capacity) counts as used up.
# Float rounding leaves ~1e-16 crumbs; the value found is within (edges in a cut) x tolerance.
RELATIVE_TOLERANCE = 1e-12


def _check_per_layer(per_layer: np.ndarray) -> np.ndarray:
    per_layer = np.ascontiguousarray(per_layer, dtype=np.float64)
    if per_layer.ndim != 3 or per_layer.shape[1] != per_layer.shape[2] or per_layer.shape[0] < 1:
        raise ValueError(f"per-layer matrices must be layers x n x n, got shape {per_layer.shape}")
    if not np.all(np.isfinite(per_layer)):
        raise ValueError("capacities must be finite numbers")
    if np.any(per_layer < 0):
        raise ValueError("capacities must be non-negative")
    return per_layer


def reference_graph(per_layer: np.ndarray):
    """The layered attention graph as a networkx DiGraph with float capacities (A&Z's construction)."""
    import networkx as nx

    per_layer = _check_per_layer(per_layer)
    n_layers, n, _ = per_layer.shape
    graph = nx.DiGraph()
    graph.add_nodes_from((layer, position) for layer in range(n_layers + 1) for position in range(n))
    for layer in range(1, n_layers + 1):
        matrix = per_layer[layer - 1]
        for i in range(n):
            for j in range(n):
                if matrix[i, j] > 0:
                    graph.add_edge((layer - 1, j), (layer, i), capacity=float(matrix[i, j]))
    return graph


def reference_flow(
    per_layer: np.ndarray, positions: Iterable[int] | None = None, inputs: Iterable[int] | None = None
) -> np.ndarray:
    """per_layer: layers x n x n -> flow: len(positions) x n; one networkx Edmonds-Karp max-flow per pair.

    Entries for inputs not listed stay NaN (the bench times a subset of pairs at large n).
    """
    import networkx as nx
    from networkx.algorithms.flow import edmonds_karp

    per_layer = _check_per_layer(per_layer)
    n_layers, n, _ = per_layer.shape
    positions = list(range(n)) if positions is None else list(positions)
    inputs = list(range(n)) if inputs is None else list(inputs)
    graph = reference_graph(per_layer)
    out = np.full((len(positions), n), np.nan)
    for row, position in enumerate(positions):
        for j in inputs:
            out[row, j] = nx.maximum_flow_value(graph, (0, j), (n_layers, position), flow_func=edmonds_karp)
    return out


def attention_flow(per_layer: np.ndarray, positions: Iterable[int] | None = None) -> np.ndarray:
    """per_layer: layers x n x n -> flow: len(positions) x n (all positions if None).

    flow[r, j] = max-flow from input token j to output position positions[r] at the top layer.
    """
    from lessonkit.dinic import layered_network_to_one_sink, max_flows_to_sink

    per_layer = _check_per_layer(per_layer)
    n_layers, n, _ = per_layer.shape
    positions = list(range(n)) if positions is None else list(positions)
    for position in positions:
        if not 0 <= position < n:
            raise ValueError(f"position {position} is outside 0..{n - 1}")
    if not positions:
        return np.zeros((0, n))
    # layers 0..L-1 and one sink (L * n) in place of the top layer; the sink's in-edges are set per position
    indptr, heads, reverse, capacity, sink_edges = layered_network_to_one_sink(per_layer[:-1])
    tolerance = RELATIVE_TOLERANCE * float(per_layer.max())
    sink_rows = np.ascontiguousarray(per_layer[n_layers - 1][positions])
    sources = np.arange(n, dtype=np.int64)
    layer = np.arange(n_layers * n + 1, dtype=np.int64) // n  # the sink, node L * n, is in layer L
    return max_flows_to_sink(
        indptr, heads, reverse, capacity, layer, sink_edges, sink_rows, sources, n_layers * n, tolerance
    )


def normalise_rows(flow: np.ndarray) -> np.ndarray:
    """Divide each row by its sum (A&Z show flow values normalised per output position)."""
    flow = np.asarray(flow, dtype=np.float64)
    sums = flow.sum(axis=-1, keepdims=True)
    return np.divide(flow, sums, out=np.zeros_like(flow), where=sums > 0)
