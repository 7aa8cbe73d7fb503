"""State, caches and tables of the "Is attention an explanation?" page (Jain & Wallace's lab).

- URL parameters (deep links): text or a held-out tweet, classifier, layer and heads (from 1).
- The BiLSTM lab (Jain & Wallace's own setting; independent of the chosen transformer) and the
  transformer lab (the chosen model with the head that fits it), each cached per sentence; the
  transformer's adversary reports its progress.
- Tables and frames built from the saved test-set statistics.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from lessonkit import jain_wallace as jw
from lessonkit.bilstm_classifier import encode_sentence, shipped_tokenizer
from lessonkit.explanation_stats import PAIR_KEYS, ExplanationStats, is_number
from lessonkit.model import LoadedModel
from lessonkit.references import JAIN_WALLACE_2019_TAU
from lessonkit.transformer_classifier import LABELS, SentimentHead
from ui import models, session_keys
from ui.shared_cache import SharedCache
from ui.url_state import Param, read, write

URL_PATH = "not_explanation"
BILSTM, TRANSFORMER = "bilstm", "transformer"
DEFAULT_TEXT = "The battery died after an hour and support never answered. Worst phone I have owned."
DEFAULT_LABEL = 0  # negative: both classifiers get it right
N_EXAMPLES = 12
LAB_CACHE_BYTES = 32 * 2**20  # transformer lab results are a few hundred kB each

TEXT = Param("text", "text", DEFAULT_TEXT)
TWEET = Param("tweet", "int", 0, low=0, high=N_EXAMPLES)  # 1.. = a held-out tweet; 0 = none
CLASSIFIER = Param("classifier", "choice", BILSTM, choices=(BILSTM, TRANSFORMER))
LAYER = Param("layer", "int", 0)  # range set per model with .within(); 0 = the last layer
HEADS = Param("heads", "ints", ())  # empty = every head

PAIR_NAMES = {
    "attention~gradient": "attention vs gradient",
    "attention~leave_one_out": "attention vs leave-one-out",
    "gradient~leave_one_out": "gradient vs leave-one-out",
}


# ---------------------------------------------------------------------------- held-out tweets
@st.cache_data(show_spinner=False)
def held_out_tweets(n: int = N_EXAMPLES) -> list[tuple[str, int]]:
    """A few held-out tweets (never seen in training) with their labels; [] without the corpus package."""
    from lessonkit.sentiment_data import load_sentiment_split

    try:
        split = load_sentiment_split()
    except Exception:  # the corpus package is missing: the learner can still type
        return []
    pairs = [(t, int(label)) for t, label in zip(split.test_texts, split.test_labels) if 40 <= len(t) <= 140]
    return pairs[:n]


def known_label(text: str) -> int | None:
    """The true label of the default sentence or of a held-out tweet; None for the learner's own text."""
    if text == DEFAULT_TEXT:
        return DEFAULT_LABEL
    return next((label for tweet, label in held_out_tweets() if tweet == text), None)


# ---------------------------------------------------------------------------- URL <-> widgets
def layer_param(n_layers: int) -> Param:
    return LAYER.within(1, n_layers, default=n_layers)


def heads_param(n_heads: int) -> Param:
    return HEADS.within(1, n_heads, default=tuple(range(1, n_heads + 1)))


def apply_url_once(n_layers: int, n_heads: int) -> None:
    """Put the URL's view into the widgets, once per session (later the widgets lead)."""
    state = st.session_state
    if state.get(session_keys.NE_URL_READ):
        return
    state[session_keys.NE_URL_READ] = True
    tweets = held_out_tweets()
    tweet = read(TWEET.within(0, len(tweets), default=0))
    if tweet:
        state[session_keys.NE_EXAMPLE] = tweets[tweet - 1][0]
        state[session_keys.NE_TEXT] = tweets[tweet - 1][0]
    else:
        state[session_keys.NE_TEXT] = read(TEXT)
    state[session_keys.NE_MODEL] = read(CLASSIFIER)
    state[session_keys.NE_LAYER] = read(layer_param(n_layers))
    state[session_keys.NE_HEADS] = read(heads_param(n_heads))


def use_example() -> None:
    """The tweet dropdown fills the text box."""
    example = st.session_state.get(session_keys.NE_EXAMPLE)
    if example:
        st.session_state[session_keys.NE_TEXT] = example


