"""Lesson section 4: gradient x attention, and which heads matter to one prediction."""
import streamlit as st

from lessonkit.gradient_attention import (
    SCORE_NAMES,
    agreement_with_ablation,
    along_for_the_ride,
    gradient_weighted_attention,
    head_scores,
    head_table,
)
from lessonkit.transformer_classifier import LABELS
from ui import explanations as ex
from ui import presenter
from ui import session_keys as keys
from ui.app_guard import require_app_navigation
from ui.charts.common import position_labels, show_chart
from ui.charts.head_grid import scores_heatmap
from ui.charts.heatmap import heatmap
from ui.charts.layer_lines import ranking_scatter
from ui.check_yourself import check_yourself
from ui.markdown import md_escape
from ui.models import classifier_or_stop
from ui.summary_numbers import remember
from ui.url_state import link_to_this_view

require_app_navigation()
TARGET_NAMES = {"predicted": "the predicted class", "negative": "negative", "positive": "positive"}


def claim() -> None:
    st.title("📐 Gradient × attention")
    st.markdown(
        "**The claim:** an attention map shows where a head looked, not whether that look mattered. "
        "Weighting the map by the gradient, how much the answer would change if the weights moved, "
        "separates heads that matter from heads whose crisp pattern is *along for the ride*."
    )
    st.latex(r"\hat A_h = A_h \odot \left|\frac{\partial L}{\partial A_h}\right| \qquad"
             r"\text{signed: } \left(A_h \odot \frac{\partial y_c}{\partial A_h}\right)^{+}")
    st.caption(
        "L is the cross-entropy of the explained class; y_c its logit. The signed view (Chefer et al. 2021, "
        "vit-explain) keeps attention that raises the class's score. The classifier: the encoder, frozen, "
        "averaged over tokens, and a linear head trained on tweets."
    )


def sentence_and_gradients():
    loaded, head = classifier_or_stop()
    ex.seed_from_url(ex.GA_TEXT, keys.GA_TEXT)
    ex.seed_from_url(ex.GA_TARGET, keys.GA_TARGET)
    left, right = st.columns([3, 1])
    text = left.text_input("Sentence for the classifier", key=keys.GA_TEXT, max_chars=2000)
    target_choice = right.selectbox("Explain", ex.TARGETS, format_func=TARGET_NAMES.get, key=keys.GA_TARGET)
    checked = ex.check_page_text(loaded, text)
    if checked is None:
        st.stop()
    target = None if target_choice == "predicted" else LABELS.index(target_choice)
    computed = ex.sentence_gradients(loaded, head, checked, target)
    if computed is None:
        st.stop()
    tokens, result = computed
    ex.show_prediction(result.probabilities, result.predicted, checked, ex.GRADIENT_EXAMPLES)
    return loaded, head, checked, target_choice, position_labels(tokens), result


def one_head(result, labels):
    n_layers, n_heads = result.attn.shape[:2]
    st.subheader("One head: its map and its gradient-weighted map")
    layer_param = ex.GA_LAYER.within(1, n_layers, n_layers)
    head_param = ex.GA_HEAD.within(1, n_heads, 1)
    ex.seed_from_url(layer_param, keys.GA_LAYER)
    ex.seed_from_url(head_param, keys.GA_HEAD)
    ex.seed_from_url(ex.GA_SIGNED, keys.GA_SIGNED)
    controls = st.columns(3)
    layer = controls[0].slider("Layer", 1, n_layers, key=keys.GA_LAYER)
    head_number = controls[1].slider("Head", 1, n_heads, key=keys.GA_HEAD)
    signed = controls[2].toggle("Signed: (A·∂y/∂A)⁺", key=keys.GA_SIGNED,
                                help="Only attention that raises the explained class's score.")
    weighted = gradient_weighted_attention(result, signed=signed)
    name = "(A·∂y/∂A)⁺" if signed else "A·|∂L/∂A|"
    show_cells = len(labels) <= ex.MAP_CELLS_LIMIT or st.toggle(
        "Show every cell of both maps", key=keys.GA_SHOW_CELLS,
        help="Long sentences are drawn as small images first; the cells take longer to send.",
    )
    maps = st.columns(2)
    attn_map = result.attn[layer - 1, head_number - 1]
    weighted_map = weighted[layer - 1, head_number - 1]
    ex.map_view(maps[0], attn_map, labels, f"Attention, L{layer} H{head_number}",
                lambda: heatmap(attn_map, labels, labels, title=f"Attention A, layer {layer} head {head_number}"),
                "ga_chart_attn", show_cells)
    ex.map_view(maps[1], weighted_map, labels, name,
                lambda: heatmap(weighted_map, labels, labels, value="weighted", scheme="oranges",
                                title=f"{name}, layer {layer} head {head_number}"),
                "ga_chart_weighted", show_cells)
    st.caption("Rows: output (query) positions; columns: input (key) tokens. The right map has its own colour "
               "scale: the gradient's size depends on the sentence.")
    return {layer_param: layer, head_param: head_number, ex.GA_SIGNED: signed}, signed, weighted


