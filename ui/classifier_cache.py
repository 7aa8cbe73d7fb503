"""Cached sentiment head and per-sentence gradient results for the gradient, rollout and faithfulness pages.

The head file is loaded once per server (keyed on its modification time, so a freshly trained
head is picked up); per-sentence results are st.cache_data, so moving a layer or head slider
never runs the model again.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from lessonkit.analysis import InputError
from lessonkit.gradient_attention import GradientResult, ablation_loss_changes, attention_gradients, encode_text
from lessonkit.model import LoadedModel
from lessonkit.transformer_classifier import HEAD_FILE, ClassifierMissingError, SentimentHead, load_head
from ui.models import get_model

PAGE_TOKEN_LIMIT = 128  # the gradient, ablation and flow views refuse longer inputs with a message


@st.cache_resource(show_spinner="Loading the sentiment head…")
def _cached_head(path: str, modified: float) -> SentimentHead:
    return load_head(Path(path))


def head_key(path: Path = HEAD_FILE) -> str:
    """A cache key that changes when the head file is replaced."""
    return f"{path}:{path.stat().st_mtime_ns}" if path.is_file() else "missing"


def get_classifier_head(path: Path = HEAD_FILE) -> SentimentHead | None:
    """The trained head, or None after telling the learner how to create it."""
    try:
        if not path.is_file():
            load_head(path)  # raises with the message naming the script
        return _cached_head(str(path), path.stat().st_mtime)
    except ClassifierMissingError as error:
        st.info(
            f"**The sentiment classifier is not trained yet.** {error} The views that need a prediction "
            "will appear once it exists.",
            icon="🧪",
        )
        return None


def classifier_or_stop() -> tuple[LoadedModel, SentimentHead]:
    """The editable MiniLM and its trained head; if either is missing, the page stops after saying why."""
    loaded = get_model()
    if loaded is None:
        st.stop()
    head = get_classifier_head()
    if head is None:
        st.stop()
    return loaded, head


@st.cache_data(max_entries=64, show_spinner="Running the classifier forward and backward…")
def _cached_gradients(
    _loaded: LoadedModel, _head: SentimentHead, model_source: str, head_id: str, text: str, target: int | None
) -> tuple[list[str], bool, GradientResult]:
    encoded, tokens, truncated = encode_text(_loaded, text)
    return tokens, truncated, attention_gradients(_loaded, _head, encoded, target)


@st.cache_data(max_entries=64, show_spinner="Removing each head in turn…")
def _cached_ablation(
    _loaded: LoadedModel, _head: SentimentHead, model_source: str, head_id: str, text: str, target: int
) -> np.ndarray:
    encoded, _, _ = encode_text(_loaded, text)
    return ablation_loss_changes(_loaded, _head, encoded, target)


def token_count(loaded: LoadedModel, text: str) -> int:
    return len(loaded.tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])


def check_page_text(loaded: LoadedModel, text: str, limit: int = PAGE_TOKEN_LIMIT) -> str | None:
    """The stripped text, or None after a message when it is empty or longer than ``limit`` tokens."""
    if text is None or not text.strip():
        st.warning("The sentence is empty: type a few words to analyse.", icon="✏️")
        return None
    if len(text) > 20_000:
        st.warning(f"The text has {len(text):,} characters; paste at most a paragraph.", icon="✏️")
        return None
    text = text.strip()
    n_tokens = token_count(loaded, text)
    if n_tokens > limit:
        st.warning(
            f"Your text has {n_tokens} tokens; this page analyses at most {limit} (each view runs many "
            "forward passes or max-flows). Shorten it to a sentence or two.",
            icon="✂️",
        )
        return None
    return text


def sentence_gradients(
    loaded: LoadedModel, head: SentimentHead, text: str, target: int | None = None
) -> tuple[list[str], GradientResult] | None:
    """(tokens, gradients) for a checked text, or None after a message."""
    try:
        tokens, _, result = _cached_gradients(loaded, head, loaded.facts.source, head_key(), text, target)
    except InputError as error:
        st.warning(str(error), icon="✏️")
        return None
    return tokens, result


def sentence_ablation(loaded: LoadedModel, head: SentimentHead, text: str, target: int) -> np.ndarray:
    """layers x heads loss change when each head is removed (cached per sentence and class)."""
    return _cached_ablation(loaded, head, loaded.facts.source, head_key(), text, target)