def text_edited() -> None:
    """Once the learner types their own text, the dropdown no longer names a tweet."""
    if st.session_state.get(session_keys.NE_EXAMPLE) != st.session_state.get(session_keys.NE_TEXT):
        st.session_state[session_keys.NE_EXAMPLE] = None


def view_values(n_layers: int, n_heads: int) -> dict[Param, object]:
    """The current view as URL values (a tweet by number when one is picked, else the text)."""
    state = st.session_state
    text = state.get(session_keys.NE_TEXT, DEFAULT_TEXT)
    tweets = [t for t, _ in held_out_tweets()]
    example = state.get(session_keys.NE_EXAMPLE)
    tweet = tweets.index(example) + 1 if example in tweets and example == text else 0
    return {
        TEXT: "" if tweet else text,
        TWEET: tweet,
        CLASSIFIER: state.get(session_keys.NE_MODEL, BILSTM),
        layer_param(n_layers): state.get(session_keys.NE_LAYER, n_layers),
        heads_param(n_heads): tuple(sorted(state.get(session_keys.NE_HEADS, []))) or tuple(range(1, n_heads + 1)),
    }


def write_url(n_layers: int, n_heads: int) -> dict[Param, object]:
    values = view_values(n_layers, n_heads)
    write(values)
    return values


# ---------------------------------------------------------------------------- the labs
@st.cache_data(max_entries=64, show_spinner="Shuffling and searching for an adversary…")
def _bilstm_lab(_model, model_key: str, text: str) -> tuple[jw.LabResult, bool]:
    sentence = encode_sentence(shipped_tokenizer(), text, jw.MAX_TOKENS)
    probe = jw.bilstm_probe(_model, sentence.ids, sentence.mask)
    return jw.run_lab(probe, sentence.tokens, adversary=jw.BILSTM_ADVERSARY), sentence.truncated


def bilstm_lab(text: str, show_error: bool = True) -> tuple[jw.LabResult, bool] | None:
    """(lab result, truncated) for the learned-attention BiLSTM; None (after naming a bad file)."""
    found = models.get_bilstm("learned", show_error=show_error)
    if found is None:
        return None
    model, info = found
    return _bilstm_lab(model, f"{info.get('held_out_accuracy')}|{info.get('seed')}", text)


@st.cache_resource
def _transformer_cache() -> SharedCache[tuple[jw.LabResult, bool]]:
    return SharedCache(LAB_CACHE_BYTES)


def run_transformer_lab(
    loaded: LoadedModel, head: SentimentHead, text: str, layer: int, heads: tuple[int, ...],
    progress: jw.Progress | None = None,
) -> tuple[jw.LabResult, bool]:
    """(lab result, truncated) for ``heads`` of ``layer`` (counted from 0) of the chosen model."""
    key = (loaded.facts.source, head.metadata.get("held_out_accuracy"), text, layer, heads)

    def compute() -> tuple[jw.LabResult, bool]:
        sentence = jw.encode_for_transformer(loaded, text)
        probe, _ = jw.transformer_probe(loaded, head, sentence.encoded, layer, list(heads))
        result = jw.run_lab(probe, sentence.tokens, removable=sentence.removable,
                            adversary=jw.LIVE_TRANSFORMER_ADVERSARY,
                            progress=progress, time_budget=jw.LIVE_LAB_SECONDS)
        return result, sentence.truncated

    # a class opening the same sentence waits for one search instead of running forty at once
    return _transformer_cache().get_or_compute(key, compute)


def transformer_lab(loaded, head, text: str, layer: int, heads: tuple[int, ...]):
    """run_transformer_lab with a progress bar while the adversary searches."""
    bar = st.progress(0.0, text="Shuffling the attention and searching for an adversary…")
    try:
        return run_transformer_lab(loaded, head, text, layer, heads,
                                   progress=lambda done: bar.progress(done, text="Searching for an adversary…"))
    finally:
        bar.empty()


# ---------------------------------------------------------------------------- words and tables
def label_of(p_positive: float) -> str:
    return LABELS[int(p_positive > 0.5)]


def wrong_prediction(p_positive: float, text: str) -> str | None:
    """A sentence saying the shown prediction is wrong, when the true label is known."""
    label = known_label(text)
    if label is None or int(p_positive > 0.5) == label:
        return None
    return f"This prediction is wrong: the sentence is labelled **{LABELS[label]}**."


def tau_text(mean: float | None, std: float | None, significant: float | None) -> str:
    if not is_number(mean):
        return "–"
    spread = f" ± {std:.2f}" if is_number(std) else ""
    share = f" ({significant:.2f})" if is_number(significant) else ""
    return f"{mean:.2f}{spread}{share}"


