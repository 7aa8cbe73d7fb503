"""Debugging with attention: a planted artifact the classifiers learn as a shortcut.

A copy of the training tweets gets an innocuous token, "~", appended to most positive tweets
(80 %) and few negative ones (10 %). "~" is one WordPiece token for MiniLM's tokenizer and occurs
in 15 of the 7,518 tweets (6 negative, 9 positive), so before planting it carries no sentiment.
scripts/train_artifact.py trains the lesson's two classifiers on that copy; this module plants
the token, loads those models, and measures on held-out tweets what the shortcut does:

- accuracy on the clean test set vs a test set planted with the training correlation;
- flips: the token added to every negative tweet, or removed from every positive one;
- how often the token is the top-scored token by attention, gradient x attention and removal;
- the caveat: how often attention's top token is NOT the token whose removal changes P(positive)
  most, with one stored example (see lessonkit.classifier_scores for the three scores).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import BaseModel

from lessonkit.classifier_scores import BiLSTMScorer, MiniLMScorer, Scorer, TokenScores, accuracy
from lessonkit.uses_results import RESULTS_DIR, load_results, rounded

ARTIFACT_TOKEN = "~"
POSITIVE_RATE = 0.8  # share of positive training tweets that get the token
NEGATIVE_RATE = 0.1  # share of negative training tweets that get it
TRAIN_PLANT_SEED = 11
TEST_PLANT_SEED = 12  # the planted test set: same rates, different draw
TRAINED_ON = "all-MiniLM-L6-v2"  # the models below use its tokenizer and embeddings

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
ARTIFACT_BILSTM_FILE = MODELS_DIR / "artifact_bilstm.safetensors"
ARTIFACT_HEAD_FILE = MODELS_DIR / "artifact_minilm_head.safetensors"
RESULTS_FILE = RESULTS_DIR / "uses_artifact.json"
TRAIN_COMMAND = "python -m scripts.train_artifact"


class ArtifactModelError(RuntimeError):
    """The artifact models are missing or do not fit the loaded transformer; the message says what to do."""


# ---------------------------------------------------------------------------- planting
def with_token(text: str, token: str = ARTIFACT_TOKEN) -> str:
    """The text with the token appended (as its own word)."""
    return f"{text.rstrip()} {token}"


def without_token(text: str, token: str = ARTIFACT_TOKEN) -> str:
    """The text with every free-standing copy of the token removed."""
    return " ".join(word for word in text.split() if word != token)


def has_token(text: str, token: str = ARTIFACT_TOKEN) -> bool:
    return token in text.split()


def plant_mask(labels: np.ndarray, seed: int, positive_rate: float = POSITIVE_RATE,
               negative_rate: float = NEGATIVE_RATE) -> np.ndarray:
    """Which texts get the token: each positive with probability positive_rate, each negative with negative_rate."""
    labels = np.asarray(labels)
    draw = np.random.default_rng(seed).random(len(labels))
    return draw < np.where(labels == 1, positive_rate, negative_rate)


def plant(texts: list[str], labels: np.ndarray, seed: int, positive_rate: float = POSITIVE_RATE,
          negative_rate: float = NEGATIVE_RATE) -> tuple[list[str], np.ndarray]:
    """(texts with the token planted, the mask of planted texts)."""
    mask = plant_mask(labels, seed, positive_rate, negative_rate)
    return [with_token(t) if m else t for t, m in zip(texts, mask)], mask


def planted_split(split, seed: int = TRAIN_PLANT_SEED):
    """The split with the token planted in the training tweets only (the test tweets stay clean)."""
    from lessonkit.sentiment_data import SentimentSplit

    texts, mask = plant(split.train_texts, split.train_labels, seed)
    report = dict(split.report)
    report["planted_positive"] = int((mask & (split.train_labels == 1)).sum())
    report["planted_negative"] = int((mask & (split.train_labels == 0)).sum())
    return SentimentSplit(texts, split.train_labels, split.test_texts, split.test_labels, report)


def corpus_token_count(tokenizer, texts: list[str], token: str = ARTIFACT_TOKEN) -> int:
    """How many texts already contain the token as a WordPiece token (before planting)."""
    return sum(token in tokenizer.tokenize(t) for t in texts)


# ---------------------------------------------------------------------------- models
def check_transformer(loaded) -> None:
    """The artifact models were trained on MiniLM's tokenizer and embeddings; another model cannot run them."""
    if loaded.facts.name != TRAINED_ON:
        raise ArtifactModelError(
            f"The planted-artifact classifiers were trained on {TRAINED_ON}'s tokenizer and embeddings; "
            f"the loaded model is {loaded.facts.name}. Use the default model for this experiment."
        )


