"""Measure every head of the shipped model over the lesson's sentences, for the two head pages.

    HF_HUB_OFFLINE=1 .venv/bin/python -m scripts.compute_head_stats [--batch-size 16]

Runs the probe library, the Winograd twins and the hand-labelled syntax sentences through the
model in padded batches (lessonkit.head_stats) and writes results/head_stats.json, which the
head finder and head accuracy pages read instead of running ~150 forwards on a first visit.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--model", default=None, help="a model folder (default: the shipped model)")
    parser.add_argument("--output", type=Path, default=None, help="default: results/head_stats.json")
    args = parser.parse_args(argv)

    from tqdm import tqdm

    from lessonkit.head_stats import RESULT_FILE, compute_head_stats, save_head_stats
    from lessonkit.model import load_model

    loaded = load_model(args.model)
    output = args.output or RESULT_FILE
    start = time.perf_counter()
    with tqdm(desc="sentences", unit="sentence") as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        stats = compute_head_stats(loaded, batch_size=args.batch_size, progress=progress)
    seconds = time.perf_counter() - start
    save_head_stats(stats, loaded.facts, seconds, output)
    print(f"{loaded.facts.name}: wrote {output} in {seconds:.1f} s")
    return output


if __name__ == "__main__":
    main()
