"""Dinic's maximum-flow algorithm on float capacities, compiled with numba.

Used by ``lessonkit.attention_flow``, which solves many small max-flow problems on one graph
(every input token to one output position). One compiled call solves them all, so the Python
overhead is paid once per call rather than once per pair. numba caches the machine code on disk
(``cache=True``): only the first call on a machine compiles (about five seconds on an idle machine).

Graphs are in residual CSR form: for node u, edges indptr[u]..indptr[u+1]-1 go to heads[e],
and reverse[e] is the index of the opposite edge (capacity 0 for an edge added only as a
reverse). ``residual_csr`` builds that form from an edge list, ``layered_network_to_one_sink``
from the dense matrices of a layered network.
"""
from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def residual_csr(tails, heads, capacity, n_nodes):
    """Edge list -> (indptr, heads, reverse, capacity, position), a zero-capacity reverse for every edge.

    In each node's list its own edges come first, then the reverses of its incoming edges.
    position[k]: where edge k of the input list sits in the CSR arrays.
    """
    m = tails.shape[0]
    count = np.zeros(n_nodes + 1, np.int64)
    for k in range(m):
        count[tails[k] + 1] += 1
        count[heads[k] + 1] += 1
    indptr = np.cumsum(count)
    fill = indptr[:-1].copy()
    csr_heads = np.empty(2 * m, np.int64)
    reverse = np.empty(2 * m, np.int64)
    csr_capacity = np.zeros(2 * m)
    position = np.empty(m, np.int64)
    for k in range(m):
        e = fill[tails[k]]
        fill[tails[k]] += 1
        csr_heads[e] = heads[k]
        csr_capacity[e] = capacity[k]
        position[k] = e
    for k in range(m):
        e = fill[heads[k]]
        fill[heads[k]] += 1
        csr_heads[e] = tails[k]
        reverse[e] = position[k]
        reverse[position[k]] = e
    return indptr, csr_heads, reverse, csr_capacity, position


@numba.njit(cache=True)
def layered_network_to_one_sink(matrices):
    """Residual CSR of layers 0..K of n nodes (K = len(matrices)) followed by a single sink.

    Node p of layer l is l * n + p; the sink is (K + 1) * n. matrices[l][i, j] > 0 is an edge
    from node j of layer l to node i of layer l + 1; every node of layer K has an edge to the
    sink, of capacity 0 here (the caller sets them). Returns (indptr, heads, reverse, capacity,
    sink_edges), sink_edges[p] being where the edge from node p of layer K sits.
    """
    n_matrices, n = matrices.shape[0], matrices.shape[2]
    m = n
    for l in range(n_matrices):
        for i in range(n):
            for j in range(n):
                if matrices[l, i, j] > 0:
                    m += 1
    tails = np.empty(m, np.int64)
    heads = np.empty(m, np.int64)
    capacity = np.zeros(m)
    k = 0
    for l in range(n_matrices):
        for j in range(n):
            for i in range(n):
                if matrices[l, i, j] > 0:
                    tails[k] = l * n + j
                    heads[k] = (l + 1) * n + i
                    capacity[k] = matrices[l, i, j]
                    k += 1
    for p in range(n):
        tails[k + p] = n_matrices * n + p
        heads[k + p] = (n_matrices + 1) * n
    indptr, csr_heads, reverse, csr_capacity, position = residual_csr(tails, heads, capacity, (n_matrices + 1) * n + 1)
    return indptr, csr_heads, reverse, csr_capacity, position[k:]


