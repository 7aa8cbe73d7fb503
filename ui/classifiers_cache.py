"""Cached classifiers of the "Attention is not explanation" page (one copy per server process)."""
from __future__ import annotations

import streamlit as st

from lessonkit import bilstm_classifier as bc
from lessonkit.model import LoadedModel
from lessonkit.transformer_classifier import SentimentHead
from ui.classifier_cache import get_classifier_head
from ui.models import get_model

BILSTM_FILES = {"learned": bc.MAIN_FILE, "seed2": bc.SEED2_FILE, "uniform": bc.UNIFORM_FILE}


@st.cache_resource(show_spinner="Loading the BiLSTM classifiers…")
def _bilstms(_loaded: LoadedModel, model_source: str) -> dict:
    return {name: bc.load_bilstm(_loaded, path) for name, path in BILSTM_FILES.items()}


def get_classifiers() -> tuple[LoadedModel, dict, SentimentHead] | None:
    """(intervenable MiniLM, {"learned"|"seed2"|"uniform": (BiLSTM, metadata)}, MiniLM head), or None after
    telling the learner what is missing."""
    loaded = get_model()
    if loaded is None:
        return None
    head = get_classifier_head()  # the one cached copy of the MiniLM head, shared with the gradient pages
    if head is None:
        return None
    try:
        return loaded, _bilstms(loaded, loaded.facts.source), head
    except bc.BiLSTMFileMissingError as error:
        st.error(f"**A trained classifier is missing.** {error}", icon="🚫")
        return None
