"""What the head pages share: the sentence picker, the maps a view draws (tokens or words, with
[CLS]/[SEP]/punctuation optionally hidden), and PNG/SVG export buttons.

The sentence comes from the URL (``text``, ``pair``: read through ui.url_state), else from the
sentence used on another head page (session keys HEAD_TEXT/HEAD_PAIR), else the first probe.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import altair as alt
import numpy as np
import streamlit as st

from lessonkit.analysis import SentenceAnalysis
from lessonkit.head_patterns import pattern_scores, token_kinds
from lessonkit.model import LoadedModel
from lessonkit.probes import find_twin, load_probes
from lessonkit.visible_tokens import hidden_positions, without_positions
from lessonkit.word_level import merge_attention, word_groups, word_labels
from ui import url_state
from ui.charts.common import chart_png, chart_svg
from ui.models import analyse
from ui.session_keys import HEAD_PAIR as PAIR_KEY
from ui.session_keys import HEAD_TEXT as TEXT_KEY

TEXT = url_state.Param("text", "text", "")
PAIR = url_state.Param("pair", "text", "")
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


def probe_label(text: str, pair: str | None) -> str:
    """The dropdown entry naming this sentence: its probe, or "my own sentence"."""
    current = (text, pair or None)
    return next((label for label, value in probe_choices().items() if value == current), OWN_SENTENCE)


def _apply_probe(prefix: str) -> None:
    choice = st.session_state.get(f"{prefix}_probe")
    if choice in probe_choices():
        text, pair = probe_choices()[choice]
        st.session_state[f"{prefix}_text"] = text
        st.session_state[f"{prefix}_pair"] = pair or ""
        if f"{prefix}_twin" in st.session_state:  # the compare view follows the new sentence
            st.session_state[f"{prefix}_twin"] = find_twin(text) or ""


def _typed(prefix: str) -> None:
    """The learner edited the sentence: the dropdown names it (a probe or "my own"), the twin follows."""
    text = st.session_state.get(f"{prefix}_text", "")
    st.session_state[f"{prefix}_probe"] = probe_label(text, st.session_state.get(f"{prefix}_pair") or None)
    if f"{prefix}_twin" in st.session_state:
        st.session_state[f"{prefix}_twin"] = find_twin(text) or ""


def sentence_picker(prefix: str) -> tuple[str, str | None]:
    """Probe library + free text (+ optional second sentence). Returns (text, pair or None).

    Initial values: the URL (deep link), else the sentence used on another head page, else the
    first probe.
    """
    choices = probe_choices()
    first_text, first_pair = next(iter(choices.values()))
    if f"{prefix}_text" not in st.session_state:
        url_text = url_state.read(TEXT)
        st.session_state[f"{prefix}_text"] = url_text or st.session_state.get(TEXT_KEY) or first_text
        st.session_state[f"{prefix}_pair"] = (
            url_state.read(PAIR) if url_text else st.session_state.get(PAIR_KEY, first_pair or "")
        ) or ""
        st.session_state[f"{prefix}_probe"] = probe_label(
            st.session_state[f"{prefix}_text"], st.session_state[f"{prefix}_pair"] or None
        )
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
        text = st.text_area("Sentence", key=f"{prefix}_text", height=80, max_chars=None, on_change=_typed, args=(prefix,))
    with right:
        pair = st.text_input(
            "Second sentence (optional: joined with [SEP])", key=f"{prefix}_pair", on_change=_typed, args=(prefix,),
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
    hidden_share: np.ndarray | None = None  # layers x heads x q: weight that went to hidden tokens


@st.cache_data(max_entries=4, show_spinner=False)  # a 512-token set of maps is ~75 MB: keep few
def _cached_word_maps(_sentence: SentenceAnalysis, model_source: str, text: str, pair: str | None) -> Maps:
    groups = word_groups(_sentence.word_ids, _sentence.segment_ids)
    special = np.array([_sentence.word_ids[g[0]] is None for g in groups], dtype=bool)
    return Maps(merge_attention(_sentence.attn, groups), word_labels(_sentence.tokens, groups), special, True)


@st.cache_data(max_entries=4, show_spinner=False)
def _cached_visible_maps(_maps: Maps, model_source: str, text: str, pair: str | None, words: bool) -> Maps:
    hide = hidden_positions(_maps.labels, _maps.special, punctuation=True)
    if hide.all():  # nothing but special tokens and punctuation: hiding would leave an empty map
        return _maps
    attn, share = without_positions(_maps.attn, hide)
    labels = [label for label, hidden in zip(_maps.labels, hide) if not hidden]
    return Maps(attn, labels, np.zeros(len(labels), dtype=bool), _maps.word_level, share)


def maps_for(loaded: LoadedModel, sentence: SentenceAnalysis, words: bool, hide: bool = False) -> Maps:
    """Token-level maps as they are (no copy); word-level ones merged once per sentence (cached).

    hide: [CLS], [SEP] and punctuation removed and every row renormalised over what is left
    (lessonkit.visible_tokens), with the share that went to them in ``hidden_share``.
    """
    if not words:
        special = np.array([w is None for w in sentence.word_ids], dtype=bool)
        maps = Maps(sentence.attn, list(sentence.tokens), special, False)
    else:
        maps = _cached_word_maps(sentence, loaded.facts.source, sentence.text, sentence.text_pair)
    if not hide:
        return maps
    return _cached_visible_maps(maps, loaded.facts.source, sentence.text, sentence.text_pair, words)


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


def export_buttons(chart_factory: Callable[[], alt.TopLevelMixin | dict], name: str, key: str) -> None:
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


def link_to(page: str, label: str, icon: str) -> None:
    """st.page_link that stays quiet when the page is not registered in this app's navigation."""
    with contextlib.suppress(Exception):  # StreamlitPageNotFoundError outside the full app (single-page test)
        st.page_link(page, label=label, icon=icon)