@numba.njit(cache=True)
def max_flow(indptr, heads, reverse, residual, source, sink, tolerance, layer, level, next_edge, queue, path):
    """Max-flow value from source to sink; ``residual`` (capacities, CSR order) is used up in place.

    A residual capacity <= tolerance counts as zero. ``layer``: node -> layer number, every edge
    with capacity going from a layer to the next (reverse edges start empty); the source must be
    in layer 0 and the sink in a later one. level, next_edge, queue, path: scratch arrays (int64,
    one entry per node), passed in so the many problems of one call share them.
    """
    n_nodes = indptr.shape[0] - 1
    # No flow can exceed what leaves the source or what enters the sink: reaching that bound
    # proves the flow maximal without the last (fruitless) search.
    out_of_source = 0.0
    for e in range(indptr[source], indptr[source + 1]):
        out_of_source += residual[e]
    into_sink = 0.0
    for e in range(indptr[sink], indptr[sink + 1]):
        into_sink += residual[reverse[e]]
    bound = min(out_of_source, into_sink) - tolerance
    total = 0.0
    first_phase = True
    while True:
        if first_phase:
            # with no flow yet, a node's breadth-first distance from the source is its layer
            # (nodes the source cannot reach are never entered, whatever their level)
            level[:] = layer
            first_phase = False
        elif total >= bound:
            return total
        else:
            level[:] = -1
            # levels: breadth-first distances from the source over edges with capacity left
            level[source] = 0
            queue[0] = source
            head, tail = 0, 1
            while head < tail:
                u = queue[head]
                head += 1
                for e in range(indptr[u], indptr[u + 1]):
                    v = heads[e]
                    if level[v] < 0 and residual[e] > tolerance:
                        level[v] = level[u] + 1
                        queue[tail] = v
                        tail += 1
            if level[sink] < 0:
                return total
        for u in range(n_nodes):
            next_edge[u] = indptr[u]
        # blocking flow: depth-first walks along edges that go one level down; path[:depth] = edges walked
        depth = 0
        u = source
        while True:
            if u == sink:
                bottleneck = np.inf
                for k in range(depth):
                    bottleneck = min(bottleneck, residual[path[k]])
                first_full = depth
                for k in range(depth):
                    e = path[k]
                    residual[e] -= bottleneck
                    residual[reverse[e]] += bottleneck
                    if residual[e] <= tolerance and first_full == depth:
                        first_full = k
                total += bottleneck
                depth = first_full  # walk on from the tail of the first edge this path used up
                u = source if depth == 0 else heads[path[depth - 1]]
                continue
            advanced = False
            while next_edge[u] < indptr[u + 1]:
                e = next_edge[u]
                v = heads[e]
                if residual[e] > tolerance and level[v] == level[u] + 1:
                    path[depth] = e
                    depth += 1
                    u = v
                    advanced = True
                    break
                next_edge[u] += 1
            if not advanced:
                if u == source:
                    break
                level[u] = -1  # a dead end for the rest of this phase
                depth -= 1
                u = heads[reverse[path[depth]]]  # back to the tail of the edge that led here
                next_edge[u] += 1


@numba.njit(cache=True)
def max_flows_to_sink(indptr, heads, reverse, capacity, layer, sink_edges, sink_rows, sources, sink, tolerance):
    """Max-flow value for every (row, source): row r sets the capacities of ``sink_edges`` to sink_rows[r].

    sink_rows: rows x len(sink_edges); sources: node ids -> rows x len(sources).
    """
    n_nodes = indptr.shape[0] - 1
    level = np.empty(n_nodes, np.int64)
    next_edge = np.empty(n_nodes, np.int64)
    queue = np.empty(n_nodes, np.int64)
    path = np.empty(n_nodes, np.int64)
    out = np.zeros((sink_rows.shape[0], sources.shape[0]))
    row_capacity = capacity.copy()
    residual = np.empty_like(capacity)
    for r in range(sink_rows.shape[0]):
        for k in range(sink_edges.shape[0]):
            row_capacity[sink_edges[k]] = sink_rows[r, k]
        for s in range(sources.shape[0]):
            residual[:] = row_capacity
            out[r, s] = max_flow(indptr, heads, reverse, residual, sources[s], sink, tolerance, layer, level, next_edge, queue, path)
    return out
