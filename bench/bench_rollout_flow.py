"""Timings of rollout, attention flow and gradient x attention on MiniLM (medians of one run).

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.bench_rollout_flow [--quick]

Flow: ours (Dinic compiled with numba, float capacities, every pair asked for in one call) against
the reference method (one networkx Edmonds-Karp max-flow per pair on the full float graph), in the
same run. The reference is run on every pair at 16 tokens; at 64 tokens a full run would take hours,
so a few pairs of the [CLS] row are timed and the per-pair median is multiplied up (the printout says
so; ``--reference-row`` runs the whole [CLS] row there instead, several minutes, to compare
normalised values too). Ours is called once before timing (numba loads or compiles its machine code then); that
first call's time is printed on its own. Errors: largest |ours - networkx| on the pairs both
computed, raw and after normalising each row to sum 1.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from bench.common import median_seconds


def _median(function, repeats: int) -> float:
    """Median over ``repeats`` timed runs, no warm-up runs (the shared helper in bench.common)."""
    return median_seconds(function, repeats=repeats, warmup=0)


FILLER = (
    "the quick brown fox jumps over the lazy dog while a small cat watches from the warm window and "
    "the rain keeps falling on the quiet street where children play and old friends meet to talk "
) * 8



def _encoded(loaded, n_tokens: int) -> dict:
    import torch

    tokenizer = loaded.tokenizer
    body = tokenizer(FILLER, add_special_tokens=False)["input_ids"][: n_tokens - 2]
    ids = [tokenizer.cls_token_id, *body, tokenizer.sep_token_id]
    return {
        "input_ids": torch.tensor([ids]),
        "attention_mask": torch.ones(1, n_tokens, dtype=torch.long),
        "token_type_ids": torch.zeros(1, n_tokens, dtype=torch.long),
    }


def _peer_method_all_pairs(per_layer: np.ndarray, scale: int = 10**7) -> np.ndarray:
    """ANCHORS.md's peers: one scipy Dinic max-flow per pair on the full layered graph (built once)."""
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import maximum_flow

    n_layers, n, _ = per_layer.shape
    rows, cols, data = [], [], []
    for layer in range(1, n_layers + 1):
        to, frm = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        rows.append((layer - 1) * n + frm.ravel())
        cols.append(layer * n + to.ravel())
        data.append(np.rint(per_layer[layer - 1].ravel() * scale))
    size = (n_layers + 1) * n
    graph = csr_array((np.concatenate(data).astype(np.int32), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size))
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            out[i, j] = maximum_flow(graph, j, n_layers * n + i).flow_value / scale
    return out


