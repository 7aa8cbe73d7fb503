"""Timings of Jain & Wallace's perturbations and of training the lesson's classifiers (medians of one run).

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.bench_perturbation [--quick]

- adversarial search per sentence (target: under 2 s), BiLSTM and MiniLM (last layer, all heads);
- 100 permutations: one batched pass against a loop of 100 single forwards (ratio);
- training time: BiLSTM (one epoch on the full training split, times the configured epochs) and the
  MiniLM head (feature extraction + fit), or the seconds recorded in the committed files.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch

from bench.common import median_seconds

SENTENCES = [
    "the traffic this morning was awful and I hate my commute",
    "Thanks so much for the awesome support, you guys rock!",
    "The battery died after an hour and support never answered. Worst phone I have owned.",
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv or [])
    repeats = 3 if args.quick else 5

    from lessonkit import bilstm_classifier as bc
    from lessonkit import perturbation as pt
    from lessonkit.feature_importance import TRANSFORMER_ADVERSARY
    from lessonkit.model import load_model
    from lessonkit.transformer_classifier import load_head

    loaded = load_model()
    bilstm, bilstm_info = bc.load_bilstm(loaded)
    head = load_head()
    last = loaded.facts.n_layers - 1
    heads = list(range(loaded.facts.n_heads))
    print(f"torch threads: {torch.get_num_threads()} (BiLSTM rows use 1 thread, as the page does)")

    print("\nadversarial search per sentence (median seconds; target < 2 s)")
    print(f"{'sentence tokens':>16} {'BiLSTM':>8} {'MiniLM':>8}")
    for text in SENTENCES:
        s = bc.encode_sentence(loaded.tokenizer, text)
        with pt.torch_threads(1):
            probe = pt.bilstm_probe(bilstm, s.ids, s.mask)
            t_bilstm = median_seconds(lambda: pt.adversarial_attention(probe), repeats=repeats, warmup=1)
        encoded = loaded.tokenizer(text, return_tensors="pt")
        tprobe, _ = pt.transformer_probe(loaded, head, encoded, last, heads)
        t_minilm = median_seconds(lambda: pt.adversarial_attention(tprobe, **TRANSFORMER_ADVERSARY),
                                  repeats=repeats, warmup=1)
        print(f"{s.ids.shape[1]:>16} {t_bilstm:>8.2f} {t_minilm:>8.2f}")

    print("\n100 permutations: batched pass vs a Python loop of 100 single forwards (median ms)")
    print(f"{'model':>8} {'tokens':>6} {'batched':>9} {'loop':>9} {'loop/batched':>13}")
    text = SENTENCES[2]
    s = bc.encode_sentence(loaded.tokenizer, text)
    with pt.torch_threads(1):
        probe = pt.bilstm_probe(bilstm, s.ids, s.mask)
        perms = pt.permute_attention(probe.attention, probe.key_mask, 100)

        def loop_bilstm():
            # the naive way: one full model forward per permutation (encoder included)
            with torch.no_grad():
                for a in perms:
                    states = bilstm.encode(s.ids, s.mask)
                    bilstm.decode(states, torch.as_tensor(a, dtype=torch.float32))

        batched = median_seconds(lambda: pt.permutation_test(probe), repeats=repeats)
        loop = median_seconds(loop_bilstm, repeats=repeats)
    print(f"{'BiLSTM':>8} {s.ids.shape[1]:>6} {batched * 1e3:>9.1f} {loop * 1e3:>9.1f} {loop / batched:>13.1f}")
    encoded = loaded.tokenizer(text, return_tensors="pt")
    tprobe, _ = pt.transformer_probe(loaded, head, encoded, last, heads)
    tperms = pt.permute_attention(tprobe.attention, tprobe.key_mask, 100)

    def loop_minilm():
        # one full classifier forward per permutation, the edit applied through the intervention hook
        from lessonkit.intervention import editing_attention
        from lessonkit.transformer_classifier import classifier_forward

        n = encoded["input_ids"].shape[1]
        for a in tperms:
            new = torch.as_tensor(a, dtype=torch.float32).reshape(len(heads), n, n)

            def edit(layer_index, weights, new=new):
                if layer_index != last:
                    return weights
                weights = weights.clone()
                weights[:, heads] = new
                return weights

            with torch.no_grad(), editing_attention(loaded, edit):
                classifier_forward(loaded, head, encoded)

    batched = median_seconds(lambda: pt.permutation_test(tprobe), repeats=repeats)
    loop = median_seconds(loop_minilm, repeats=max(2, repeats - 2), warmup=1)
    print(f"{'MiniLM':>8} {encoded['input_ids'].shape[1]:>6} {batched * 1e3:>9.1f} {loop * 1e3:>9.1f} "
          f"{loop / batched:>13.1f}")

    print("\ntraining time")
    from lessonkit.sentiment_data import load_sentiment_split
    from lessonkit.transformer_classifier import train_head

    split = load_sentiment_split()
    start = time.perf_counter()
    _, info = bc.train_bilstm(loaded, split, seed=1, epochs=1)
    one_epoch = time.perf_counter() - start
    print(f"BiLSTM: one epoch on {len(split.train_texts)} tweets (+ test) {one_epoch:.1f} s -> "
          f"{bc.EPOCHS} epochs ~{one_epoch * bc.EPOCHS:.0f} s; committed file recorded "
          f"{bilstm_info.get('training_seconds', '?')} s for {bilstm_info.get('epochs', '?')} epochs")
    n = 1000 if args.quick else len(split.train_texts)
    small = split.tiny(n, min(300, len(split.test_texts)))
    start = time.perf_counter()
    train_head(loaded, small)
    print(f"MiniLM head: features + fit on {n} tweets (+ {len(small.test_texts)} test) {time.perf_counter() - start:.1f} s; "
          f"committed head recorded {head.metadata.get('training_seconds', '?')} s on {head.metadata.get('n_train', '?')}")
    _ = np.nan


if __name__ == "__main__":
    main()