def every_head(result, weighted, signed):
    st.subheader("Every head at once")
    scores = head_scores(result.attn, result.grad)
    name = "(A·∂y/∂A)⁺" if signed else "A·|∂L/∂A|"
    grids = st.columns(2)
    with grids[0]:
        show_chart(scores_heatmap(scores["concentration"], "Pattern strength (attention only)",
                                  "strength", scheme="blues"), width="stretch", key="ga_grid_concentration")
    with grids[1]:
        show_chart(scores_heatmap(weighted.sum((-1, -2)), f"Sum of {name} per head", "sum", domain=None,
                                  scheme="oranges"), width="stretch", key="ga_grid_weighted")
    st.caption("Pattern strength = 1 − mean row entropy / log(number of tokens): 1 when every row puts all its "
               "weight on one token. It uses no gradient.")
    return scores


def against_removal(loaded, head, text, result, scores):
    st.subheader("Which ranking agrees with removing heads?")
    ablation = ex.sentence_ablation(loaded, head, text, result.target)
    ride = along_for_the_ride(scores["concentration"], scores["gradient_weighted"])
    agreement = agreement_with_ablation(scores, ablation)
    table = head_table(ablation, scores, ride)
    metrics = st.columns(3)
    for column, score in zip(metrics, ("gradient_weighted", "concentration", "taylor")):
        column.metric(f"{SCORE_NAMES[score]} vs removal", f"{agreement[score]:+.2f}",
                      help="Spearman correlation over all heads with |loss change when the head is removed|.")
    st.expander(f"Why does gradient × attention agree only {agreement['gradient_weighted']:+.2f} and the Taylor "
                f"estimate {agreement['taylor']:+.2f}?", expanded=False).markdown(
        f"Why does gradient × attention agree only {agreement['gradient_weighted']:+.2f} while the Taylor "
        f"estimate reaches {agreement['taylor']:+.2f}? Both use the same A·∂L/∂A. Gradient × attention adds up "
        "the **sizes** |A·∂L/∂A|: a head whose entries push the loss up here and down there scores high. The "
        "Taylor estimate |Σ A·∂L/∂A| lets them **cancel**, as they do when the head is really removed: it is "
        "the first-order prediction of that removal (Michel et al. 2019). Sensitivity is not effect."
    )
    charts = st.columns(2)
    with charts[0]:
        show_chart(ranking_scatter(table, "gradient × attention", "gradient × attention"),
                   width="stretch", key="ga_scatter_grad")
    with charts[1]:
        show_chart(ranking_scatter(table, "pattern strength", "pattern strength"),
                   width="stretch", key="ga_scatter_conc")
    st.caption(f"{int(ride.sum())} heads (red) are along for the ride: top third by pattern strength, bottom "
               f"third by gradient × attention. Removal = the change of the loss of {LABELS[result.target]} when "
               "one head's weights are set to zero.")
    with st.expander("Every head, ranked by the effect of removing it"):
        st.dataframe(table, width="stretch", hide_index=True, key="ga_table")
    return table, agreement


def try_this(table):
    top = table.iloc[0]
    remember("gradient", f"removing {top['head']} changed the loss most ({top['loss change when removed']:+.3f}); "
             f"its pattern strength ranked {top['rank by pattern strength']} of {len(table)}, gradient × attention "
             f"{top['rank by gradient × attention']}", "pages/gradient_attention.py")
    st.info(
        f"**Try this.** Removing **{top['head']}** changes the loss most ({top['loss change when removed']:+.3f}); "
        f"pattern strength ranks it {top['rank by pattern strength']} of {len(table)}, gradient × attention "
        f"{top['rank by gradient × attention']}. Set the sliders to it and compare its two maps; then switch "
        "*Explain* to the other class and turn on *Signed*: the signed map keeps only what pushes towards "
        "that class, so it lights up other cells.",
        icon="👉",
    )


claim()
loaded, head, text, target_choice, labels, result = sentence_and_gradients()
placeholder = st.container()
head_view, signed, weighted = one_head(result, labels)
view = {ex.GA_TEXT: text, ex.GA_TARGET: target_choice, **head_view}
ex.write_url(view)


def every_head_against_removal() -> None:
    scores = every_head(result, weighted, signed)
    table, _ = against_removal(loaded, head, text, result, scores)
    with placeholder:
        try_this(table)


def closing() -> None:
    link_to_this_view("gradient_attention", view)
    st.markdown(f"These numbers hold for this sentence and this model only: try "
                f"*{md_escape(list(ex.GRADIENT_EXAMPLES)[1])}* and watch the agreements move.")
    check_yourself(section=4, key_prefix="gradient_attention_check")


presenter.reveal("gradient_attention", [every_head_against_removal, closing])
