"""Measured head accuracy: coreference on Winograd twins, and hand-labelled syntactic relations."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from lessonkit.head_accuracy import (
    AccuracyResult,
    chance_best_accuracy,
    coreference_accuracy,
    syntax_accuracy,
    twin_pair_accuracy,
)
from lessonkit.head_patterns import head_label, rank_heads
from lessonkit.probes import RELATIONS, coreference_twins, load_coreference_items, load_syntax_arcs
from lessonkit.word_level import merge_attention, word_groups, word_labels
from ui.app_guard import require_app_navigation
from ui.charts.head_grid import scores_heatmap
from ui.models import get_model
from ui.sentence_picker import export_buttons, link_to

require_app_navigation()

# Clark et al. 2019, BERT-base, 1-indexed layer-head (LESSON.md section 8)
CLARK_COREF = {"head": "5-4", "accuracy": 0.65, "nearest mention": 0.27, "head-word match": 0.52, "rule-based system": 0.69}
CLARK_SYNTAX = {
    "det": ("8-11", 0.943, 0.517),
    "dobj": ("8-10", 0.868, 0.400),
    "pobj": ("9-6", 0.763, 0.346),
}

st.title("🎯 Do heads find the right word?")
st.markdown(
    "Pictures of single sentences can make any head look clever. Here every head is scored on many "
    "sentences at once, against simple rules that need no model at all."
)

loaded = get_model()
if loaded is None:
    st.stop()
facts = loaded.facts


def word_map(text: str):
    """(word_attn: layers x heads x words x words, labels, special) for one sentence."""
    from lessonkit.analysis import analyse_sentence

    sentence = analyse_sentence(loaded, text)
    groups = word_groups(sentence.word_ids, sentence.segment_ids)
    special = np.array([sentence.word_ids[g[0]] is None for g in groups], dtype=bool)
    return merge_attention(sentence.attn, groups), word_labels(sentence.tokens, groups), special


@st.cache_data(max_entries=4, show_spinner="Running the model on the coreference twins (once)…")
def coreference_result(model_source: str) -> AccuracyResult:
    items = load_coreference_items()
    return coreference_accuracy(items, [word_map(item.text)[:2] for item in items])


@st.cache_data(max_entries=4, show_spinner="Running the model on the labelled sentences (once)…")
def syntax_results(model_source: str) -> dict[tuple[str, bool], AccuracyResult]:
    arcs = load_syntax_arcs()
    maps = {text: word_map(text) for text in dict.fromkeys(a.text for a in arcs)}
    results = {}
    for relation in RELATIONS:
        chosen = [a for a in arcs if a.relation == relation]
        for reverse in (False, True):
            results[(relation, reverse)] = syntax_accuracy(chosen, [maps[a.text] for a in chosen], reverse=reverse)
    return results


items = load_coreference_items()
coref = coreference_result(facts.source)
n_pairs = len({item.pair for item in items})
n_heads_total = facts.n_layers * facts.n_heads
chance = chance_best_accuracy(coref.n_items, n_heads_total)
best = rank_heads(coref.accuracy, 5)

st.header("Coreference: does the pronoun look at its antecedent?")
st.markdown(
    f"We wrote {n_pairs} pairs of Winograd-style sentences ({coref.n_items} sentences). The two sentences of a pair "
    "differ in one word, and that word changes what the pronoun refers to: *the animal didn't cross the street "
    "because it was too **tired*** (it = animal) against *… too **wide*** (it = street). A head counts as right "
    "on a sentence when, from the pronoun, it gives the true antecedent more weight than the other noun. "
    "Word order is the same in both twins, so a rule such as *always the first noun* is right exactly half the time."
)

top_l, top_h, top_a = best[0]
verdict = (
    "which is no better than the luckiest of that many coin-flipping heads would be"
    if top_a <= chance
    else "a little above what the luckiest of that many coin-flipping heads would reach"
)
metric_col, text_col = st.columns([1, 3])
metric_col.metric(f"Best head of {facts.name}", f"{head_label(top_l, top_h)}: {top_a:.0%}", f"{top_a - 0.5:+.0%} vs first-noun rule")
text_col.markdown(
    f"Over all {n_heads_total} heads the best reaches {top_a:.0%}, {verdict} ({chance:.0%}). "
    f"Clark et al.'s head 5-4 reached 65% on **BERT-base** (12 layers, a bigger model) and on their own, "
    "different data, so the two numbers measure different models on different sentences. Heads here are "
    "numbered from 1, like theirs."
)
table = pd.DataFrame(
    [
        {"who": f"{head_label(l, h)} (best heads)", "model": f"{facts.name} (ours)", "data": "our twins",
         "accuracy": a, "right / total": f"{int(round(a * coref.n_items))} / {coref.n_items}"}
        for l, h, a in best
    ]
    + [
        {"who": f"baseline: {name}", "model": "no model", "data": "our twins", "accuracy": value,
         "right / total": f"{int(round(value * coref.n_items))} / {coref.n_items}"}
        for name, value in coref.baselines.items()
    ]
    + [
        {"who": f"best of {n_heads_total} coin-flipping heads (median)", "model": "chance", "data": "simulated",
         "accuracy": chance, "right / total": ""},
        {"who": f"head {CLARK_COREF['head']}", "model": "BERT-base (Clark et al. 2019)", "data": "their coreference data",
         "accuracy": CLARK_COREF["accuracy"], "right / total": ""},
    ]
    + [
        {"who": f"baseline: {name}", "model": "BERT-base paper's baselines (Clark et al. 2019)",
         "data": "their coreference data", "accuracy": CLARK_COREF[name], "right / total": ""}
        for name in ("nearest mention", "head-word match", "rule-based system")
    ]
)
table = table[["who", "accuracy", "right / total", "model", "data"]]
st.dataframe(
    table, hide_index=True, width="stretch", key="ha_coref_table", height=35 * (len(table) + 1) + 3,
    column_config={"accuracy": st.column_config.ProgressColumn("accuracy", min_value=0.0, max_value=1.0, format="percent")},
)

both = twin_pair_accuracy(coref.correct, [item.pair for item in items])
(both_l, both_h, both_a), = rank_heads(both, 1)
chance_both = chance_best_accuracy(n_pairs, n_heads_total, p=0.25)
st.markdown(
    f"**A stricter test: both twins right.** A head that ignores the word that changed picks the same noun in "
    f"both sentences of a pair, so it can get at most one of them right; every fixed rule scores 0% here. "
    f"The best head of {facts.name} on this test is **{head_label(both_l, both_h)}**, with both twins right in "
    f"{int(round(both_a * n_pairs))} of {n_pairs} pairs ({both_a:.0%}). A head guessing each sentence at random "
    f"would get a pair right a quarter of the time, and the luckiest of {n_heads_total} such heads about "
    f"{chance_both:.0%}. "
    + (
        "So even the best head mostly picks the same noun in both twins: in this model no single head's attention "
        "follows the meaning that decides the antecedent."
        if both_a <= 0.25
        else "So the best head does follow the changed word in some pairs, though not often enough to call it a "
        "coreference head."
        if both_a <= chance_both
        else "That is more than luck would explain: this head's attention tracks the antecedent in many pairs."
    )
)


def coref_grid():
    return scores_heatmap(
        coref.accuracy, "Coreference accuracy of each head (our twins; colours span 25% to 75%)", "accuracy", (0.25, 0.75)
    )


st.altair_chart(coref_grid(), width="content", key="ha_coref_grid")
export_buttons(coref_grid, "coreference_accuracy", "ha_coref_export")

with st.expander("Look at one pair with the best head"):
    pair_index = st.selectbox(
        "Pair", sorted({item.pair for item in items}),
        format_func=lambda p: coreference_twins(p)[0].text, key="ha_pair",
    )
    first, second = coreference_twins(pair_index)
    for item in (first, second):
        index = items.index(item)
        right_here = bool(coref.correct[index, top_l, top_h])
        st.text(f"{'✔' if right_here else '✘'}  {item.text}   ({item.pronoun} = {item.antecedent})")
    if st.button("Compare these twins in the explorer", key="ha_open_compare", icon="🔦"):
        for key in ("hx_layer", "hx_heads", "hx_view", "hx_words", "hx_text", "hx_pair", "hx_probe", "hx_twin"):
            st.session_state.pop(key, None)
        params = {"text": first.text, "twin": second.text, "layer": str(top_l + 1), "head": str(top_h + 1),
                  "view": "compare", "words": "1"}
        try:
            st.switch_page("pages/head_explorer.py", query_params=params)
        except Exception:
            st.info("The head explorer page is not part of this app.", icon="🔦")

st.header("Syntax: hand-labelled relations")
arcs = load_syntax_arcs()
syntax = syntax_results(facts.source)
st.markdown(
    f"{len({a.text for a in arcs})} sentences we labelled by hand, {len(arcs)} arcs. A head is right on an arc when "
    "the word it attends to most from one end (ignoring [CLS], [SEP] and the word itself) is the other end. "
    "The baseline always picks the word at one fixed distance, the best such distance for the relation, as Clark et al. did."
)
rows = []
for relation, description in RELATIONS.items():
    for reverse in (False, True):
        result = syntax[(relation, reverse)]
        (l, h, a), = rank_heads(result.accuracy, 1)
        src, dst = description.split(" → ")
        rows.append(
            {
                "relation": f"{dst} → {src}" if reverse else description,
                "model": f"{facts.name} (ours)",
                "best head": head_label(l, h),
                "accuracy": a,
                "best fixed offset": result.baselines["best fixed offset"],
                "offset": f"{result.best_offset:+d}",
                "arcs": str(result.n_items),
            }
        )
    clark_head, clark_acc, clark_base = CLARK_SYNTAX[relation]
    rows.append(
        {"relation": f"{relation} (their labels)", "model": "BERT-base (Clark et al. 2019)", "best head": clark_head,
         "accuracy": clark_acc, "best fixed offset": clark_base, "offset": "", "arcs": "their data"}
    )
percent = {"accuracy": st.column_config.ProgressColumn("accuracy", min_value=0.0, max_value=1.0, format="percent"),
           "best fixed offset": st.column_config.NumberColumn("best fixed offset", format="percent")}
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="ha_syntax_table", column_config=percent)
st.caption(
    "Our sentences are short and regular (a determiner is usually right before its noun), so fixed offsets do "
    "far better here than on Clark et al.'s newspaper text; read each head's number against its own baseline."
)
relation_choice = st.selectbox(
    "Relation to map over all heads",
    [(r, rev) for r in RELATIONS for rev in (False, True)],
    format_func=lambda c: (lambda s, d: f"{d} → {s}" if c[1] else f"{s} → {d}")(*RELATIONS[c[0]].split(" → ")),
    key="ha_relation",
)


def syntax_grid():
    return scores_heatmap(syntax[relation_choice].accuracy, "Accuracy of each head on this relation", "accuracy")


st.altair_chart(syntax_grid(), width="content", key="ha_syntax_grid")
export_buttons(syntax_grid, f"syntax_accuracy_{relation_choice[0]}", "ha_syntax_export")
link_to("pages/head_explorer.py", "Look at any head in the explorer", "🔦")