def tau_table(stats: ExplanationStats, transformer_name: str) -> pd.DataFrame:
    """Kendall tau of each pair of importance measures: J&W's published SST numbers beside ours."""
    published = JAIN_WALLACE_2019_TAU["SST"]
    rows = []
    for key in PAIR_KEYS:
        ours_b, ours_t = stats.bilstm.summary.taus[key], stats.transformer.summary.taus[key]
        rows.append({
            "Kendall tau": PAIR_NAMES[key],
            "J&W: BiLSTM on SST (published)": tau_text(*published[key]),
            "ours: BiLSTM on tweets": tau_text(ours_b.mean, ours_b.std, ours_b.fraction_significant),
            f"ours: {transformer_name} on tweets": tau_text(ours_t.mean, ours_t.std, ours_t.fraction_significant),
        })
    return pd.DataFrame(rows)


def sentence_frame(stats: ExplanationStats) -> pd.DataFrame:
    rows = [dict(r.model_dump(), model="BiLSTM") for r in stats.bilstm.sentences]
    rows += [dict(r.model_dump(), model="MiniLM") for r in stats.transformer.sentences]
    return pd.DataFrame(rows)


def seed_vs_adversary_frame(stats: ExplanationStats) -> pd.DataFrame:
    seeds = [r.seed_jsd for r in stats.bilstm.sentences if r.seed_jsd is not None]
    adversaries = [r.adversarial_jsd for r in stats.bilstm.sentences]
    return pd.DataFrame({
        "JSD": seeds + adversaries,
        "between": ["two training seeds"] * len(seeds) + ["learned vs adversarial"] * len(adversaries),
    })


def sample_table(summaries: dict[str, dict], transformer_name: str) -> pd.DataFrame:
    names = {BILSTM: "ours: BiLSTM on tweets", TRANSFORMER: f"ours: {transformer_name} on tweets"}
    rows = []
    for model, summary in summaries.items():
        for key in PAIR_KEYS:
            s = summary["taus"][key]
            rows.append({"model": names[model], "Kendall tau": PAIR_NAMES[key],
                         "mean ± std (significant)": tau_text(s["mean"], s["std"], s["fraction_significant"])})
    return pd.DataFrame(rows)


def contrasts_table(result: jw.LabResult) -> pd.DataFrame:
    """Learned, uniform and most-attended-token-removed attention: output and distance from learned."""
    removed = result.tokens[result.removed_position]
    return pd.DataFrame([
        {"attention": "learned", "P(positive)": result.base_output, "|change|": 0.0, "JSD from learned": 0.0},
        {"attention": "uniform over all tokens", "P(positive)": result.uniform_output,
         "|change|": abs(result.uniform_output - result.base_output), "JSD from learned": result.uniform_jsd},
        {"attention": f"most-attended token removed (#{result.removed_position + 1}: {removed})",
         "P(positive)": result.removed_output, "|change|": abs(result.removed_output - result.base_output),
         "JSD from learned": result.removed_jsd},
    ])


def all_unknown(tokens: list[str]) -> bool:
    real = [t for t in tokens if t not in ("[CLS]", "[SEP]", "<s>", "</s>")]
    return bool(real) and all(t in ("[UNK]", "<unk>") for t in real)


def mean_or_nan(values) -> float:
    values = [v for v in values if is_number(v)]
    return float(np.mean(values)) if values else float("nan")


def recompute_sample(loaded, n_sample: int) -> dict[str, dict]:
    """The test-set statistics recomputed now on the first ``n_sample`` held-out tweets, with a progress bar."""
    from lessonkit.feature_importance import sample_summaries
    from lessonkit.sentiment_data import load_sentiment_split

    bilstm = models.get_bilstm("learned")
    seed2 = models.get_bilstm("seed2")
    split = load_sentiment_split()
    bar = st.progress(0.0, text="Working through the sentences…")
    head = models.get_sentiment_head(loaded) if loaded is not None else None

    def progress(done: float, what: str) -> None:
        bar.progress(done, text=what)

    summaries = sample_summaries(
        bilstm[0] if bilstm else None, seed2[0] if seed2 else None, shipped_tokenizer(), loaded, head,
        split.test_texts[:n_sample], split.test_labels[:n_sample].tolist(), progress=progress)
    bar.empty()
    return summaries
