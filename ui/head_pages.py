"""What the head finder and head accuracy pages share: their URL parameters, the measured head
statistics (saved for the shipped model, computed live with a progress bar for any other),
their tables, and the button that opens a head in the head explorer.
"""
from __future__ import annotations

import threading
from typing import Any

import pandas as pd
import streamlit as st

from lessonkit.head_patterns import PATTERNS, sorted_ranking
from lessonkit.head_stats import HeadStats, HeadStatsFileError, compute_head_stats, is_shipped_model, load_head_stats
from lessonkit.model import LoadedModel, ModelFacts
from lessonkit.probes import RELATIONS, load_coreference_items
from ui import explorer_state, url_state
from ui import session_keys as keys
from ui.sentence_picker import PAIR as PAIR_PARAM
from ui.sentence_picker import TEXT as TEXT_PARAM

# --- URL parameters (layers and heads counted from 1, clamped to the model by ``within``)
PATTERN = url_state.Param("pattern", "choice", "previous", choices=tuple(PATTERNS))
WORDS = url_state.Param("words", "flag", False)
RELATION_CHOICES = {f"{r}{'-back' if back else ''}": (r, back) for r in RELATIONS for back in (False, True)}
RELATION = url_state.Param("relation", "choice", "det", choices=tuple(RELATION_CHOICES))
TWIN_PAIR = url_state.Param("pair", "int", 2, 1, 1)  # the animal / street pair by default
LAYER = url_state.Param("layer", "int", 1, 1, 64)
HEAD = url_state.Param("head", "int", 1, 1, 64)

MAX_MODELS_KEPT = 2  # head statistics of this many models stay in memory (a few hundred KB each)


# ---------------------------------------------------------------------------- measured statistics
class _StatsStore:
    def __init__(self) -> None:
        self.items: dict[str, tuple[HeadStats, str | None]] = {}
        self.lock = threading.Lock()


@st.cache_resource(show_spinner=False)
def _store() -> _StatsStore:
    return _StatsStore()


def head_stats(loaded: LoadedModel) -> HeadStats:
    """Saved statistics for the shipped model (a warning and a live run if the file is unusable);
    for any other model, a live run in padded batches under a progress bar, once per server."""
    store = _store()
    key = loaded.facts.source
    with store.lock:
        kept = store.items.get(key)
    if kept is None:
        stats, message = None, None
        if is_shipped_model(loaded.facts):
            try:
                stats = load_head_stats(loaded.facts)
            except HeadStatsFileError as error:
                message = f"{error} Measuring live instead."
        if stats is None:
            stats = _compute_with_progress(loaded)
        kept = (stats, message)
        with store.lock:
            store.items[key] = kept
            while len(store.items) > MAX_MODELS_KEPT:
                store.items.pop(next(iter(store.items)))
    if kept[1]:
        st.warning(kept[1], icon="⚠️")
    return kept[0]


def _compute_with_progress(loaded: LoadedModel) -> HeadStats:
    label = f"Measuring every head of {loaded.facts.name} on the lesson's sentences (once per server)…"
    bar = st.progress(0.0, text=label)

    def progress(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"{label} {done} of {total} sentences")

    try:
        return compute_head_stats(loaded, progress=progress)
    finally:
        bar.empty()


# ---------------------------------------------------------------------------- URL <-> widgets
def start_finder() -> None:
    """Read the head finder's URL into its widgets once per session."""
    if keys.HF_URL_READ not in st.session_state:
        st.session_state[keys.HF_PATTERN] = url_state.read(PATTERN)
        st.session_state[keys.HF_WORDS] = url_state.read(WORDS)
        st.session_state[keys.HF_URL_READ] = True


def finder_view(text: str, pair: str | None) -> dict[url_state.Param, Any]:
    return {
        TEXT_PARAM: text,
        PAIR_PARAM: pair or "",
        PATTERN: st.session_state.get(keys.HF_PATTERN, PATTERN.default),
        WORDS: bool(st.session_state.get(keys.HF_WORDS, False)),
    }


def accuracy_params(facts: ModelFacts, best_layer: int, best_head: int) -> dict[str, url_state.Param]:
    """The head accuracy page's parameters with the model's ranges; defaults: the best head (0-based in)."""
    return {
        "relation": RELATION,
        "pair": TWIN_PAIR.within(1, len({i.pair for i in load_coreference_items()})),
        "layer": LAYER.within(1, facts.n_layers, best_layer + 1),
        "head": HEAD.within(1, facts.n_heads, best_head + 1),
    }


