"""Optional deep dive (section 2): how often each head points at the right word, over many sentences."""
from __future__ import annotations

import streamlit as st

from lessonkit.head_accuracy import (
    coreference_rows,
    pair_outcomes,
    relation_name,
    summarise_coreference,
    syntax_rows,
)
from lessonkit.head_patterns import head_label
from lessonkit.probes import load_coreference_items
from lessonkit.references import BERT_BASE_LAYERS, CLARK_2019_COREFERENCE
from ui import head_pages, url_state
from ui import session_keys as keys
from ui.app_guard import require_app_navigation
from ui.charts.common import show_chart
from ui.charts.head_grid import scores_heatmap
from ui.check_yourself import check_yourself
from ui.markdown import md_escape
from ui.models import get_model
from ui.sentence_picker import export_buttons, link_to

require_app_navigation()

GUIDED = "The animal didn't cross the street because it was too tired."
GUIDED_TWIN = "The animal didn't cross the street because it was too wide."


def claim() -> None:
    st.title("🎯 Do heads find the right word?")
    st.caption("Optional deep dive · about 5 minutes")
    st.markdown(
        "**Claim:** some heads specialise: in BERT-base, single heads find a verb's object or a pronoun's "
        "antecedent. Only counting over many sentences, against rules that need no model, tells a skill from luck."
    )


def try_this(summary) -> None:
    layer, head, score = summary.best_both
    with st.container(border=True):
        st.markdown("**Try this**")
        st.markdown(
            f"1. Read the twins: “{GUIDED}” (it = animal) and “…too **wide**” (it = street). A head that "
            f"resolves “it” must get **both** right.\n"
            f"2. This model's best head on that test, **{head_label(layer, head)}**, gets both twins right in "
            f"**{summary.pairs_right} of {summary.n_pairs}** pairs ({score:.0%}). A head guessing at random: 25%; "
            f"the luckiest of {summary.n_heads} random heads: about {summary.chance_both:.0%}.\n"
            f"3. Open it on the animal twins and see where “it” looks in each."
        )
        if st.button("Compare the twins with this head", key="ha_try_open", icon="👉"):
            head_pages.open_in_explorer(GUIDED, layer, head, twin=GUIDED_TWIN, words=True, hide=True)


def honest_result(summary, facts) -> None:
    st.header("Coreference: what this model does and does not do")
    layer, head, score = summary.best_both
    left, middle, right = st.columns(3)
    left.metric(f"Both twins right, best head ({head_label(layer, head)})", f"{score:.0%}",
                f"{summary.pairs_right} of {summary.n_pairs} pairs", delta_color="off", delta_arrow="off")
    middle.metric("Chance: one random head", "25%")
    right.metric(f"Chance: luckiest of {summary.n_heads} random heads", f"{summary.chance_both:.0%}")
    verdict = {
        "none": "No head of this model does better than a random head: its best heads pick the same noun in both "
                "twins, so they follow word order, not meaning.",
        "luck": "No head does better than luck would explain: its best head's score is what the luckiest of "
                f"{summary.n_heads} coin-flipping heads reaches. Most heads pick the same noun in both twins.",
        "above": "The best head follows the changed word in more pairs than luck explains, though far from all: "
                 "a weak coreference signal, not a coreference head.",
    }[summary.verdict]
    clark = CLARK_2019_COREFERENCE
    st.markdown(
        f"**{md_escape(facts.name)}** ({facts.n_layers} layers): {verdict} For the simple patterns its heads do "
        f"follow, see the head finder.\n\n"
        f"The lesson's “layer 8” coreference head is a **BERT-base** fact ({BERT_BASE_LAYERS} layers; Clark et al. "
        f"2019, whose best head, {clark.head}, chose the right antecedent {clark.accuracy:.0%} of the time on their "
        "data). "
        + ("This model has no layer 8." if facts.n_layers < 8 else "This model's layer 8 is not BERT-base's.")
    )


