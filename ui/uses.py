"""Cached models, results and per-tweet scores for the "What attention can tell you" page (pages/uses.py).

The artifact BiLSTM reads the shipped MiniLM's tokenizer and embeddings, so it runs whatever model
the app shows; the artifact MiniLM head and the fine-tuned checkpoint fit only MiniLM, and the
loaders here say so instead of failing.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from lessonkit import artifact, checkpoint_comparison, error_analysis
from lessonkit import bilstm_classifier as bc
from lessonkit.analysis import InputError, check_text
from lessonkit.classifier_scores import BiLSTMScorer, MiniLMScorer, TokenScores
from lessonkit.model import LoadedModel
from lessonkit.transformer_classifier import ClassifierMissingError, head_mismatch, load_head
from lessonkit.uses_results import UsesResultsError
from ui.url_state import Param

URL_PATH = "uses"
MAX_TWEET_CHARACTERS = 1000  # the experiments are about tweets; longer text is refused with a message
DEFAULT_TWEET = "@user nope I gave up - maybe they'll deliver it"  # a held-out negative tweet
ARTIFACT_MODELS = ("BiLSTM", "MiniLM")
ERROR_MODELS = ("BiLSTM", "MiniLM + head", "MiniLM fine-tuned")

TEXT = Param("u_text", "text", DEFAULT_TWEET, max_chars=MAX_TWEET_CHARACTERS)
MODEL = Param("u_model", "choice", "BiLSTM", choices=ARTIFACT_MODELS)
TOKEN = Param("u_token", "flag", True)  # the page opens with the token planted: attention lights it up
COMPARE_TEXT = Param("u_compare", "text", "not bad at all, I actually loved it", max_chars=MAX_TWEET_CHARACTERS)
LAYER = Param("u_layer", "int", 6, 1, 6)
HEAD = Param("u_head", "int", 10, 1, 12)
ERROR_MODEL = Param("u_errors", "choice", "BiLSTM", choices=ERROR_MODELS)


def _file_key(path: Path) -> str:
    """Path plus modification time: a rebuilt file is loaded again."""
    try:
        return f"{path}:{path.stat().st_mtime_ns}"
    except OSError:
        return f"{path}:missing"


# ---------------------------------------------------------------------------- results files
@st.cache_resource(show_spinner=False, max_entries=8)
def _results(kind: str, path: str, file_key: str):
    loaders = {"artifact": artifact.load_artifact_results, "checkpoints": checkpoint_comparison.load_checkpoint_results,
               "errors": error_analysis.load_error_results}
    return loaders[kind](Path(path))


RESULT_FILES = {"artifact": artifact.RESULTS_FILE, "checkpoints": checkpoint_comparison.RESULTS_FILE,
                "errors": error_analysis.RESULTS_FILE}


def results(kind: str):
    """The validated results file ``kind`` (artifact, checkpoints, errors), or None after a message naming it."""
    try:
        return _results(kind, str(RESULT_FILES[kind]), _file_key(RESULT_FILES[kind]))
    except UsesResultsError as error:
        st.warning(f"**Stored numbers unavailable.** {error}", icon="🚫")
    except Exception as error:  # e.g. unreadable file permissions
        st.warning(f"**{RESULT_FILES[kind]} cannot be read** ({type(error).__name__}). Rebuild it with "
                   f"`python -m scripts.compute_uses_stats --only {kind}`.", icon="🚫")
    return None


def model_stats(res, name: str):
    """The stored ArtifactModelStats of one classifier ("BiLSTM, planted", ...), or None."""
    return next((m for m in res.models if m.model == name), None) if res else None


# ---------------------------------------------------------------------------- classifiers
@st.cache_resource(show_spinner="Loading the planted-artifact BiLSTM…")
def _bilstm_scorer(name: str, file_key: str, path: str) -> BiLSTMScorer:
    model, _ = bc.load_bilstm(Path(path))
    return BiLSTMScorer(name, model, bc.shipped_tokenizer())


def bilstm_scorer(which: str) -> BiLSTMScorer | None:
    """"planted" (the artifact BiLSTM), "clean" (the lesson's BiLSTM) or "seed2"; None after a message."""
    path = {"planted": artifact.ARTIFACT_BILSTM_FILE, "clean": bc.MAIN_FILE, "seed2": bc.SEED2_FILE}[which]
    try:
        return _bilstm_scorer(f"BiLSTM, {which}", _file_key(path), str(path))
    except bc.BiLSTMFileMissingError as error:
        command = artifact.TRAIN_COMMAND if which == "planted" else bc.REBUILD_COMMAND
        st.warning(f"**A BiLSTM is missing or damaged.** {error} (`{command}`)", icon="🚫")
    except Exception as error:
        st.warning(f"**The BiLSTM {path.name} cannot be used** ({type(error).__name__}).", icon="🚫")
    return None


def minilm_only(loaded: LoadedModel, what: str) -> bool:
    """True when the loaded model is the MiniLM the stored heads were trained on; else says so once."""
    if loaded.facts.name == artifact.TRAINED_ON:
        return True
    st.info(f"**{what} needs {artifact.TRAINED_ON}.** It was trained on that model's sentence vectors; the app "
            f"shows {loaded.facts.name}. The BiLSTM parts of this page still work (they use the shipped "
            "MiniLM's embeddings).", icon="ℹ️")
    return False


@st.cache_resource(show_spinner="Loading the planted-artifact MiniLM head…")
def _artifact_head(file_key: str):
    return load_head(artifact.ARTIFACT_HEAD_FILE)


def artifact_minilm_scorer(loaded: LoadedModel) -> MiniLMScorer | None:
    """MiniLM + the head trained on planted tweets, when it fits the loaded model; None after a message."""
    try:
        head = _artifact_head(_file_key(artifact.ARTIFACT_HEAD_FILE))
    except ClassifierMissingError as error:
        st.warning(f"{error} (`{artifact.TRAIN_COMMAND}`)", icon="🚫")
        return None
    reason = head_mismatch(head, loaded.facts)
    if reason or loaded.facts.name != artifact.TRAINED_ON:
        st.info(f"**The planted MiniLM head fits only {artifact.TRAINED_ON}**: "
                f"{reason or 'it was trained on that model'}. Use the BiLSTM here.", icon="ℹ️")
        return None
    return MiniLMScorer("MiniLM, planted", loaded, head)


@st.cache_resource(show_spinner="Building the fine-tuned MiniLM (base + stored changes, once per server)…")
def _finetuned(_loaded: LoadedModel, model_name: str, file_key: str) -> checkpoint_comparison.Finetuned:
    return checkpoint_comparison.load_finetuned(_loaded)


def finetuned(loaded: LoadedModel) -> checkpoint_comparison.Finetuned | None:
    """The fine-tuned MiniLM (one copy per process), or None after a message (other model, missing file)."""
    if loaded.facts.name != artifact.TRAINED_ON:
        st.info(f"**The fine-tuned checkpoint fits only {artifact.TRAINED_ON}**; the app shows "
                f"{loaded.facts.name}. The stored numbers above are MiniLM's.", icon="ℹ️")
        return None
    try:
        return _finetuned(loaded, loaded.facts.name, _file_key(checkpoint_comparison.FINETUNED_FILE))
    except checkpoint_comparison.CheckpointError as error:
        st.warning(str(error), icon="🚫")
    except Exception as error:  # a damaged safetensors file
        st.warning(f"**{checkpoint_comparison.FINETUNED_FILE.name} cannot be read** ({type(error).__name__}). "
                   f"Recreate it with `{checkpoint_comparison.FINETUNE_COMMAND}`.", icon="🚫")
    return None


# ---------------------------------------------------------------------------- per-tweet computations
def checked_tweet(text: str | None) -> str | None:
    """The stripped tweet, or None after a message (empty, too long)."""
    try:
        text = check_text(text, "tweet")
    except InputError as error:
        st.warning(str(error), icon="✏️")
        return None
    if len(text) > MAX_TWEET_CHARACTERS:
        st.warning(f"This tweet has {len(text):,} characters; this page takes at most {MAX_TWEET_CHARACTERS:,}. "
                   "Shorten it.", icon="✂️")
        return None
    return text


@st.cache_data(show_spinner=False, max_entries=64)
def _scores(_scorer, scorer_key: str, text: str) -> TokenScores:
    return _scorer.token_scores(text)


def token_scores(scorer, text: str, model_key: str = "") -> TokenScores | None:
    """Attention, gradient x attention and removal per token of ``text`` (bounded cache); None after a message."""
    try:
        return _scores(scorer, f"{scorer.name}|{model_key}", text)
    except Exception as error:  # a tokenizer that cannot handle some character
        st.warning(f"This text could not be scored ({type(error).__name__}). Try a simpler one.", icon="✏️")
        return None


def label_of(probability: float) -> str:
    """The predicted class for P(positive) (the classifiers' 0.5 threshold)."""
    return "positive" if probability > 0.5 else "negative"


def with_or_without(text: str, add: bool) -> str:
    """The tweet with the artifact token appended (add) or every copy of it removed."""
    return artifact.with_token(artifact.without_token(text)) if add else artifact.without_token(text)


@st.cache_data(show_spinner="Attention in both checkpoints…", max_entries=16)
def _both_maps(_base, _base_head, _tuned, _tuned_head, model_name: str, text: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    a = checkpoint_comparison.attention_maps(_base, _base_head, text)
    b = checkpoint_comparison.attention_maps(_tuned, _tuned_head, text)
    ids = _base.tokenizer(text, truncation=True, max_length=checkpoint_comparison.MAX_TOKENS)["input_ids"]
    return _base.tokenizer.convert_ids_to_tokens(ids), a, b


def both_maps(loaded, head, tuned, text: str):
    """(tokens, base maps, fine-tuned maps), layers x heads x T x T each; None after a message."""
    try:
        return _both_maps(loaded, head, tuned.loaded, tuned.head, loaded.facts.name, text)
    except Exception as error:
        st.warning(f"This text could not be run ({type(error).__name__}). Try a simpler one.", icon="✏️")
        return None


def error_scorer(loaded: LoadedModel, model: str):
    """The scorer behind one error list ("BiLSTM", "MiniLM + head", "MiniLM fine-tuned"), or None with a message."""
    if model == "BiLSTM":
        return bilstm_scorer("clean")
    if not minilm_only(loaded, f"Scoring {model}'s errors"):
        return None
    if model == "MiniLM + head":
        from ui.models import get_sentiment_head

        head = get_sentiment_head(loaded)
        return MiniLMScorer(model, loaded, head) if head is not None else None
    tuned = finetuned(loaded)
    return MiniLMScorer(model, tuned.loaded, tuned.head) if tuned else None


# ---------------------------------------------------------------------------- tables for the charts
def accuracy_frame(res) -> pd.DataFrame:
    """model, test set, accuracy for the two planted classifiers and their clean controls."""
    rows = []
    for m in res.models:
        rows.append({"model": m.model, "test set": "clean test tweets", "accuracy": m.accuracy_clean})
        rows.append({"model": m.model, "test set": "~ planted like in training", "accuracy": m.accuracy_planted})
    return pd.DataFrame(rows)


def tag_frame(errors) -> pd.DataFrame:
    """tag, group, share: each rule tag among a model's errors and among its correct predictions."""
    rows = []
    for tag in errors.tag_rate_errors:
        rows.append({"tag": tag, "group": "errors", "share": errors.tag_rate_errors[tag]})
        rows.append({"tag": tag, "group": "correct", "share": errors.tag_rate_correct.get(tag, 0.0)})
    return pd.DataFrame(rows)


def error_table(rows, texts: dict[int, str]) -> pd.DataFrame:
    """One line per error for browsing."""
    labels = ("negative", "positive")
    return pd.DataFrame([{"tweet": texts.get(r.index, ""), "true": labels[r.label], "predicted": labels[r.predicted],
                          "confidence": r.confidence, "words": r.n_words, "tags": ", ".join(r.tags)} for r in rows])


def word_range(errors) -> tuple[int, int]:
    """Shortest and longest error, in words (for the length filter)."""
    lengths = [r.n_words for r in errors.errors] or [0]
    return min(lengths), max(max(lengths), min(lengths) + 1)


def head_map(maps: np.ndarray, layer: int, head: int) -> np.ndarray:
    """One head's T x T map; layer and head counted from 1."""
    return maps[layer - 1, head - 1]


def grid_array(res) -> np.ndarray:
    return np.asarray(res.jsd_grid, dtype=np.float64)


def sentence_head_jsd(base: np.ndarray, after: np.ndarray, layer: int, head: int) -> float:
    """One head's JS divergence (nats) between two checkpoints on one sentence; layer and head from 1."""
    return float(checkpoint_comparison.head_jsd(base, after)[layer - 1, head - 1])


def clamp_range(key: str, low: int, high: int) -> None:
    """Keep a range slider's stored value inside a range that changed (another model's errors)."""
    value = st.session_state.get(key)
    if isinstance(value, (tuple, list)) and len(value) == 2:
        a, b = (min(max(int(v), low), high) for v in value)
        st.session_state[key] = (min(a, b), max(a, b))


def token_attention(scores: TokenScores) -> tuple[float, bool] | None:
    """(attention on the appended artifact token, whether it is the top-attended one), or None without it."""
    if not scores.tokens or scores.tokens[-1] != artifact.ARTIFACT_TOKEN:
        return None
    last = len(scores.tokens) - 1
    return float(scores.attention[last]), scores.top("attention") == last


LIVE_SAMPLE = 20  # held-out tweets recomputed on the spot (a few seconds on 2 cores)


@st.cache_data(show_spinner="Recomputing on a sample of held-out tweets…", max_entries=4)
def live_sample_stats(n: int = LIVE_SAMPLE) -> dict[str, float | None] | None:
    """The planted BiLSTM's headline numbers recomputed now on the first ``n`` held-out tweets."""
    from lessonkit.sentiment_data import load_sentiment_split

    scorer = bilstm_scorer("planted")
    if scorer is None:
        return None
    split = load_sentiment_split()
    stats = artifact.artifact_stats(scorer, split.test_texts[:n], split.test_labels[:n], n_scored=n)
    return {"accuracy_clean": stats.accuracy_clean, "accuracy_planted": stats.accuracy_planted,
            "flip_add_to_negative": stats.flip_add_to_negative, "top_attention_is_token": stats.top_attention_is_token}
