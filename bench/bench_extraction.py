"""One forward pass with all attention maps (the floor) vs one full extraction call.

Run: python -m bench.bench_extraction
"""
from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from bench.common import median_seconds, sentence_of_tokens
from lessonkit.analysis import analyse_sentence
from lessonkit.model import load_model


def main() -> None:
    loaded = load_model()
    print(f"model: {loaded.facts.name} ({loaded.facts.n_layers} x {loaded.facts.n_heads}), torch threads: "
          f"{torch.get_num_threads()}")
    print(f"{'tokens':>6} {'forward (ms)':>13} {'extraction (ms)':>16} {'extraction / forward':>21}")
    for n_tokens in (16, 64, 256):
        text = sentence_of_tokens(n_tokens)
        encoded = loaded.tokenizer(text, return_tensors="pt")
        assert encoded["input_ids"].shape[1] == n_tokens

        def forward():
            with torch.inference_mode():
                loaded.model(**encoded, output_attentions=True)

        forward_s = median_seconds(forward, repeats=9)
        extraction_s = median_seconds(lambda: analyse_sentence(loaded, text), repeats=9)
        print(f"{n_tokens:>6} {forward_s * 1e3:>13.1f} {extraction_s * 1e3:>16.1f} {extraction_s / forward_s:>21.2f}")


if __name__ == "__main__":
    main()
