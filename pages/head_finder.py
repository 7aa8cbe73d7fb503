"""Head finder: score every head for the lesson's attention patterns and rank them."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from lessonkit.head_patterns import (
    PATTERN_THRESHOLDS,
    PATTERNS,
    average_scores,
    head_label,
    heads_using,
    rank_heads,
    ranking_rows,
)
from lessonkit.probes import load_probes
from ui.app_guard import require_app_navigation
from ui.charts.head_grid import scores_heatmap
from ui.models import get_model
from ui.sentence_picker import attention_or_message, export_buttons, link_to, scores_for, sentence_picker

require_app_navigation()

st.title("🧭 Head finder")
st.markdown(
    "Which heads look at the previous word, which park their attention on [CLS] or [SEP], which spread it "
    "evenly? Each head gets a score per pattern, computed from its attention map on your sentence, with no "
    "further model run. Pick a row in the ranking to open that head in the explorer."
)
with st.expander("How the scores are computed"):
    st.markdown(
        "For every head, averaged over the query positions of the sentence:\n"
        "- **previous token / next token / self**: the weight a query puts on the token just before it, just after it, or on itself;\n"
        "- **[CLS] / [SEP] / punctuation**: the total weight on those tokens;\n"
        "- **broad**: the entropy of the row divided by its largest possible value, log(n): 1 means spread evenly, 0 means all on one token.\n\n"
        "A head *uses* a pattern here when its score reaches "
        + ", ".join(f"{PATTERNS[p]} ≥ {t:g}" for p, t in PATTERN_THRESHOLDS.items())
        + ". Heads are numbered from 1 (L3-H5 = third layer, fifth head), like Clark et al. 2019."
    )

loaded = get_model()
if loaded is None:
    st.stop()
facts = loaded.facts

text, pair = sentence_picker("hf")
sentence = attention_or_message(loaded, text, pair)
if sentence is None:
    st.stop()

words = st.toggle("Whole words (merge WordPieces)", key="hf_words")
scores = scores_for(loaded, sentence, words)

# --- which heads do what, on this sentence and over the probe library
@st.cache_data(max_entries=4, show_spinner="Scoring every head on the probe library…")
def library_scores(_loaded, model_source: str) -> dict[str, np.ndarray]:
    from lessonkit.analysis import analyse_sentence
    from lessonkit.head_patterns import pattern_scores, token_kinds

    per_sentence = []
    for probe in load_probes():
        s = analyse_sentence(_loaded, probe.text, probe.text_pair)
        per_sentence.append(pattern_scores(s.attn, token_kinds(s.tokens)))
    return average_scores(per_sentence)


library = library_scores(loaded, facts.source)


def named(items: list[tuple[int, int, float]], limit: int = 6) -> str:
    shown = ", ".join(f"{head_label(l, h)} ({v:.2f})" for l, h, v in items[:limit])
    more = len(items) - limit
    return shown + (f" and {more} more" if more > 0 else "") if items else "none"


st.subheader("The heads this model uses for each pattern")
st.caption(
    f"Measured on {facts.name}: on your sentence, and averaged over the {len(load_probes())} probe sentences "
    "of the lesson. Numbers in brackets are scores."
)
summary = pd.DataFrame(
    [
        {
            "pattern": PATTERNS[p],
            "threshold": PATTERN_THRESHOLDS[p],
            "heads at or above it (this sentence)": named(heads_using(scores[p], PATTERN_THRESHOLDS[p])),
            "best head (this sentence)": named(rank_heads(scores[p], 1)),
            "heads at or above it (probe library)": named(heads_using(library[p], PATTERN_THRESHOLDS[p])),
            "best head (probe library)": named(rank_heads(library[p], 1)),
        }
        for p in PATTERNS
    ]
)
st.dataframe(
    summary,
    hide_index=True,
    width="stretch",
    key="hf_summary",
    column_config={
        "heads at or above it (this sentence)": st.column_config.TextColumn(width="large"),
        "heads at or above it (probe library)": st.column_config.TextColumn(width="large"),
        "threshold": st.column_config.NumberColumn(width="small"),
    },
)
n_prev = len(heads_using(library["previous"], 0.5))
n_next = len(heads_using(library["next"], 0.5))
st.markdown(
    f"**Beside BERT-base.** Averaged over the probe library, {facts.name}'s heads give "
    f"{float(library['cls'].mean()):.0%} of their attention to [CLS] and {float(library['sep'].mean()):.0%} to [SEP]; "
    f"{n_prev} of its {facts.n_layers * facts.n_heads} heads put over half on the previous token and {n_next} on the next. "
    "For BERT-base (12 × 12 heads), Clark et al. 2019 found that over half of the attention in layers 6-10 goes "
    "to [SEP], with four heads over 50% on the previous token and five on the next."
)

st.subheader("One pattern, every head")
pattern = st.radio("Pattern", list(PATTERNS), format_func=PATTERNS.get, key="hf_pattern", horizontal=True)


def grid():
    return scores_heatmap(scores[pattern], f"{PATTERNS[pattern]}: score of each head", "score")


st.altair_chart(grid(), width="content", key="hf_grid")
export_buttons(grid, f"head_scores_{pattern}", "hf_grid_export")

st.subheader("Ranking")
st.caption("Sorted by the pattern chosen above. Select a row to open that head in the explorer.")
rows = pd.DataFrame(ranking_rows(scores)).sort_values(pattern, ascending=False, kind="stable").reset_index(drop=True)
shown = rows[["head", "strongest", *PATTERNS]].rename(columns=PATTERNS)
event = st.dataframe(
    shown,
    hide_index=True,
    width="stretch",
    height=420,
    key="hf_table",
    on_select="rerun",
    selection_mode="single-row",
    column_config={
        label: st.column_config.ProgressColumn(label, min_value=0.0, max_value=1.0, format="%.3f")
        for label in PATTERNS.values()
    },
)
picked = event.selection.rows if event is not None and hasattr(event, "selection") else []
if picked:
    row = rows.iloc[picked[0]]
    layer, head = int(row["layer_index"]) + 1, int(row["head_index"]) + 1
    for key in ("hx_layer", "hx_heads", "hx_view", "hx_words", "hx_text", "hx_pair", "hx_probe", "hx_twin"):
        st.session_state.pop(key, None)
    params = {"text": text, "layer": str(layer), "head": str(head), "view": "lines", "words": "1" if words else "0"}
    if pair:
        params["pair"] = pair
    try:
        st.switch_page("pages/head_explorer.py", query_params=params)
    except Exception:  # the explorer is not registered in this app's navigation
        st.info(f"Open {row['head']} in the head explorer page (layer {layer}, head {head}).", icon="🔦")

link_to("pages/head_accuracy.py", "Measured: which heads find a pronoun's antecedent?", "🎯")
