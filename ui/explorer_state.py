"""The head explorer's URL parameters and session state.

Every parameter is read through ui.url_state (clamped to the model: ``layer=6`` on a 2-layer
model opens layer 2). The URL is read into the widgets once per session; after that the
widgets lead and the URL follows them. Widget values are re-stored at the start of every run,
because Streamlit forgets a widget's value after a run that did not draw it (a run that stopped
early on an empty sentence, or a view without that widget).
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from lessonkit.model import ModelFacts
from lessonkit.probes import find_twin
from ui import session_keys as keys
from ui import url_state
from ui.sentence_picker import PAIR, TEXT

VIEWS = {
    "lines": "Head view (lines)",
    "heatmap": "Heatmap",
    "model": "Model view (all heads)",
    "compare": "Compare two sentences",
}
LAYER = url_state.Param("layer", "int", 3, 1, 64)
HEADS = url_state.Param("head", "ints", (1,), 1, 64)
VIEW = url_state.Param("view", "choice", "lines", choices=tuple(VIEWS))
WORDS = url_state.Param("words", "flag", False)
HIDE = url_state.Param("hide", "flag", False)
QUERY = url_state.Param("query", "int", 0, 0, 512)  # 1-based query position whose lines are kept; 0 = all
TWIN = url_state.Param("twin", "text", "")

KEPT = (  # widget keys whose values must survive a run that does not draw them
    keys.HX_LAYER, keys.HX_HEADS, keys.HX_VIEW, keys.HX_WORDS, keys.HX_HIDE, keys.HX_TWIN, keys.HX_FOCUS,
    keys.HX_THRESHOLD, keys.HX_TOP_K, keys.HX_ROW_START, keys.HX_COL_START,
)

DEFAULTS = {keys.HX_THRESHOLD: 0.05, keys.HX_TOP_K: 8, keys.HX_FOCUS: -1, keys.HX_ROW_START: 0, keys.HX_COL_START: 0,
            keys.HX_HIDE: False, keys.HX_TWIN: ""}


def params_for(facts: ModelFacts) -> dict[str, url_state.Param]:
    """The parameters with the model's ranges (1-based layers and heads)."""
    return {
        "layer": LAYER.within(1, facts.n_layers, min(3, facts.n_layers)),
        "heads": HEADS.within(1, facts.n_heads, (1,)),
    }


def start(facts: ModelFacts) -> None:
    """Read the URL into the widgets once per session; afterwards keep every widget value alive."""
    if keys.HX_LAYER not in st.session_state:
        ranged = params_for(facts)
        st.session_state[keys.HX_LAYER] = url_state.read(ranged["layer"])
        st.session_state[keys.HX_HEADS] = list(url_state.read(ranged["heads"]))
        st.session_state[keys.HX_VIEW] = url_state.read(VIEW)
        st.session_state[keys.HX_WORDS] = url_state.read(WORDS)
        st.session_state[keys.HX_HIDE] = url_state.read(HIDE)
        st.session_state[keys.HX_FOCUS] = url_state.read(QUERY) - 1
        url_twin = url_state.read(TWIN)
        url_text = url_state.read(TEXT)
        st.session_state[keys.HX_TWIN] = url_twin or (find_twin(url_text) if url_text else None) or ""
    for key, default in DEFAULTS.items():
        st.session_state.setdefault(key, default)
    for key in KEPT:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    # clamp what a previous model or an old session left behind
    st.session_state[keys.HX_LAYER] = min(max(1, int(st.session_state[keys.HX_LAYER])), facts.n_layers)
    st.session_state[keys.HX_HEADS] = [h for h in st.session_state[keys.HX_HEADS] if 1 <= h <= facts.n_heads]


def write_url(facts: ModelFacts, text: str, pair: str | None, focus: int) -> None:
    """Put the whole view into the URL (defaults left out); ``twin`` only while comparing."""
    values = current_view(facts, text, pair, focus)
    values.setdefault(TWIN, "")  # not comparing: a twin left in the URL would be stale
    url_state.write(values)


def current_view(facts: ModelFacts, text: str, pair: str | None, focus: int) -> dict[url_state.Param, Any]:
    """The parameters of what is on screen (for the URL and the "link to this view" control)."""
    ranged = params_for(facts)
    state = st.session_state
    view = state[keys.HX_VIEW]
    values: dict[url_state.Param, Any] = {
        TEXT: text,
        PAIR: pair or "",
        ranged["layer"]: state[keys.HX_LAYER],
        ranged["heads"]: tuple(state[keys.HX_HEADS]),
        VIEW: view,
        WORDS: bool(state[keys.HX_WORDS]),
        HIDE: bool(state.get(keys.HX_HIDE, False)),
        QUERY: focus + 1 if view == "lines" else 0,
    }
    if view == "compare":
        values[TWIN] = state.get(keys.HX_TWIN, "")
    return values