def start_accuracy(params: dict[str, url_state.Param]) -> None:
    """Read the head accuracy page's URL into its widgets once per session; clamp what is left."""
    state = st.session_state
    if keys.HA_URL_READ not in state:
        state[keys.HA_RELATION] = url_state.read(params["relation"])
        state[keys.HA_PAIR] = url_state.read(params["pair"])
        state[keys.HA_LAYER] = url_state.read(params["layer"])
        state[keys.HA_HEAD] = url_state.read(params["head"])
        state[keys.HA_URL_READ] = True
    for key, name in ((keys.HA_PAIR, "pair"), (keys.HA_LAYER, "layer"), (keys.HA_HEAD, "head")):
        param = params[name]
        state[key] = min(max(param.low, int(state.get(key, param.default))), param.high)
    if state.get(keys.HA_RELATION) not in RELATION_CHOICES:
        state[keys.HA_RELATION] = RELATION.default


def accuracy_view(params: dict[str, url_state.Param]) -> dict[url_state.Param, Any]:
    state = st.session_state
    return {
        params["relation"]: state[keys.HA_RELATION],
        params["pair"]: state[keys.HA_PAIR],
        params["layer"]: state[keys.HA_LAYER],
        params["head"]: state[keys.HA_HEAD],
    }


# ---------------------------------------------------------------------------- tables and links
def percent_table(rows: list[dict], key: str, columns: list[str], bars: tuple[str, ...], plain: tuple[str, ...] = (),
                  height: int | None = None, number_format: str = "percent", **kwargs) -> Any:
    """A table of rows with some columns as percentage bars and some as plain percentages."""
    config: dict[str, Any] = {
        name: st.column_config.ProgressColumn(name, min_value=0.0, max_value=1.0, format=number_format)
        for name in bars
    }
    config.update({name: st.column_config.NumberColumn(name, format="percent") for name in plain})
    frame = pd.DataFrame(rows)[columns]
    return st.dataframe(frame, hide_index=True, width="stretch", key=key, column_config=config,
                        height=height or "auto", **kwargs)


def open_in_explorer(text: str, layer: int, head: int, *, twin: str = "", words: bool = True, hide: bool = False,
                     pair: str | None = None) -> None:
    """Switch to the head explorer on this sentence and head (0-based in; the URL counts from 1)."""
    for key in explorer_state.KEPT + (keys.HX_TEXT, keys.HX_PAIR, keys.HX_PROBE):
        st.session_state.pop(key, None)
    values = {
        TEXT_PARAM: text, PAIR_PARAM: pair or "", explorer_state.LAYER: layer + 1, explorer_state.HEADS: (head + 1,),
        explorer_state.VIEW: "compare" if twin else "lines", explorer_state.WORDS: words,
        explorer_state.HIDE: hide, explorer_state.TWIN: twin,
    }
    query = {param.name: shown for param, value in values.items() if (shown := url_state.format_value(param, value))}
    query[explorer_state.LAYER.name] = str(layer + 1)  # explicit, even when it equals the explorer's default
    query[explorer_state.HEADS.name] = str(head + 1)
    try:
        st.switch_page("pages/head_explorer.py", query_params=query)
    except Exception:  # the explorer is not registered in this app's navigation (a lone page run)
        st.info(f"Open layer {layer + 1}, head {head + 1} in the head explorer page.", icon="🔦")


def ranking_table(scores: dict, pattern: str) -> tuple[list[dict], Any]:
    """Every head, sorted by one pattern, as a selectable table; (rows in table order, selection event)."""
    rows = sorted_ranking(scores, pattern)
    shown = [{"head": r["head"], "strongest": r["strongest"], **{PATTERNS[p]: r[p] for p in PATTERNS}} for r in rows]
    labels = tuple(PATTERNS.values())
    event = percent_table(shown, keys.HF_TABLE, ["head", "strongest", *labels], bars=labels, height=420,
                          number_format="%.2f", on_select="rerun", selection_mode="single-row")
    return rows, event


def pair_labels() -> dict[int, str]:
    """Twin pair number (from 1) -> its first sentence, for a dropdown."""
    labels: dict[int, str] = {}
    for item in load_coreference_items():
        labels.setdefault(item.pair + 1, item.text)
    return labels
