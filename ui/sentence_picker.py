"""Shared pieces of the head pages: the sentence picker, deep links, cached per-sentence results,
and PNG/SVG export buttons.

Deep links: the URL holds ``text`` (and ``pair``), ``layer`` and ``head`` (1-indexed, like the
labels; several heads as ``head=1,4``), ``view`` and ``words``. Opening such a link restores the
view. The sentence also lives in session state (``head_text``/``head_pair``) so that moving
between the head pages keeps it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import streamlit as st

from lessonkit.analysis import SentenceAnalysis
from lessonkit.head_patterns import pattern_scores, token_kinds
from lessonkit.model import LoadedModel
from lessonkit.probes import find_twin, load_probes
from lessonkit.word_level import merge_attention, word_groups, word_labels
from ui.charts.common import chart_png, chart_svg
from ui.models import analyse

TEXT_KEY, PAIR_KEY = "head_text", "head_pair"  # persist across the head pages
OWN_SENTENCE = "✏️ my own sentence"
DEFAULT_PROBE = 0  # "The animal didn't cross the street because it was too tired."
VIEWS = {
    "lines": "Head view (lines)",
    "heatmap": "Heatmap",
    "model": "Model view (all heads)",
    "compare": "Compare two sentences",
}


def probe_choices() -> dict[str, tuple[str, str | None]]:
    """Selectbox label -> (text, second sentence)."""
    return {f"{p.category}: {p.label}": (p.text, p.text_pair) for p in load_probes()}


def query_param(name: str) -> str | None:
    value = st.query_params.get(name)
    return value if value not in (None, "") else None


def parse_int(value: str | None, low: int, high: int, default: int) -> int:
    """A 1-indexed number from the URL, clamped to [low, high]; default when missing or not a number."""
    try:
        return min(high, max(low, int(str(value).strip())))
    except (TypeError, ValueError):
        return default


def parse_heads(value: str | None, n_heads: int) -> list[int]:
    """'1,4' -> [1, 4] (1-indexed, deduplicated, out-of-range dropped); [1] when nothing usable is given."""
    heads = []
    for part in (value or "").split(","):
        number = int(part) if part.strip().isdigit() else 0
        if 1 <= number <= n_heads and number not in heads:
            heads.append(number)
    return heads or [1]


def _apply_probe(prefix: str) -> None:
    choice = st.session_state.get(f"{prefix}_probe")
    if choice in probe_choices():
        text, pair = probe_choices()[choice]
        st.session_state[f"{prefix}_text"] = text
        st.session_state[f"{prefix}_pair"] = pair or ""
        if f"{prefix}_twin" in st.session_state:  # the compare view follows the new sentence
            st.session_state[f"{prefix}_twin"] = find_twin(text) or ""


def sentence_picker(prefix: str) -> tuple[str, str | None]:
    """Probe library + free text (+ optional second sentence). Returns (text, pair or None).

    Initial values: the URL (deep link), else the sentence used on another head page, else the
    first probe.
    """
    choices = probe_choices()
    first_text, first_pair = next(iter(choices.values()))
    if f"{prefix}_text" not in st.session_state:
        url_text = query_param("text")
        st.session_state[f"{prefix}_text"] = url_text or st.session_state.get(TEXT_KEY) or first_text
        st.session_state[f"{prefix}_pair"] = (
            query_param("pair") if url_text else st.session_state.get(PAIR_KEY, first_pair or "")
        ) or ""
        current = (st.session_state[f"{prefix}_text"], st.session_state[f"{prefix}_pair"] or None)
        labels = [label for label, value in choices.items() if value == current]
        st.session_state[f"{prefix}_probe"] = labels[0] if labels else OWN_SENTENCE
    st.selectbox(
        "Probe sentence (or pick ✏️ and type your own below)",
        [OWN_SENTENCE, *choices],
        key=f"{prefix}_probe",
        on_change=_apply_probe,
        args=(prefix,),
        help="Sentences written for this lesson: coreference and their Winograd twins, agreement, "
        "adjective-noun, prepositions, and sentence pairs.",
    )
    left, right = st.columns([3, 2])
    with left:
        text = st.text_area("Sentence", key=f"{prefix}_text", height=80, max_chars=None)
    with right:
        pair = st.text_input(
            "Second sentence (optional: joined with [SEP])", key=f"{prefix}_pair",
            help="BERT-style models read sentence pairs as [CLS] first [SEP] second [SEP].",
        )
    st.session_state[TEXT_KEY] = text
    st.session_state[PAIR_KEY] = pair
    return text, (pair.strip() or None)


@dataclass(frozen=True)
class Maps:
    """What a view draws: attn over tokens or words, with labels and which rows are special."""

    attn: np.ndarray  # layers x heads x q x k
    labels: list[str]
    special: np.ndarray  # (n,) bool: [CLS]/[SEP]
    word_level: bool


@st.cache_data(max_entries=32, show_spinner=False)
def _cached_word_maps(_sentence: SentenceAnalysis, model_source: str, text: str, pair: str | None) -> Maps:
    groups = word_groups(_sentence.word_ids, _sentence.segment_ids)
    special = np.array([_sentence.word_ids[g[0]] is None for g in groups], dtype=bool)
    return Maps(merge_attention(_sentence.attn, groups), word_labels(_sentence.tokens, groups), special, True)


def maps_for(loaded: LoadedModel, sentence: SentenceAnalysis, words: bool) -> Maps:
    """Token-level maps as they are (no copy); word-level ones merged once per sentence (cached)."""
    if not words:
        special = np.array([w is None for w in sentence.word_ids], dtype=bool)
        return Maps(sentence.attn, list(sentence.tokens), special, False)
    return _cached_word_maps(sentence, loaded.facts.source, sentence.text, sentence.text_pair)


@st.cache_data(max_entries=64, show_spinner=False)
def _cached_scores(_maps: Maps, model_source: str, text: str, pair: str | None, words: bool) -> dict[str, np.ndarray]:
    return pattern_scores(_maps.attn, token_kinds(_maps.labels))


def scores_for(loaded: LoadedModel, sentence: SentenceAnalysis, words: bool) -> dict[str, np.ndarray]:
    """Pattern scores (lessonkit.head_patterns) for every head of this sentence, cached per text."""
    maps = maps_for(loaded, sentence, words)
    return _cached_scores(maps, loaded.facts.source, sentence.text, sentence.text_pair, words)


def attention_or_message(loaded: LoadedModel, text: str, pair: str | None) -> SentenceAnalysis | None:
    """sentence_attention (cached; shows messages for refused input) guarded against surprises."""
    try:
        return analyse(loaded, text, pair)
    except Exception as error:  # e.g. a tokenizer that cannot handle some character
        st.error(f"This text could not be analysed ({type(error).__name__}). Try a simpler sentence.", icon="⚠️")
        return None


def export_buttons(chart_factory: Callable[[], object], name: str, key: str) -> None:
    """PNG and SVG download buttons; the files are rendered only when a button is clicked."""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:60] or "chart"
    with st.container(horizontal=True):
        st.download_button(
            "PNG", data=lambda: chart_png(chart_factory()), file_name=f"{safe}.png", mime="image/png",
            key=f"{key}_png", icon="🖼️", on_click="ignore",
        )
        st.download_button(
            "SVG", data=lambda: chart_svg(chart_factory()), file_name=f"{safe}.svg", mime="image/svg+xml",
            key=f"{key}_svg", icon="📐", on_click="ignore",
        )


def sync_query_params(values: dict[str, str]) -> None:
    """Write the current view into the URL (only the keys given; unchanged ones are left alone)."""
    for name, value in values.items():
        if not value:
            if name in st.query_params:
                del st.query_params[name]
        elif st.query_params.get(name) != value:
            st.query_params[name] = value


def link_to(page: str, label: str, icon: str) -> None:
    """st.page_link that stays quiet when the page is not registered in this app's navigation."""
    try:
        st.page_link(page, label=label, icon=icon)
    except Exception:  # StreamlitPageNotFoundError outside the full app (e.g. a single-page test run)
        pass
