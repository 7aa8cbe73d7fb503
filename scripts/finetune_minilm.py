"""Fine-tune MiniLM's top two layers and the sentiment head on the tweets, deterministically.

    python -m scripts.finetune_minilm           # 2,000 training tweets, 2 epochs (a few minutes on one core)
    python -m scripts.finetune_minilm --tiny    # a quick smoke run on a small subset, nothing saved

Starts from the frozen encoder + the committed head (models/minilm_sentiment_head.safetensors) and
writes only what changed to models/minilm_finetuned_top2.safetensors (see
lessonkit.checkpoint_comparison). Held-out accuracy of the rebuilt model (base + stored deltas),
on the whole test split, is printed and written into the file's metadata.
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import asdict

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def run(split, settings, save: bool = True, log=print, progress=None):
    """Fine-tune on ``split.train_*``; returns (Finetuned rebuilt from the stored form, info)."""
    from lessonkit import checkpoint_comparison as cc
    from lessonkit.classifier_scores import MiniLMScorer, accuracy
    from lessonkit.model import load_model
    from lessonkit.transformer_classifier import load_head

    loaded = load_model()
    base_head = load_head()
    deltas, head, seconds = cc.finetune(loaded, base_head, split.train_texts, split.train_labels, settings, progress)
    rebuilt = cc.Finetuned(cc.apply_deltas(loaded, deltas), head, {})
    held_out = accuracy(MiniLMScorer("fine-tuned", rebuilt.loaded, head).probabilities(split.test_texts),
                        split.test_labels)
    info = {
        "model": loaded.facts.name,
        "finetuned_layers": ",".join(str(i + 1) for i in cc.top_layer_indices(loaded.facts.n_layers)),
        "held_out_accuracy": f"{held_out:.4f}",
        "base_head_held_out_accuracy": base_head.metadata.get("held_out_accuracy", ""),
        "n_test": str(len(split.test_texts)),
        "training_seconds": f"{seconds:.1f}",
        "storage": "delta.* = fine-tuned minus base weight (float16); head.* = fine-tuned head (float32)",
        "start": "frozen encoder + models/minilm_sentiment_head.safetensors; eval mode (no dropout), AdamW",
        **{k: str(v) for k, v in asdict(settings).items()},
    }
    info["n_train"] = str(min(settings.n_train, len(split.train_texts)))
    log(f"fine-tuned layers {info['finetuned_layers']} + head on {info['n_train']} tweets in {seconds:.1f} s: "
        f"held-out accuracy {held_out:.3f} (base + head {info['base_head_held_out_accuracy']})")
    if save:
        cc.save_finetuned(deltas, head, info)
        log(f"wrote {cc.FINETUNED_FILE} ({cc.FINETUNED_FILE.stat().st_size / 1e6:.1f} MB)")
    rebuilt.info.update(info)
    return rebuilt, info


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="train on a small subset and save nothing")
    args = parser.parse_args(argv)

    import torch
    from tqdm import tqdm

    from lessonkit.checkpoint_comparison import FinetuneSettings
    from lessonkit.sentiment_data import load_sentiment_split

    torch.set_num_threads(1)  # the machine is shared; one thread also keeps runs identical
    torch.use_deterministic_algorithms(True, warn_only=True)
    split = load_sentiment_split()
    settings = FinetuneSettings()
    if args.tiny:
        split, settings = split.tiny(300, 200), FinetuneSettings(n_train=300, epochs=1)
    print(f"data: {split.report}", file=sys.stderr)

    def progress(items):
        return tqdm(items, desc="fine-tuning batches", file=sys.stderr)

    run(split, settings, save=not args.tiny, progress=progress)


if __name__ == "__main__":
    main()
