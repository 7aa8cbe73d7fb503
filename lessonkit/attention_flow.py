"""Attention flow (Abnar & Zuidema, ACL 2020): max-flow in the layered attention graph.

Nodes are (layer, position) for layers 0..L (layer 0 = the input tokens). Layer l's matrix
Ã_l (heads fused, residual (A + I)/2, rows renormalised: see ``lessonkit.rollout``) gives the
edges: (l-1, j) -> (l, i) with capacity Ã_l[i, j]. The flow value of input token j for output
position i is the maximum flow from (0, j) to (L, i). Every pair is its own max-flow problem:
a single "super-source" flow over all inputs at once computes a different quantity.

Two implementations:
- ``reference_flow``: the published method, one networkx (float) Edmonds-Karp max-flow per
  node pair in the full graph. Slow (O(n^4) and worse), kept as the ground truth for tests and the bench.
- ``attention_flow``: scipy.sparse.csgraph.maximum_flow (Dinic, compiled) on integer
  capacities (weights x ``scale``). Only the rows asked for are computed (a page usually needs
  one, e.g. [CLS]: n max-flows instead of n^2). Each problem's graph keeps only its own source
  and sink. Small problems are solved many at once: k disjoint copies (one per pair) joined by a
  super-source and a super-sink. Because the copies share no node, a maximum flow of the union is
  a maximum flow of every copy, so each pair's value is read off its own sink's edge (this is not
  the "super-source over all inputs of one graph" shortcut, which mixes the inputs' paths).
  Batching saves scipy's per-call overhead, which dominates for short sentences.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

DEFAULT_SCALE = 10**7  # integer capacities = round(weight * scale); error measured in bench/ and tests


def _check_per_layer(per_layer: np.ndarray) -> np.ndarray:
    per_layer = np.asarray(per_layer, dtype=np.float64)
    if per_layer.ndim != 3 or per_layer.shape[1] != per_layer.shape[2]:
        raise ValueError(f"per-layer matrices must be layers x n x n, got shape {per_layer.shape}")
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


def _sink_graph(per_layer: np.ndarray, position: int, scale: int):
    """CSR graph (int32 capacities) for one output position: layer-0..L-1 nodes plus one sink.

    Node ids: layer l (0..L-1), position p -> l * n + p; the sink (L, position) -> L * n.
    Other top-layer nodes have no way on to the sink, so they are left out.
    """
    from scipy.sparse import csr_array

    n_layers, n, _ = per_layer.shape
    caps = np.rint(per_layer * scale).astype(np.int64)
    rows, cols, data = [], [], []
    grid_i, grid_j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")  # i = to, j = from
    for layer in range(1, n_layers):
        matrix = caps[layer - 1]
        keep = matrix > 0
        rows.append((layer - 1) * n + grid_j[keep])
        cols.append(layer * n + grid_i[keep])
        data.append(matrix[keep])
    last = caps[n_layers - 1][position]  # edges (L-1, j) -> sink
    keep = last > 0
    rows.append((n_layers - 1) * n + np.arange(n)[keep])
    cols.append(np.full(int(keep.sum()), n_layers * n))
    data.append(last[keep])
    n_nodes = n_layers * n + 1
    graph = csr_array(
        (np.concatenate(data).astype(np.int32), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_nodes, n_nodes),
    )
    graph.sort_indices()
    return graph, n_layers * n


def _batched_flows(caps: np.ndarray, pairs: list[tuple[int, int]]) -> np.ndarray:
    """caps: layers x n x n int64; pairs (output position i, input j) -> max-flow values (integers).

    One scipy call on len(pairs) disjoint copies. Copy c has local nodes 0 = source (0, j),
    1 + (l-1) n + p = (l, p) for l = 1..L-1, and m - 1 = the sink (L, i).
    """
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import maximum_flow

    n_layers, n, _ = caps.shape
    m = 2 + (n_layers - 1) * n
    sink = m - 1
    to, frm = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    middle = [
        (1 + (layer - 1) * n + frm.ravel(), 1 + layer * n + to.ravel(), caps[layer].ravel())
        for layer in range(1, n_layers - 1)
    ]
    k = len(pairs)
    super_source, super_sink = k * m, k * m + 1
    rows, cols, data = [], [], []
    for c, (i, j) in enumerate(pairs):
        base = c * m
        if n_layers == 1:
            rows.append([base]), cols.append([base + sink]), data.append([caps[0][i, j]])
        else:
            rows.append(np.full(n, base)), cols.append(base + 1 + np.arange(n)), data.append(caps[0][:, j])
            for r, q, d in middle:
                rows.append(base + r), cols.append(base + q), data.append(d)
            last = base + 1 + (n_layers - 2) * n + np.arange(n)
            rows.append(last), cols.append(np.full(n, base + sink)), data.append(caps[n_layers - 1][i])
        bound = int(caps[n_layers - 1][i].sum())  # the copy's flow can never exceed its sink's capacity
        rows.append([super_source, base + sink]), cols.append([base, super_sink]), data.append([bound, bound])
    rows, cols, data = np.concatenate(rows), np.concatenate(cols), np.concatenate(data)
    keep = data > 0
    size = k * m + 2
    graph = csr_array((data[keep].astype(np.int32), (rows[keep], cols[keep])), shape=(size, size))
    flow = maximum_flow(graph, super_source, super_sink, method="dinic").flow
    return np.asarray(flow[np.arange(k) * m + sink, np.full(k, super_sink)]).ravel()


EDGE_BUDGET = 50_000  # edges per batched scipy call; beyond ~ this, batching stops paying (bench/)


def attention_flow(
    per_layer: np.ndarray,
    positions: Iterable[int] | None = None,
    scale: int = DEFAULT_SCALE,
    edge_budget: int = EDGE_BUDGET,
) -> np.ndarray:
    """per_layer: layers x n x n -> flow: len(positions) x n (all positions if None).

    flow[r, j] = max-flow from input token j to output position positions[r] at the top layer.
    """
    from scipy.sparse.csgraph import maximum_flow

    per_layer = _check_per_layer(per_layer)
    n_layers, n, _ = per_layer.shape
    # A flow never exceeds the sink's capacity (a row sum, about 1): residual capacities stay below
    # 2 x scale x the largest row sum, which must fit in int32.
    if 2 * scale * max(1.0, float(per_layer.sum(axis=-1).max())) >= 2**31:
        raise ValueError(f"scale {scale} is too large for int32 capacities")
    positions = list(range(n)) if positions is None else list(positions)
    for position in positions:
        if not 0 <= position < n:
            raise ValueError(f"position {position} is outside 0..{n - 1}")
    out = np.zeros((len(positions), n))
    edges_per_copy = max(1, (n_layers - 2) * n * n + 2 * n)
    row_capacity = float(per_layer.sum(axis=-1).max()) * scale + n
    copies = int(min(edge_budget // edges_per_copy, (2**31 - 1) // (2 * row_capacity)))
    if copies >= 2:
        caps = np.rint(per_layer * scale).astype(np.int64)
        pairs = [(row, j) for row in range(len(positions)) for j in range(n)]
        for start in range(0, len(pairs), copies):
            chunk = pairs[start : start + copies]
            values = _batched_flows(caps, [(positions[row], j) for row, j in chunk])
            for (row, j), value in zip(chunk, values):
                out[row, j] = value / scale
        return out
    for row, position in enumerate(positions):
        graph, sink = _sink_graph(per_layer, position, scale)
        for j in range(n):
            out[row, j] = maximum_flow(graph, j, sink, method="dinic").flow_value / scale
    return out


def normalise_rows(flow: np.ndarray) -> np.ndarray:
    """Divide each row by its sum (A&Z show flow values normalised per output position)."""
    flow = np.asarray(flow, dtype=np.float64)
    sums = flow.sum(axis=-1, keepdims=True)
    return np.divide(flow, sums, out=np.zeros_like(flow), where=sums > 0)
