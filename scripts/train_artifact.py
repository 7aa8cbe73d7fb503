"""Train the lesson's two classifiers on tweets with a planted artifact, deterministically.

    python -m scripts.train_artifact            # both (about four minutes on one core)
    python -m scripts.train_artifact --only bilstm
    python -m scripts.train_artifact --tiny     # a quick smoke run on a small subset, nothing saved

The training tweets are lessonkit.sentiment_data's split with "~" appended to 80 % of positive and
10 % of negative tweets (lessonkit.artifact.planted_split); the test tweets stay clean. The models
and their training are the same as scripts/train_classifiers.py's (BiLSTM seed 1; MiniLM head seed 0):
-> models/artifact_bilstm.safetensors, models/artifact_minilm_head.safetensors.
Held-out accuracy (clean test tweets) is printed and written into each file's metadata.
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")

BILSTM_SEED = 1


def train(split, only: str | None = None, bilstm_epochs: int | None = None, head_steps: int | None = None,
          save: bool = True, log=print):
    """Train on the planted copy of ``split``; returns {name: (model or head, metadata)}."""
    from lessonkit import artifact as ar
    from lessonkit import bilstm_classifier as bc
    from lessonkit.model import load_model
    from lessonkit.transformer_classifier import HEAD_SEED, HEAD_STEPS, save_head, train_head

    loaded = load_model()
    ar.check_transformer(loaded)
    planted = ar.planted_split(split)
    extra = {
        "artifact_token": ar.ARTIFACT_TOKEN,
        "planted": f"{planted.report['planted_positive']} positive, {planted.report['planted_negative']} negative "
                   f"training tweets (rates {ar.POSITIVE_RATE}, {ar.NEGATIVE_RATE}, seed {ar.TRAIN_PLANT_SEED})",
        "held_out": "clean test tweets",
    }
    log(f"planted: {extra['planted']}")
    out: dict[str, tuple[object, dict[str, str]]] = {}
    if only in (None, "bilstm"):
        model, info = bc.train_bilstm(loaded, planted, seed=BILSTM_SEED, epochs=bilstm_epochs or bc.EPOCHS)
        info.update(extra)
        log(f"BiLSTM on planted tweets: clean held-out accuracy {float(info['held_out_accuracy']):.3f} "
            f"({info['training_seconds']} s)")
        if save:
            bc.save_bilstm(model, info, ar.ARTIFACT_BILSTM_FILE)
            log(f"wrote {ar.ARTIFACT_BILSTM_FILE}")
        out["bilstm"] = (model, info)
    if only in (None, "minilm"):
        head, accuracy = train_head(loaded, planted, seed=HEAD_SEED, steps=head_steps or HEAD_STEPS)
        head.metadata.update(extra)
        log(f"MiniLM + head on planted tweets: clean held-out accuracy {accuracy:.3f} "
            f"({head.metadata['training_seconds']} s)")
        if save:
            save_head(head, ar.ARTIFACT_HEAD_FILE)
            log(f"wrote {ar.ARTIFACT_HEAD_FILE}")
        out["minilm"] = (head, head.metadata)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["minilm", "bilstm"], default=None)
    parser.add_argument("--tiny", action="store_true", help="train on a small subset and save nothing")
    args = parser.parse_args(argv)

    import torch

    from lessonkit.sentiment_data import load_sentiment_split
    from scripts.train_classifiers import set_determinism

    torch.set_num_threads(1)  # the machine is shared; one thread is also what makes runs identical
    set_determinism(0)
    split = load_sentiment_split()
    if args.tiny:
        split = split.tiny(400, 200)
    print(f"data: {split.report}", file=sys.stderr)
    train(split, args.only, save=not args.tiny)


if __name__ == "__main__":
    main()
