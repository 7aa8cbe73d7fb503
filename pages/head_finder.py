"""Optional deep dive (section 2): score every head for the simple patterns and rank them."""
from __future__ import annotations

import streamlit as st

from lessonkit.head_patterns import (
    PATTERN_THRESHOLDS,
    PATTERNS,
    head_label,
    library_facts,
    pattern_summary_rows,
)
from lessonkit.references import (
    BERT_BASE_HEADS,
    BERT_BASE_LAYERS,
    CLARK_2019_NEXT_TOKEN_HEADS,
    CLARK_2019_PREVIOUS_TOKEN_HEADS,
    CLARK_2019_SEP_SHARE_LAYERS,
)
from ui import head_pages, url_state
from ui import session_keys as keys
from ui.app_guard import require_app_navigation
from ui.charts.common import show_chart
from ui.charts.head_grid import scores_heatmap
from ui.check_yourself import check_yourself
from ui.models import get_model
from ui.sentence_picker import attention_or_message, export_buttons, link_to, scores_for, sentence_picker

require_app_navigation()


def claim() -> None:
    st.title("🧭 Head finder")
    st.caption("Optional deep dive · about 5 minutes")
    st.markdown(
        "**Claim:** many heads follow a fixed, simple pattern (the previous word, the next word, [CLS] or "
        "[SEP]), and one number per head is enough to find them."
    )
    with st.expander("How a head is scored"):
        st.markdown(
            "Averaged over the query positions: the weight on the token just before (**previous**), just after "
            "(**next**) or on itself (**self**); the total weight on **[CLS]**, **[SEP]** or **punctuation**; and "
            "**broad**: the row's entropy divided by its largest possible value (1 = spread evenly). A head *uses* "
            "a pattern when its score reaches "
            + ", ".join(f"{t:g} ({PATTERNS[p]})" for p, t in PATTERN_THRESHOLDS.items())
            + ". L3-H5 means layer 3, head 5."
        )


def try_this(loaded, stats) -> None:
    facts = library_facts(stats.library)
    layer, head, score = facts.best_previous
    with st.container(border=True):
        st.markdown("**Try this**")
        st.markdown(
            f"1. Over the {stats.n_probes} probe sentences, **{head_label(layer, head)}** puts **{score:.0%}** of its "
            f"weight on the previous token. Pick *previous token* below: it should top the ranking on your "
            f"sentence too.\n"
            f"2. Open it in the explorer: a bright line just left of the diagonal."
        )
        if st.button("Open it in the explorer", key="hf_try_open", icon="👉"):
            head_pages.open_in_explorer(st.session_state.get(keys.HF_TEXT, ""), layer, head, words=False,
                                        pair=st.session_state.get(keys.HF_PAIR) or None)


def model_wide(loaded, stats) -> None:
    facts = library_facts(stats.library)
    st.markdown(
        f"**Beside BERT-base.** Over the probe sentences, {loaded.facts.name}'s heads give {facts.cls_share:.0%} of "
        f"their weight to [CLS] and {facts.sep_share:.0%} to [SEP]; {facts.n_previous} of its {facts.n_heads} heads "
        f"put over half on the previous token and {facts.n_next} on the next. In BERT-base "
        f"({BERT_BASE_LAYERS} × {BERT_BASE_HEADS} heads) Clark et al. (2019) found over half the attention of layers "
        f"{CLARK_2019_SEP_SHARE_LAYERS[0]}-{CLARK_2019_SEP_SHARE_LAYERS[1]} on [SEP], "
        f"{CLARK_2019_PREVIOUS_TOKEN_HEADS} previous-token heads and {CLARK_2019_NEXT_TOKEN_HEADS} next-token heads."
    )


def scores_on_sentence(loaded, stats) -> tuple[dict, str, str | None, bool] | None:
    st.subheader("Your sentence")
    text, pair = sentence_picker("hf")
    words = st.toggle("Whole words (merge WordPieces)", key=keys.HF_WORDS)
    sentence = attention_or_message(loaded, text, pair)
    if sentence is None:
        return None
    scores = scores_for(loaded, sentence, words)
    st.caption("Which heads reach each pattern's threshold, on your sentence and over the probe library. "
               "Numbers in brackets are scores.")
    head_pages.percent_table(
        pattern_summary_rows(scores, stats.library), "hf_summary",
        ["pattern", "heads at or above it (this sentence)", "best head (this sentence)",
         "heads at or above it (probe library)", "best head (probe library)"], bars=(),
    )
    return scores, text, pair, words


def one_pattern(scores) -> str:
    st.subheader("One pattern, every head")
    pattern = st.radio("Pattern", list(PATTERNS), format_func=PATTERNS.get, key=keys.HF_PATTERN, horizontal=True)

    def grid():
        return scores_heatmap(scores[pattern], f"{PATTERNS[pattern]}: score of each head", "score")

    show_chart(grid(), key="hf_grid")
    export_buttons(grid, f"head_scores_{pattern}", "hf_grid_export")
    return pattern


def ranking(scores, pattern, text, pair, words) -> None:
    st.subheader("Ranking")
    st.caption(f"Sorted by {PATTERNS[pattern]}. Select a row to open that head in the explorer.")
    rows, event = head_pages.ranking_table(scores, pattern)
    picked = event.selection.rows if event is not None and hasattr(event, "selection") else []
    if picked:
        row = rows[picked[0]]
        head_pages.open_in_explorer(text, row["layer_index"], row["head_index"], words=words, pair=pair)


claim()
loaded = get_model()
if loaded is None:
    st.stop()
head_pages.start_finder()
stats = head_pages.head_stats(loaded)
try_this(loaded, stats)
measured = scores_on_sentence(loaded, stats)
if measured is not None:
    scores, text, pair, words = measured
    pattern = one_pattern(scores)
    ranking(scores, pattern, text, pair, words)
    url_state.write(head_pages.finder_view(text, pair))
    url_state.link_to_this_view("head_finder", head_pages.finder_view(text, pair))
model_wide(loaded, stats)
link_to("pages/head_accuracy.py", "Next deep dive: do heads find the right word?", "🎯")
check_yourself(section=2, key_prefix="head_finder_check")
