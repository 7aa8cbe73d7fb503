"""The formula page's URL parameters (sentence, layer, head, query token), read once per session.

Read through ui.url_state and clamped to the model; afterwards the widgets lead and the URL follows.
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from lessonkit.model import ModelFacts
from ui import session_keys as keys
from ui import url_state

DEFAULT_SENTENCE = "The animal didn't cross the street because it was too tired."
TEXT = url_state.Param("text", "text", DEFAULT_SENTENCE)
LAYER = url_state.Param("layer", "int", 1, 1, 64)
HEAD = url_state.Param("head", "int", 1, 1, 64)
QUERY = url_state.Param("query", "int", 0, 0, 512)  # 1-based token position (1 is [CLS]); 0: not chosen


def ranged(facts: ModelFacts) -> tuple[url_state.Param, url_state.Param]:
    return LAYER.within(1, facts.n_layers, 1), HEAD.within(1, facts.n_heads, 1)


def start(facts: ModelFacts) -> None:
    """Read the URL into the widgets once per session; keep their values through runs that skip them."""
    layer, head = ranged(facts)
    kept = (keys.FORMULA_TEXT, keys.FORMULA_LAYER, keys.FORMULA_HEAD, keys.FORMULA_QUERY)
    if not st.session_state.get(keys.FORMULA_READY) or any(key not in st.session_state for key in kept):
        st.session_state[keys.FORMULA_TEXT] = url_state.read(TEXT)
        st.session_state[keys.FORMULA_LAYER] = url_state.read(layer)
        st.session_state[keys.FORMULA_HEAD] = url_state.read(head)
        st.session_state[keys.FORMULA_QUERY] = url_state.read(QUERY) - 1  # -1: not chosen yet
        st.session_state[keys.FORMULA_READY] = True
    for key in kept:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    st.session_state[keys.FORMULA_LAYER] = min(max(1, int(st.session_state[keys.FORMULA_LAYER])), facts.n_layers)
    st.session_state[keys.FORMULA_HEAD] = min(max(1, int(st.session_state[keys.FORMULA_HEAD])), facts.n_heads)


def current_view(facts: ModelFacts, text: str, query: int) -> dict[url_state.Param, Any]:
    layer, head = ranged(facts)
    return {TEXT: text, layer: st.session_state[keys.FORMULA_LAYER], head: st.session_state[keys.FORMULA_HEAD],
            QUERY: query + 1}