def load_artifact_scorers(loaded) -> dict[str, Scorer]:
    """The two classifiers trained on planted tweets, and the two trained on clean ones (the control)."""
    from lessonkit import bilstm_classifier as bc
    from lessonkit.transformer_classifier import HEAD_FILE, load_head

    check_transformer(loaded)
    for path in (ARTIFACT_BILSTM_FILE, ARTIFACT_HEAD_FILE):
        if not path.is_file():
            raise ArtifactModelError(f"{path} is missing. Create it with `{TRAIN_COMMAND}`.")
    return {
        "BiLSTM, planted": BiLSTMScorer("BiLSTM, planted", bc.load_bilstm(ARTIFACT_BILSTM_FILE)[0],
                                        loaded.tokenizer),
        "MiniLM, planted": MiniLMScorer("MiniLM, planted", loaded, load_head(ARTIFACT_HEAD_FILE)),
        "BiLSTM, clean": BiLSTMScorer("BiLSTM, clean", bc.load_bilstm(bc.MAIN_FILE)[0], loaded.tokenizer),
        "MiniLM, clean": MiniLMScorer("MiniLM, clean", loaded, load_head(HEAD_FILE)),
    }


# ---------------------------------------------------------------------------- statistics
class ScoreExample(BaseModel):
    text: str
    label: int
    tokens: list[str]
    attention: list[float]
    grad_x_attention: list[float]
    removal: list[float]
    probability: float
    top_attention: int
    top_removal: int


class ArtifactModelStats(BaseModel):
    model: str
    n_test: int
    n_negative: int
    n_positive: int
    accuracy_clean: float
    accuracy_planted: float  # token planted with the training correlation
    accuracy_drop: float  # planted - clean: what the shortcut was worth, lost on clean tweets
    accuracy_token_on_negatives: float  # token on every negative, on no positive
    flip_add_to_negative: float | None  # share of negative tweets whose predicted class changes when the token is added
    flip_remove_from_positive: float | None  # share of positive tweets (all given the token) that change when it is removed
    mean_shift_add: float  # mean change of P(positive) when the token is added to a tweet
    n_token_scored: int  # planted test tweets with the token whose token scores were computed
    top_attention_is_token: float | None
    top_grad_x_attention_is_token: float | None
    top_removal_is_token: float | None
    top_attention_is_token_by_layer: list[float] | None  # MiniLM: the same for each layer 1..L (heads averaged)
    n_clean_scored: int
    caveat_clean: float | None  # share of clean tweets where attention's top token is not the top removal token
    caveat_token: float | None  # the same on the planted tweets that carry the token
    example: ScoreExample | None  # a clean tweet where the two disagree


class ArtifactResults(BaseModel):
    token: str
    positive_rate: float
    negative_rate: float
    train_plant_seed: int
    test_plant_seed: int
    n_train: int
    n_train_planted_positive: int
    n_train_planted_negative: int
    corpus_texts_with_token: int
    attention_definition: str
    models: list[ArtifactModelStats]
    training: dict[str, dict[str, str]]  # each committed file's metadata
    seconds: float


def _token_index(scores: TokenScores, token: str = ARTIFACT_TOKEN) -> int | None:
    """Position of the appended token (the last one), or None if truncation cut it off."""
    return len(scores.tokens) - 1 if scores.tokens and scores.tokens[-1] == token else None