def _format(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1000:.2f} ms"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and reference pairs (for a smoke run)")
    parser.add_argument(
        "--reference-row", action="store_true", help="at 64 tokens, run the reference on the whole [CLS] row (slow)"
    )
    args = parser.parse_args(argv)

    import torch

    from lessonkit.attention_flow import attention_flow, normalise_rows, reference_flow
    from lessonkit.gradient_attention import attention_gradients
    from lessonkit.model import load_model
    from lessonkit.rollout import attention_rollout, fuse_heads, residual_matrices
    from lessonkit.transformer_classifier import SentimentHead, load_head

    loaded = load_model()
    try:
        head = load_head()
    except Exception:  # the bench times arithmetic, not accuracy: a seeded head will do
        generator = torch.Generator().manual_seed(0)
        head = SentimentHead(torch.randn(2, loaded.facts.d_model, generator=generator), torch.zeros(2), {})
    repeats = 3 if args.quick else 15
    results: dict = {}
    print(f"torch threads: {torch.get_num_threads()}; medians; MiniLM {loaded.facts.n_layers} layers x {loaded.facts.n_heads} heads")
    for n in (16, 64):
        encoded = _encoded(loaded, n)
        with torch.inference_mode():
            for _ in range(2):  # warm-up
                loaded.model(**encoded, output_attentions=True)
            attn = torch.stack(loaded.model(**encoded, output_attentions=True).attentions)[:, 0].double().numpy()

        def forward():
            with torch.inference_mode():
                loaded.model(**encoded, output_attentions=True)

        attention_gradients(loaded, head, encoded)  # warm-up
        t_forward = _median(forward, repeats)
        t_gradient = _median(lambda: attention_gradients(loaded, head, encoded), repeats)
        t_rollout = _median(lambda: attention_rollout(attn), max(repeats, 50))
        per_layer = residual_matrices(fuse_heads(attn))
        start = time.perf_counter()
        attention_flow(per_layer, [0])  # numba: load (or on a new machine compile) the machine code
        t_first_call = time.perf_counter() - start
        t_row = _median(lambda: attention_flow(per_layer, [0]), repeats)
        t_all = _median(lambda: attention_flow(per_layer), 1 if n >= 64 else repeats)
        ours_row = attention_flow(per_layer, [0])[0]
        peers = _peer_method_all_pairs(per_layer)
        t_peers = _median(lambda: _peer_method_all_pairs(per_layer), 1 if n >= 64 else repeats)
        assert np.abs(peers[0] - ours_row).max() < 1e-5

        if n <= 16 and not args.quick:
            start = time.perf_counter()
            reference = reference_flow(per_layer)
            t_reference_all = time.perf_counter() - start
            t_reference_pair = t_reference_all / n**2
            ours_all = attention_flow(per_layer)
            error = float(np.abs(ours_all - reference).max())
            error_normalised = float(np.abs(normalise_rows(ours_all) - normalise_rows(reference)).max())
            reference_note = f"all {n * n} pairs run"
        elif args.reference_row:
            start = time.perf_counter()
            reference_row = reference_flow(per_layer, [0])
            t_reference_pair = (time.perf_counter() - start) / n
            t_reference_all = t_reference_pair * n**2
            error = float(np.abs(reference_row[0] - ours_row).max())
            error_normalised = float(np.abs(normalise_rows(reference_row) - normalise_rows(ours_row[None])).max())
            reference_note = f"ESTIMATED from the whole [CLS] row ({n} pairs) x {n}"
        else:
            inputs = [0, n // 2, n - 1] if args.quick else [0, 1, n // 3, n // 2, n - 1]
            pair_times, errors = [], []
            for j in inputs:
                start = time.perf_counter()
                value = reference_flow(per_layer, [0], [j])[0, j]
                pair_times.append(time.perf_counter() - start)
                errors.append(abs(value - ours_row[j]))
            t_reference_pair = statistics.median(pair_times)
            t_reference_all = t_reference_pair * n**2
            error = float(max(errors))
            error_normalised = float("nan")  # needs the whole reference row (--reference-row)
            reference_note = f"ESTIMATED from {len(inputs)} pairs of the [CLS] row x {n * n}"
        t_reference_row = t_reference_pair * n
        results[n] = dict(
            forward=t_forward, gradient=t_gradient, rollout=t_rollout, flow_row=t_row, flow_all=t_all,
            peers_all=t_peers, reference_row=t_reference_row, reference_all=t_reference_all, flow_error=error,
            flow_error_normalised=error_normalised, flow_first_call=t_first_call,
        )
        print(f"\n== {n} tokens ==")
        print(f"forward with attentions        {_format(t_forward)}")
        print(f"gradient x attention (fwd+bwd) {_format(t_gradient)}   = {t_gradient / t_forward:.1f} x forward")
        print(f"rollout (numpy, all layers)    {_format(t_rollout)}")
        print(f"flow, ours, first call         {_format(t_first_call)} (the first in a process imports numba and loads its compiled code)")
        print(f"flow, ours, one row ([CLS])    {_format(t_row)}")
        print(f"flow, ours, all {n * n} pairs     {_format(t_all)}")
        print(f"flow, peers' scipy, all pairs  {_format(t_peers)} (full graph, same machine, same run)")
        print(f"flow, reference (networkx)     {_format(t_reference_all)} all pairs ({reference_note}); "
              f"{_format(t_reference_row)} one row")
        print(f"speed-up, all pairs            {t_reference_all / t_all:,.0f} x")
        print(f"speed-up vs peers' method      {t_peers / t_all:.1f} x (all pairs)")
        print(f"speed-up, one row              {t_reference_row / t_row:,.0f} x")
        print(f"max |ours - networkx|          {error:.2e} raw, {error_normalised:.2e} rows normalised")
    print("\nANCHORS.md peers (scipy Dinic, all pairs): 0.09 s at 16 tokens, 4.6 s at 64.")
    return results


if __name__ == "__main__":
    main()
