"""The app's heavy objects, loaded once per server process and shared by every session.

- ``get_model``: the one copy of the chosen encoder (editable attention; see lessonkit.model).
- ``analyse``: the SentenceAnalysis of a text, from a cache bounded by bytes, so a class pasting
  long texts cannot grow the server without limit. Cached results are shared read-only.
- ``get_sentiment_head`` / ``classifier_or_stop``: the classifier head that fits the chosen
  model: the shipped one for MiniLM, else one trained on the spot (cached, with progress).
- ``get_bilstm``: each of Jain & Wallace's BiLSTMs on its own, so one bad file disables only the
  views that need it.

Heavy libraries are imported here, at module import, so the first sessions of a fresh server
never import transformers in two threads at once (its lazy modules are not thread-safe; two
caches doing so raised "cannot import name 'AutoConfig'"). Python's import lock makes every
other session wait for this one import.
"""
from __future__ import annotations

import os
from pathlib import Path

import streamlit as st
import torch  # imported once, here: see the module docstring
import transformers  # noqa: F401
from transformers import AttentionInterface, AutoConfig, AutoModel, AutoTokenizer  # noqa: F401

from lessonkit import bilstm_classifier as bc
from lessonkit.analysis import InputError, SentenceAnalysis, analyse_sentence
from lessonkit.model import MODEL_SETTING_ENV, LoadedModel, ModelLoadError, load_model
from lessonkit.transformer_classifier import (
    HEAD_FILE,
    ClassifierMissingError,
    SentimentHead,
    head_mismatch,
    load_head,
    train_quick_head,
)
from ui.shared_cache import SharedCache

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# Bytes of per-sentence results kept per server (one 512-token MiniLM analysis is ~81 MB).
def _megabytes_setting(name: str, default: int) -> int:
    """A positive whole number of megabytes from the environment; the default for anything else."""
    value = os.environ.get(name, "").strip()
    return int(value) if value.isascii() and value.isdigit() and 0 < int(value) < 10**6 else default


SENTENCE_CACHE_BYTES = _megabytes_setting("LESSON_SENTENCE_CACHE_MB", 400) * 2**20
# Thread count chosen once per process (never per call: sessions would race on it).
TORCH_THREADS_ENV = "LESSON_TORCH_THREADS"


def _set_threads_once() -> None:
    value = os.environ.get(TORCH_THREADS_ENV, "").strip()
    if value.isascii() and value.isdigit() and int(value) > 0:
        torch.set_num_threads(int(value))


_set_threads_once()


def configured_model_setting() -> str | None:
    """The model chosen in .streamlit/secrets.toml (key ``model``), else LESSON_MODEL, else None."""
    try:
        value = st.secrets.get("model")
    except Exception:  # no secrets file at all is the normal case
        value = None
    value = value or os.environ.get(MODEL_SETTING_ENV)
    return value.strip() if value and value.strip() else None


@st.cache_resource(show_spinner="Loading the model (once per server)…")
def _load_cached_model(setting: str | None) -> LoadedModel:
    return load_model(setting)


def get_model(show_error: bool = True) -> LoadedModel | None:
    """The cached model, or None (after saying why, when ``show_error``; the sidebar stays quiet
    so a page shows the reason once)."""
    try:
        return _load_cached_model(configured_model_setting())
    except ModelLoadError as error:
        if show_error:
            st.error(f"**The model could not be loaded.** {error}", icon="🚫")
        return None


@st.cache_resource
def _sentence_cache() -> SharedCache[SentenceAnalysis]:
    return SharedCache(SENTENCE_CACHE_BYTES)


