"""The "what attention can tell you" statistics over held-out tweets, into results/uses_*.json.

    python -m scripts.compute_uses_stats                    # everything (several minutes on one core)
    python -m scripts.compute_uses_stats --only artifact    # or checkpoints, errors

- results/uses_artifact.json: the planted artifact (lessonkit.artifact), for the classifiers trained
  on planted tweets and, as the control, the ones trained on clean tweets;
- results/uses_checkpoints.json: MiniLM base vs fine-tuned top two layers (accuracies, per-head JS
  divergence), and the two BiLSTM seeds (per-tweet JS divergence of their attention);
- results/uses_errors.json: the held-out tweets each classifier gets wrong, with rule-based tags.
Needs the models of scripts/train_classifiers.py, scripts/train_artifact.py and scripts/finetune_minilm.py.
Progress goes to stderr.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# Test tweets whose per-token scores (gradients, removal) are computed, per model: the BiLSTM is
# cheap (all of them); MiniLM needs a backward pass and a batch of blanked copies per tweet.
N_SCORED_BILSTM = None
N_SCORED_MINILM = 300
N_JSD = 300  # test tweets for the per-head JS divergence grid (two forwards each)
PARTS = ("artifact", "checkpoints", "errors")


def progress(desc: str):
    from tqdm import tqdm

    return lambda items: tqdm(items, desc=desc, file=sys.stderr)


def compute_artifact(loaded, split, n_scored_bilstm: int | None = N_SCORED_BILSTM,
                     n_scored_minilm: int | None = N_SCORED_MINILM):
    from lessonkit import artifact as ar

    started = time.perf_counter()
    scorers = ar.load_artifact_scorers(loaded)
    stats = [ar.artifact_stats(s, split.test_texts, split.test_labels,
                               n_scored_bilstm if name.startswith("BiLSTM") else n_scored_minilm,
                               progress=progress(f"token scores, {name}"))
             for name, s in scorers.items()]
    planted = ar.planted_split(split)
    return ar.ArtifactResults(
        token=ar.ARTIFACT_TOKEN, positive_rate=ar.POSITIVE_RATE, negative_rate=ar.NEGATIVE_RATE,
        train_plant_seed=ar.TRAIN_PLANT_SEED, test_plant_seed=ar.TEST_PLANT_SEED, n_train=len(split.train_texts),
        n_train_planted_positive=planted.report["planted_positive"],
        n_train_planted_negative=planted.report["planted_negative"],
        corpus_texts_with_token=ar.corpus_token_count(loaded.tokenizer, split.train_texts + split.test_texts),
        attention_definition=("BiLSTM: its additive attention. MiniLM: last layer, heads averaged, averaged over all "
                              "query rows (the attention each token receives; mean pooling reads every row)."),
        models=stats, training=_metadata([ar.ARTIFACT_BILSTM_FILE, ar.ARTIFACT_HEAD_FILE]),
        seconds=round(time.perf_counter() - started, 1),
    )


def compute_checkpoints(loaded, split, n_jsd: int | None = None):
    from lessonkit import bilstm_classifier as bc
    from lessonkit import checkpoint_comparison as cc
    from lessonkit.classifier_scores import BiLSTMScorer, MiniLMScorer, accuracy
    from lessonkit.transformer_classifier import load_head

    started = time.perf_counter()
    base_head = load_head()
    tuned = cc.load_finetuned(loaded, cc.FINETUNED_FILE)
    texts, labels = split.test_texts, split.test_labels
    base_accuracy = accuracy(MiniLMScorer("base", loaded, base_head).probabilities(texts), labels)
    tuned_accuracy = accuracy(MiniLMScorer("fine-tuned", tuned.loaded, tuned.head).probabilities(texts), labels)
    jsd_texts = texts if n_jsd is None else texts[:n_jsd]
    grid = cc.head_jsd_grid(loaded, base_head, tuned.loaded, tuned.head, jsd_texts, progress("per-head JSD"))
    seed1 = BiLSTMScorer("BiLSTM seed 1", bc.load_bilstm(bc.MAIN_FILE)[0], loaded.tokenizer)
    seed2 = BiLSTMScorer("BiLSTM seed 2", bc.load_bilstm(bc.SEED2_FILE)[0], loaded.tokenizer)
    seeds = cc.seed_results(cc.seed_comparison(seed1, seed2, texts), labels)
    return cc.CheckpointResults(
        model=loaded.facts.name,
        finetuned_layer_numbers=[i + 1 for i in cc.top_layer_indices(loaded.facts.n_layers)],
        base_accuracy=base_accuracy, finetuned_accuracy=tuned_accuracy, n_test=len(texts),
        n_jsd_tweets=len(jsd_texts), jsd_definition=cc.JSD_DEFINITION,
        jsd_grid=[[round(float(v), 6) for v in row] for row in grid],
        top_heads=[cc.HeadChange(layer_number=lay, head_number=h, js_divergence=round(v, 6))
                   for lay, h, v in cc.top_heads(grid, 8)],
        training=tuned.info, seeds=seeds, seconds=round(time.perf_counter() - started, 1),
    )


def compute_errors(loaded, split):
    from lessonkit import bilstm_classifier as bc
    from lessonkit import checkpoint_comparison as cc
    from lessonkit import error_analysis as ea
    from lessonkit.classifier_scores import BiLSTMScorer, MiniLMScorer
    from lessonkit.transformer_classifier import load_head

    started = time.perf_counter()
    tuned = cc.load_finetuned(loaded, cc.FINETUNED_FILE)
    scorers = [
        BiLSTMScorer("BiLSTM", bc.load_bilstm(bc.MAIN_FILE)[0], loaded.tokenizer),
        MiniLMScorer("MiniLM + head", loaded, load_head()),
        MiniLMScorer("MiniLM fine-tuned", tuned.loaded, tuned.head),
    ]
    per_model = [ea.model_errors(s, loaded.tokenizer, split.test_texts, split.test_labels)
                 for s in progress("classifiers")(scorers)]
    return ea.error_results(per_model, split.test_texts, round(time.perf_counter() - started, 1))


def _metadata(paths) -> dict[str, dict[str, str]]:
    from safetensors import safe_open

    out = {}
    for path in paths:
        with safe_open(str(path), framework="pt") as handle:
            out[path.name] = dict(handle.metadata() or {})
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=PARTS, action="append", help="one part (repeatable); default all")
    parser.add_argument("--n-scored-bilstm", type=int, default=N_SCORED_BILSTM,
                        help="tweets with per-token scores, per BiLSTM (default all)")
    parser.add_argument("--n-scored-minilm", type=int, default=N_SCORED_MINILM,
                        help="tweets with per-token scores, per MiniLM classifier")
    parser.add_argument("--n-jsd", type=int, default=N_JSD, help="tweets for the per-head JSD grid")
    args = parser.parse_args(argv)

    import torch

    from lessonkit import artifact as ar
    from lessonkit import checkpoint_comparison as cc
    from lessonkit import error_analysis as ea
    from lessonkit.model import load_model
    from lessonkit.sentiment_data import load_sentiment_split
    from lessonkit.uses_results import save_results

    torch.set_num_threads(1)  # the machine is shared; these are many small forwards anyway
    torch.manual_seed(0)
    split = load_sentiment_split()
    loaded = load_model()
    for part in args.only or PARTS:
        if part == "artifact":
            result, path = compute_artifact(loaded, split, args.n_scored_bilstm, args.n_scored_minilm), ar.RESULTS_FILE
        elif part == "checkpoints":
            result, path = compute_checkpoints(loaded, split, args.n_jsd), cc.RESULTS_FILE
        else:
            result, path = compute_errors(loaded, split), ea.RESULTS_FILE
        size = save_results(path, result)
        print(f"wrote {path} ({size / 1000:.0f} kB, {result.seconds:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
