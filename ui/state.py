"""The app's cached heavy objects and per-sentence results.

The model is loaded once per server process (st.cache_resource) and shared by every session;
per-sentence results are cached with st.cache_data, keyed on the model and the text, so moving
a layer or head slider never runs the model again.
"""
from __future__ import annotations

import os

import streamlit as st

from lessonkit.analysis import InputError, SentenceAnalysis, analyse_sentence
from lessonkit.intervention import load_intervenable_model
from lessonkit.model import MODEL_SETTING_ENV, LoadedModel, ModelLoadError, load_model

os.environ.setdefault("HF_HUB_OFFLINE", "1")


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


@st.cache_resource(show_spinner="Preparing the model for attention edits…")
def _load_cached_intervenable_model(setting: str | None) -> LoadedModel:
    return load_intervenable_model(setting)


def _show_load_error(error: ModelLoadError) -> None:
    st.error(f"**The model could not be loaded.** {error}", icon="🚫")


def get_model() -> LoadedModel | None:
    """The cached model, or None after showing the learner why it could not be loaded."""
    try:
        return _load_cached_model(configured_model_setting())
    except ModelLoadError as error:
        _show_load_error(error)
        return None


def get_intervenable_model() -> LoadedModel | None:
    """The cached model whose attention can be permuted, replaced or ablated (see lessonkit.intervention)."""
    try:
        return _load_cached_intervenable_model(configured_model_setting())
    except ModelLoadError as error:
        _show_load_error(error)
        return None


@st.cache_data(max_entries=128, show_spinner="Running the model on your sentence…")
def _cached_attention(_loaded: LoadedModel, model_source: str, text: str, text_pair: str | None) -> SentenceAnalysis:
    return analyse_sentence(_loaded, text, text_pair)


def sentence_attention(loaded: LoadedModel, text: str, text_pair: str | None = None) -> SentenceAnalysis | None:
    """Attention for a sentence (cached), or None after showing why the input was refused.

    Shows a warning when the text was cut to the model's maximum length.
    """
    try:
        result = _cached_attention(loaded, loaded.facts.source, text, text_pair or None)
    except InputError as error:
        st.warning(str(error), icon="✏️")
        return None
    if result.truncated:
        st.warning(
            f"Your text has {result.n_tokens_before_truncation:,} tokens; {loaded.facts.name} reads at most "
            f"{loaded.facts.max_length}, so only the first {result.n_tokens} are shown.",
            icon="✂️",
        )
    return result