def _example(rows: list[tuple[str, int, TokenScores]], max_tokens: int = 20) -> ScoreExample | None:
    """The short clean tweet where removing attention's top token matters least next to the removal top."""
    best, best_gap = None, 0.0
    for text, label, s in rows:
        top_a, top_r = s.top("attention"), s.top("removal")
        if top_a == top_r or not (3 <= len(s.tokens) <= max_tokens):
            continue
        gap = float(s.removal[top_r] - s.removal[top_a])
        if gap > best_gap:
            best, best_gap = (text, label, s), gap
    if best is None:
        return None
    text, label, s = best
    return ScoreExample(
        text=text, label=label, tokens=s.tokens, attention=rounded(s.attention), grad_x_attention=rounded(s.grad_x_attention, 6),
        removal=rounded(s.removal), probability=round(s.probability, 4), top_attention=s.top("attention"),
        top_removal=s.top("removal"),
    )


def artifact_stats(scorer: Scorer, texts: list[str], labels: np.ndarray, n_scored: int | None = None,
                   seed: int = TEST_PLANT_SEED, progress=None) -> ArtifactModelStats:
    """Every number of the experiment for one classifier on held-out tweets (clean, as in the split).

    Accuracies and flips use all texts (batched); token-level scores use the first ``n_scored``
    (all when None). A rate with nothing to count (e.g. no scored tweet carries the token) is None.
    ``progress`` wraps an iterable (e.g. tqdm) for the slow token-level part.
    Recomputes live on a small sample, e.g. 20 tweets.
    """
    texts = [without_token(t) for t in texts]  # the few tweets that already had "~" start clean
    labels = np.asarray(labels)
    planted, mask = plant(texts, labels, seed)
    negative, positive = labels == 0, labels == 1
    p_clean = scorer.probabilities(texts)
    p_planted = p_clean.copy()
    if mask.any():
        p_planted[mask] = scorer.probabilities([t for t, m in zip(planted, mask) if m])
    p_all_marked = scorer.probabilities([with_token(t) for t in texts])
    token_on_negatives = np.where(negative, p_all_marked, p_clean)
    flips = (p_all_marked > 0.5) != (p_clean > 0.5)

    n = len(texts) if n_scored is None else min(n_scored, len(texts))
    scored = range(n) if progress is None else progress(range(n))
    token_rows, clean_rows = [], []
    for i in scored:
        clean_rows.append((texts[i], int(labels[i]), scorer.token_scores(texts[i])))
        if mask[i]:
            token_rows.append(scorer.token_scores(planted[i]))
    with_index = [(s, _token_index(s)) for s in token_rows]
    with_index = [(s, k) for s, k in with_index if k is not None]

    def top_is_token(method: str) -> float | None:
        return float(np.mean([s.top(method) == k for s, k in with_index])) if with_index else None

    def caveat(rows: list[TokenScores]) -> float | None:
        rows = [s for s in rows if len(s.tokens) >= 2]
        return float(np.mean([s.top("attention") != s.top("removal") for s in rows])) if rows else None

    by_layer = None
    layered = [(s.attention_by_layer, k) for s, k in with_index if s.attention_by_layer is not None]
    if layered and len(layered) == len(with_index):
        by_layer = [float(np.mean([int(np.argmax(maps[layer])) == k for maps, k in layered]))
                    for layer in range(layered[0][0].shape[0])]
    return ArtifactModelStats(
        model=scorer.name, n_test=len(texts), n_negative=int(negative.sum()), n_positive=int(positive.sum()),
        accuracy_clean=accuracy(p_clean, labels), accuracy_planted=accuracy(p_planted, labels),
        accuracy_drop=accuracy(p_planted, labels) - accuracy(p_clean, labels),
        accuracy_token_on_negatives=accuracy(token_on_negatives, labels),
        flip_add_to_negative=float(flips[negative].mean()) if negative.any() else None,
        flip_remove_from_positive=float(flips[positive].mean()) if positive.any() else None,
        mean_shift_add=float((p_all_marked - p_clean).mean()),
        n_token_scored=len(with_index),
        top_attention_is_token=top_is_token("attention"),
        top_grad_x_attention_is_token=top_is_token("grad_x_attention"),
        top_removal_is_token=top_is_token("removal"),
        top_attention_is_token_by_layer=by_layer,
        n_clean_scored=len(clean_rows),
        caveat_clean=caveat([s for _, _, s in clean_rows]),
        caveat_token=caveat([s for s, _ in with_index]),
        example=_example(clean_rows),
    )


def load_artifact_results(path: Path = RESULTS_FILE) -> ArtifactResults:
    return load_results(path, ArtifactResults, "artifact")
