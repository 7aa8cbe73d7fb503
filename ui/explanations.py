"""Per-sentence explanations for the gradient, rollout and faithfulness pages: caches, inputs, URLs.

- gradients, head ablation, token importance and flow rows of a sentence are computed once and
  kept in one least-recently-used cache bounded by bytes (shared by every session), so moving a
  layer or head slider never runs the model again;
- ``check_page_text`` refuses empty or too long input with a message;
- the pages' URL parameters (``Param``) and the helper that seeds a widget from the URL once;
- ``map_view``: a long sentence's maps are sent as small images, the cells one click away.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import streamlit as st

from lessonkit.analysis import InputError, check_text, tokenize
from lessonkit.attention_flow import attention_flow
from lessonkit.faithfulness import TokenImportance, token_importance
from lessonkit.gradient_attention import GradientResult, ablation_loss_changes, attention_gradients, encode_text
from lessonkit.model import LoadedModel
from lessonkit.rollout import FUSIONS
from lessonkit.transformer_classifier import LABELS, SentimentHead
from ui import url_state
from ui.shared_cache import SharedCache
from ui.url_state import Param

PAGE_TOKEN_LIMIT = 128  # the gradient, ablation and flow views refuse longer inputs with a message
FAITHFULNESS_TOKEN_LIMIT = 40  # flow to every position is n^2 max-flows per layer
CACHE_BYTES = 192 * 2**20
MAP_CELLS_LIMIT = 40  # above this many tokens, a map is sent as an image; its cells on request

# ---------------------------------------------------------------------------- example sentences
# Each with the label a reader would give it; a page says so when the model disagrees.
GRADIENT_EXAMPLES = {
    "Thank you so much, this made my day!": "positive",
    "My flight got cancelled again, worst airline ever.": "negative",
    "The queue was long, but the staff were lovely and the coffee was great.": "positive",
}
ROLLOUT_EXAMPLES = {
    "What a wonderful day with my friends!": "positive",
    "The movie was not bad at all, honestly.": "positive",
}
FAITHFULNESS_EXAMPLES = {
    "ugh my flight got cancelled again, worst airline ever": "negative",
    "I love this so much, thank you all!": "positive",
}

# ---------------------------------------------------------------------------- URL parameters
TARGETS = ("predicted", *LABELS)
REFERENCES = ("blank_out", "input_gradient")
GA_TEXT = Param("text", "text", next(iter(GRADIENT_EXAMPLES)))
GA_TARGET = Param("target", "choice", "predicted", choices=TARGETS)
GA_LAYER = Param("layer", "int", 6, 1, 6)  # ranges set from the model with .within()
GA_HEAD = Param("head", "int", 1, 1, 12)
GA_SIGNED = Param("signed", "flag", False)
RF_TEXT = Param("text", "text", next(iter(ROLLOUT_EXAMPLES)))
RF_LAYER = Param("layer", "int", 6, 1, 6)
RF_FUSION = Param("fusion", "choice", "mean", choices=FUSIONS)
RF_DISCARD = Param("discard", "int", 0, 0, 90)  # percent, in steps of 10
RF_POSITION = Param("position", "int", 1, 1, 512)  # the output row, counted from 1
RF_METHOD = Param("method", "choice", "plain", choices=("plain", "gradient"))
FA_TEXT = Param("text", "text", next(iter(FAITHFULNESS_EXAMPLES)))
FA_REFERENCE = Param("reference", "choice", "blank_out", choices=REFERENCES)


def seed_from_url(param: Param, key: str) -> None:
    """Give the widget ``key`` its first value from the URL (once per session); numbers clamped to the param's range.

    A number left in the session from a longer sentence is clamped again, so a slider never gets a
    value outside its range.
    """
    if key not in st.session_state:
        value = url_state.read(param)
    else:
        value = st.session_state[key]
    if param.kind == "int" and isinstance(value, int):
        value = min(max(value, param.low), param.high)
    st.session_state[key] = value


def write_url(values: dict[Param, Any]) -> None:
    url_state.write(values)


# ---------------------------------------------------------------------------- the cache
@st.cache_resource
def _cache() -> SharedCache[Any]:
    return SharedCache(CACHE_BYTES)


def _head_id(head: SentimentHead) -> tuple:
    """Tells heads apart (a retrained or quickly trained head gets new entries)."""
    return id(head), float(head.weight.double().sum()), float(head.bias.double().sum())


def _float32(result: GradientResult) -> GradientResult:
    """Half the bytes: the maps are shown and ranked, never differentiated again."""
    return GradientResult(
        attn=result.attn.astype(np.float32), grad=result.grad.astype(np.float32),
        class_grad=result.class_grad.astype(np.float32), input_grad=result.input_grad.astype(np.float32),
        input_embeddings=result.input_embeddings.astype(np.float32), probabilities=result.probabilities,
        target=result.target, loss=result.loss,
    )


def sentence_gradients(
    loaded: LoadedModel, head: SentimentHead, text: str, target: int | None = None
) -> tuple[list[str], GradientResult] | None:
    """(tokens, gradients) for a checked text, or None after a message."""

    def compute():
        encoded, tokens, _ = encode_text(loaded, text)
        return tokens, _float32(attention_gradients(loaded, head, encoded, target))

    try:
        with st.spinner("Running the classifier forward and backward…", show_time=False):
            tokens, result = _cache().get_or_compute(("gradients", loaded.facts.source, _head_id(head), text, target), compute)
    except InputError as error:
        st.warning(str(error), icon="✏️")
        return None
    return list(tokens), result


def sentence_ablation(loaded: LoadedModel, head: SentimentHead, text: str, target: int) -> np.ndarray:
    """layers x heads loss change when each head is removed (cached per sentence and class)."""

    def compute():
        encoded, _, _ = encode_text(loaded, text)
        return ablation_loss_changes(loaded, head, encoded, target)

    with st.spinner("Removing each head in turn…", show_time=False):
        return _cache().get_or_compute(("ablation", loaded.facts.source, _head_id(head), text, target), compute)


def sentence_importance(loaded: LoadedModel, head: SentimentHead, text: str) -> TokenImportance:
    """Every method's token scores for a checked text (flow of the last layer only)."""

    def compute():
        encoded, tokens, _ = encode_text(loaded, text)
        return token_importance(loaded, head, encoded, tokens)

    with st.spinner("Scoring every token six ways…", show_time=False):
        return _cache().get_or_compute(("importance", loaded.facts.source, _head_id(head), text), compute)