def analyse(loaded: LoadedModel, text: str, text_pair: str | None = None) -> SentenceAnalysis | None:
    """The analysis of a sentence (cached), or None after showing why the input was refused.

    Warns when the text was cut to the model's maximum length.
    """
    key = (loaded.facts.source, text, text_pair or None)
    try:
        with st.spinner("Running the model on your sentence…", show_time=False):
            result = _sentence_cache().get_or_compute(key, lambda: analyse_sentence(loaded, text, text_pair or None))
    except InputError as error:
        st.warning(str(error), icon="✏️")
        return None
    except Exception as error:  # e.g. a tokenizer that cannot handle some character
        st.error(f"This text could not be analysed ({type(error).__name__}). Try a simpler sentence.", icon="⚠️")
        return None
    if result.truncated:
        st.warning(
            f"Your text has {result.n_tokens_before_truncation:,} tokens; {loaded.facts.name} reads at most "
            f"{loaded.facts.max_length}, so only the first {result.n_tokens} are shown.",
            icon="✂️",
        )
    return result


# ---------------------------------------------------------------------------- classifiers
def _file_key(path: Path) -> str:
    """A cache key that changes when the file is replaced (a retrained head is picked up)."""
    return f"{path}:{path.stat().st_mtime_ns}" if path.is_file() else f"{path}:missing"


@st.cache_resource(show_spinner=False)
def _shipped_head(file_key: str) -> SentimentHead:
    return load_head(HEAD_FILE)


@st.cache_resource(show_spinner=False)
def _quick_head(_loaded: LoadedModel, model_source: str) -> SentimentHead:
    bar = st.progress(0.0, text=f"Training a sentiment head for {_loaded.facts.name} (once per server)…")
    def progress(done: float, what: str) -> None:
        bar.progress(done, text=what)

    head = train_quick_head(_loaded, progress=progress)
    bar.empty()
    return head


def get_sentiment_head(loaded: LoadedModel) -> SentimentHead | None:
    """The head that fits ``loaded``: the shipped one, else one trained here; None after saying why."""
    problem: str | None
    try:
        shipped = _shipped_head(_file_key(HEAD_FILE))
    except ClassifierMissingError as error:
        problem = str(error)
    else:
        problem = head_mismatch(shipped, loaded.facts)
        if problem is None:
            return shipped
    st.info(
        f"The shipped sentiment head cannot be used here: {problem}. A small head is trained for this "
        "model instead, on a few hundred tweets (its accuracy is shown beside every prediction).",
        icon="🧪",
    )
    try:
        return _quick_head(loaded, loaded.facts.source)
    except Exception as error:  # e.g. the tweets package is missing
        st.error(f"No sentiment head could be trained for {loaded.facts.name}: {error}", icon="🚫")
        return None


def classifier_or_stop() -> tuple[LoadedModel, SentimentHead]:
    """The model and a head that fits it; if either is missing, the page stops after saying why."""
    loaded = get_model()
    if loaded is None:
        st.stop()
    head = get_sentiment_head(loaded)
    if head is None:
        st.stop()
    return loaded, head


BILSTM_FILES = {"learned": bc.MAIN_FILE, "seed2": bc.SEED2_FILE, "uniform": bc.UNIFORM_FILE}


@st.cache_resource(show_spinner="Loading a BiLSTM classifier…")
def _bilstm(file_key: str, path: str):
    return bc.load_bilstm(Path(path))


def get_bilstm(name: str, show_error: bool = True):
    """(BiLSTM, metadata) for "learned", "seed2" or "uniform"; None after naming the bad file.

    The BiLSTMs read the shipped MiniLM's embeddings and tokenizer, whatever model the app shows.
    """
    path = BILSTM_FILES[name]
    try:
        return _bilstm(_file_key(path), str(path))
    except bc.BiLSTMFileMissingError as error:
        if show_error:
            st.warning(f"**A trained BiLSTM is missing or damaged.** {error}", icon="🚫")
    except Exception as error:  # e.g. the default model package (its embeddings) is missing
        if show_error:
            st.warning(
                f"**The BiLSTM {path.name} cannot be used** ({type(error).__name__}: {error}). Rebuild it with "
                f"`{bc.REBUILD_COMMAND}`.",
                icon="🚫",
            )
    return None