def coreference_details(summary, result, facts) -> None:
    with st.expander("Every head, and the rules it is compared with"):
        st.caption(
            "Per sentence: a head is right when “it” gives the true antecedent more weight than the other noun. "
            "Twins share word order, so any fixed rule is right exactly half the time."
        )
        head_pages.percent_table(
            coreference_rows(summary, result, facts.name), "ha_coref_table",
            ["who", "accuracy", "right / total", "model", "data"], bars=("accuracy",),
        )

        def grid():
            return scores_heatmap(summary.both, "Both twins right: share of pairs, each head", "pairs", (0.0, 0.5))

        show_chart(grid(), key="ha_coref_grid")
        export_buttons(grid, "coreference_both_twins", "ha_coref_export")


def one_pair(result, params) -> None:
    st.subheader("One pair, one head")
    items = load_coreference_items()
    labels = head_pages.pair_labels()
    columns = st.columns([4, 1, 1])
    pair = columns[0].selectbox("Twin pair", list(labels.keys()), format_func=lambda p: labels[p], key=keys.HA_PAIR) or 1
    layer = columns[1].number_input("Layer", params["layer"].low, params["layer"].high, key=keys.HA_LAYER)
    head = columns[2].number_input("Head", params["head"].low, params["head"].high, key=keys.HA_HEAD)
    outcomes = pair_outcomes(result, items, pair - 1, layer - 1, head - 1)
    for item, right in outcomes:
        st.markdown(f"{'✔' if right else '✘'} {md_escape(item.text)} *({item.pronoun} = {item.antecedent})*")
    if st.button("Compare these twins in the explorer", key="ha_open_compare", icon="🔦"):
        head_pages.open_in_explorer(outcomes[0][0].text, layer - 1, head - 1, twin=outcomes[1][0].text,
                                    words=True, hide=True)


def syntax(stats, facts) -> None:
    st.header("Syntax: hand-labelled relations")
    st.caption(
        "A head is right on an arc when, from one end, the word it attends to most (not [CLS], [SEP] or itself) is "
        "the other end. The rule: always the word at the best fixed distance. Our sentences are short and regular, "
        "so that rule does far better here than on Clark et al.'s news text."
    )
    head_pages.percent_table(
        syntax_rows(stats.syntax, facts.name), "ha_syntax_table",
        ["relation", "best head", "accuracy", "best fixed offset", "offset", "arcs", "model"],
        bars=("accuracy",), plain=("best fixed offset",),
    )
    choice = st.selectbox("Relation to map over all heads", list(head_pages.RELATION_CHOICES),
                          format_func=lambda c: relation_name(*head_pages.RELATION_CHOICES[c]), key=keys.HA_RELATION)
    accuracy = stats.syntax[head_pages.RELATION_CHOICES[choice]].accuracy

    def grid():
        return scores_heatmap(accuracy, "Accuracy of each head on this relation", "accuracy")

    show_chart(grid(), key="ha_syntax_grid")
    export_buttons(grid, f"syntax_accuracy_{choice}", "ha_syntax_export")


claim()
loaded = get_model()
if loaded is None:
    st.stop()
stats = head_pages.head_stats(loaded)
coreference = stats.coreference
summary = summarise_coreference(coreference, load_coreference_items())
params = head_pages.accuracy_params(loaded.facts, summary.best_both[0], summary.best_both[1])
head_pages.start_accuracy(params)
try_this(summary)
honest_result(summary, loaded.facts)
coreference_details(summary, coreference, loaded.facts)
one_pair(coreference, params)
syntax(stats, loaded.facts)
url_state.write(head_pages.accuracy_view(params))
url_state.link_to_this_view("head_accuracy", head_pages.accuracy_view(params))
link_to("pages/head_finder.py", "Deep dive: rank every head by pattern", "🧭")
check_yourself(section=2, key_prefix="head_accuracy_check")