def flow_row(per_layer: np.ndarray, key: tuple, position: int) -> tuple[np.ndarray, float]:
    """Flow into one output position through ``per_layer`` (n max-flows), and the seconds it took.

    ``key`` names what ``per_layer`` was made from (model, text, fusion, discard, layer).
    """

    def compute():
        start = time.perf_counter()
        # one layer: every flow is its single edge's capacity
        row = per_layer[0][position].copy() if per_layer.shape[0] == 1 else attention_flow(per_layer, [position])[0]
        return row, time.perf_counter() - start

    with st.spinner("Computing max-flows through the attention graph…", show_time=False):
        return _cache().get_or_compute(("flow", *key, position), compute)


# ---------------------------------------------------------------------------- input
def check_page_text(loaded: LoadedModel, text: str | None, limit: int = PAGE_TOKEN_LIMIT) -> str | None:
    """The stripped text, or None after a message when it is empty, unusable or longer than ``limit`` tokens."""
    if text is None or not text.strip():
        st.warning("The sentence is empty: type a few words to analyse.", icon="✏️")
        return None
    try:
        text = check_text(text.strip())
        n_tokens = tokenize(loaded, text)[2]
    except InputError as error:
        st.warning(str(error), icon="✏️")
        return None
    except Exception as error:  # a tokenizer that cannot handle some character
        st.warning(f"This text could not be read ({type(error).__name__}). Try a simpler sentence.", icon="✏️")
        return None
    if n_tokens > limit:
        st.warning(
            f"Your text has {n_tokens} tokens; this page analyses at most {limit} (each view runs many "
            "forward passes or max-flows). Shorten it to a sentence or two.",
            icon="✂️",
        )
        return None
    return text


def show_prediction(probabilities: Sequence[float], predicted: int, text: str, examples: dict[str, str]) -> None:
    """The prediction; a warning when the text is one of our examples and the model gets it wrong."""
    shares = ", ".join(f"{name} {p:.0%}" for name, p in zip(LABELS, probabilities))
    st.markdown(f"**The classifier says:** {LABELS[predicted]} ({shares}).")
    expected = examples.get(text.strip())
    if expected is not None and LABELS[predicted] != expected:
        st.warning(
            f"**This prediction is wrong:** the sentence is {expected}. The explanation below explains the "
            "wrong answer, which is still worth seeing.",
            icon="⚠️",
        )


# ---------------------------------------------------------------------------- long maps
def map_view(
    container, matrix: np.ndarray, labels: Sequence[str], title: str, chart: Callable[[], Any], key: str,
    show_cells: bool,
) -> None:
    """Draw a map: all cells for short sentences (or when asked), else a small image of the whole map."""
    from ui.charts.common import show_chart
    from ui.charts.model_view import thumbnail_png

    if len(labels) <= MAP_CELLS_LIMIT or show_cells:
        with container:
            show_chart(chart(), key=key, width="stretch")
        return
    matrix = np.asarray(matrix, dtype=np.float64)
    peak = float(matrix.max()) if matrix.size else 0.0
    scaled = matrix / peak if peak > 0 else matrix
    container.image(thumbnail_png(scaled, 320), caption=f"{title} (darker = larger; whole map)", width=320,
                    output_format="PNG")
