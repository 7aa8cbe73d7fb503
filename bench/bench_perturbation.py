"""Jain & Wallace's lab, before and after issue 13, measured in one run (medians; ratios are what to compare).

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.bench_perturbation [--quick] [--training]

- the transformer's adversary for one 64-token sentence at layers 1, 3 and the last, all heads:
  before (bench/jain_wallace_before.py: 60 steps, whole layer re-run through the edit hook) against
  the live lab now (lessonkit.jain_wallace: 100 shuffles + adversary under LIVE_LAB_SECONDS), with
  the JSD reached and the output change of each (same quality = JSD close, change <= 0.01);
- 100 permutations at 16, 32 and 64 tokens: one batched pass (before and now) against a loop of 100
  single full classifier forwards with the attention edit (the anchor; target >= 10x);
- the BiLSTM's adversary and permutations (J&W's own setting);
- with --training: training time of a BiLSTM epoch and of the MiniLM head.
Wall seconds and CPU seconds of this process are both printed: on a shared machine the wall time
grows with other people's load, the CPU time much less.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from bench import jain_wallace_before as before
from bench.common import sentence_of_tokens


def timed(function, repeats: int):
    """(median wall s, median CPU s, last result) over ``repeats`` runs after one warm-up."""
    result = function()
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--training", action="store_true", help="also time the classifiers' training")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: steadiest on a shared machine)")
    parser.add_argument("--part", choices=["all", "adversary", "permutations", "bilstm"], default="all")
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    repeats = 1 if args.quick else 3

    from lessonkit.model import load_model
    from lessonkit.transformer_classifier import load_head

    loaded = load_model()
    head = load_head()
    n_layers, heads = loaded.facts.n_layers, list(range(loaded.facts.n_heads))
    print(f"torch threads: {torch.get_num_threads()}")

    parts = {"adversary", "permutations", "bilstm"} if args.part == "all" else {args.part}
    if "adversary" in parts:
        adversary_rows(loaded, head, n_layers, heads, repeats)
    if "permutations" in parts:
        permutation_rows(loaded, head, n_layers, heads, repeats)
    if "bilstm" in parts:
        bilstm_rows(repeats)
    if args.training:
        training_rows(loaded)


def adversary_rows(loaded, head, n_layers, heads, repeats):
    from lessonkit import jain_wallace as jw

    print("\nMiniLM adversary, one 64-token sentence, all heads (wall s / CPU s; JSD nats; |change|)")
    print(f"{'layer':>5} | {'before: 60 steps':>34} | {'now: whole live lab (budget)':>40} | {'wall ratio':>10}")
    encoded = loaded.tokenizer(sentence_of_tokens(64), return_tensors="pt")
    for layer in sorted({0, 2, n_layers - 1}):
        old_probe, _ = before.transformer_probe(loaded, head, encoded, layer, heads)
        w0, c0, r0 = timed(lambda: before.adversarial_attention(old_probe, restarts=4, steps=60, lr=0.1), repeats)
        tokens = loaded.tokenizer.convert_ids_to_tokens(encoded["input_ids"][0].tolist())

        def live_lab():
            probe, _ = jw.transformer_probe(loaded, head, encoded, layer, heads)
            return jw.run_lab(probe, tokens, adversary=jw.LIVE_TRANSFORMER_ADVERSARY, time_budget=jw.LIVE_LAB_SECONDS)

        w1, c1, r1 = timed(live_lab, repeats)
        a = r1.adversarial
        print(f"{layer + 1:>5} | {w0:6.2f} / {c0:5.2f}  JSD {r0.jsd:.3f} {r0.change:.4f} | "
              f"{w1:6.2f} / {c1:5.2f}  JSD {a.jsd:.3f} {a.change:.4f} ({a.steps_run} st) | {w0 / w1:>10.1f}")


def permutation_rows(loaded, head, n_layers, heads, repeats):
    from lessonkit import jain_wallace as jw
    from lessonkit.intervention import editing_attention
    from lessonkit.transformer_classifier import classifier_forward

    threads = torch.get_num_threads()
    print(f"\n100 permutations, last layer, all heads, {threads} torch thread(s): batched vs a loop of 100 single "
          "full forwards (wall s / CPU s)")
    print(f"{'tokens':>6} {'loop':>15} {'before':>15} {'now':>15} {'loop/before':>12} {'loop/now wall':>14} {'CPU':>6}")
    last = n_layers - 1
    for n_tokens in (16, 32, 64):
        enc = loaded.tokenizer(sentence_of_tokens(n_tokens), return_tensors="pt")
        probe, _ = jw.transformer_probe(loaded, head, enc, last, heads)
        old_probe, _ = before.transformer_probe(loaded, head, enc, last, heads)
        perms = jw.permute_attention(probe.attention, probe.key_mask, 100)

        def loop():
            with torch.no_grad():
                for a in perms:
                    new = torch.as_tensor(a, dtype=torch.float32).reshape(1, len(heads), n_tokens, n_tokens)
                    with editing_attention(loaded, jw.replace_heads(last, heads, new)):
                        classifier_forward(loaded, head, enc)

        w_loop, c_loop, _ = timed(loop, max(1, repeats - 1))
        w_old, c_old, _ = timed(lambda: before.permutation_test(old_probe), repeats)
        w_new, c_new, _ = timed(lambda: jw.permutation_test(probe), repeats)
        print(f"{n_tokens:>6} {w_loop:>6.3f} / {c_loop:>6.3f} {w_old:>6.3f} / {c_old:>6.3f} {w_new:>6.3f} / {c_new:>6.3f} "
              f"{w_loop / w_old:>12.1f} {w_loop / w_new:>14.1f} {c_loop / c_new:>6.1f}")


def bilstm_rows(repeats):
    from lessonkit import bilstm_classifier as bc
    from lessonkit import jain_wallace as jw

    print("\nBiLSTM (J&W's setting), the default sentence")
    model, info = bc.load_bilstm(bc.MAIN_FILE)
    s = bc.encode_sentence(bc.shipped_tokenizer(), "The battery died after an hour and support never answered.")
    probe = jw.bilstm_probe(model, s.ids, s.mask)
    w, c, r = timed(lambda: jw.adversarial_attention(probe, **jw.BILSTM_ADVERSARY), repeats)
    print(f"adversary: {w:.2f} s wall / {c:.2f} s CPU, JSD {r.jsd:.3f}, |change| {r.change:.4f}")
    perms = jw.permute_attention(probe.attention, probe.key_mask, 100)

    def loop_bilstm():
        with torch.no_grad():
            for a in perms:  # the naive way: the whole model per permutation
                bilstm_states = model.encode(s.ids, s.mask)
                model.decode(bilstm_states, torch.as_tensor(a, dtype=torch.float32))

    _, c_loop, _ = timed(loop_bilstm, repeats)
    _, c_batch, _ = timed(lambda: jw.permutation_test(probe), repeats)
    print(f"100 permutations: loop {c_loop * 1e3:.1f} ms, batched {c_batch * 1e3:.1f} ms CPU ({c_loop / c_batch:.0f}x)")


def training_rows(loaded):
    from lessonkit import bilstm_classifier as bc
    from lessonkit.sentiment_data import load_sentiment_split
    from lessonkit.transformer_classifier import train_head

    _, info = bc.load_bilstm(bc.MAIN_FILE)
    split = load_sentiment_split()
    start = time.perf_counter()
    bc.train_bilstm(loaded, split, seed=1, epochs=1)
    print(f"\nBiLSTM: one epoch on {len(split.train_texts)} tweets {time.perf_counter() - start:.1f} s "
          f"(committed file: {info.get('training_seconds', '?')} s for {info.get('epochs', '?')} epochs)")
    small = split.tiny(1000, min(300, len(split.test_texts)))
    start = time.perf_counter()
    train_head(loaded, small)
    print(f"MiniLM head: features + fit on 1000 tweets {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
