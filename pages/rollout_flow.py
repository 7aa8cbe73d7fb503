"""Lesson section 5: attention rollout and attention flow (Abnar & Zuidema 2020)."""
import pandas as pd
import streamlit as st

from lessonkit.attention_flow import normalise_rows
from lessonkit.faithfulness import ResultsFileError, load_results
from lessonkit.rollout import (
    FUSIONS,
    attention_rollout,
    discard_lowest,
    fuse_heads,
    gradient_weighted_rollout,
    mixing_by_layer,
    own_share,
    residual_matrices,
    row_comparison,
)
from ui import explanations as ex
from ui import presenter
from ui import session_keys as keys
from ui.app_guard import require_app_navigation
from ui.charts.common import position_labels, show_chart
from ui.charts.heatmap import heatmap
from ui.charts.layer_lines import line_by_layer
from ui.charts.token_bars import token_bars
from ui.check_yourself import check_yourself
from ui.markdown import md_escape
from ui.models import analyse, classifier_or_stop, get_model
from ui.summary_numbers import remember
from ui.url_state import link_to_this_view

require_app_navigation()
METHODS = {"plain": "plain rollout", "gradient": "gradient-weighted rollout (needs the classifier)"}
COLOURS = ("#e6550d", "#756bb1", "#31a354")


def claim() -> None:
    st.title("🌊 Attention rollout and attention flow")
    st.markdown(
        "**The claim:** one layer's attention shows only how positions mix *in that layer*. Each block also "
        "adds its input back (the residual connection), and later layers mix already-mixed states. Rollout "
        "and flow (Abnar & Zuidema 2020) follow each input token through all layers."
    )
    st.latex(r"\tilde A_l = \operatorname{rownorm}\!\left(\tfrac{1}{2}(\bar A_l + I)\right), \qquad R_l = \tilde A_l\, R_{l-1}")
    st.caption(
        "Rollout multiplies the layers' matrices, so a path counts with the product of its weights. Flow treats "
        "the same matrices as pipes and asks how much can flow from an input token to an output position at once "
        "(a maximum flow): a path is limited by its narrowest pipe."
    )


def sentence():
    loaded = get_model()
    if loaded is None:
        st.stop()
    ex.seed_from_url(ex.RF_TEXT, keys.RF_TEXT)
    ex.seed_from_url(ex.RF_METHOD, keys.RF_METHOD)
    top = st.columns([3, 2])
    text = top[0].text_input("Sentence", key=keys.RF_TEXT, max_chars=2000)
    method = top[1].radio("Rollout", list(METHODS), format_func=METHODS.get, key=keys.RF_METHOD)
    checked = ex.check_page_text(loaded, text)
    if checked is None:
        st.stop()
    analysis = analyse(loaded, checked)
    if analysis is None:
        st.stop()
    return loaded, checked, method, analysis


def controls(analysis):
    n_layers, n = analysis.attn.shape[0], analysis.attn.shape[-1]
    labels = position_labels(analysis.tokens)
    params = {
        "layer": ex.RF_LAYER.within(1, n_layers, n_layers),
        "position": ex.RF_POSITION.within(1, n, 1),
        "fusion": ex.RF_FUSION,
        "discard": ex.RF_DISCARD,
    }
    for name, key in (("layer", keys.RF_LAYER), ("position", keys.RF_POSITION), ("fusion", keys.RF_FUSION),
                      ("discard", keys.RF_DISCARD)):
        ex.seed_from_url(params[name], key)
    row = st.columns(4)
    fusion = row[0].selectbox("Fuse heads by", FUSIONS, key=keys.RF_FUSION)
    discard = row[1].slider("Discard lowest weights (%)", 0, 90, step=10, key=keys.RF_DISCARD,
                            help="Per layer, set this share of the smallest off-diagonal fused weights to zero.")
    layer = row[2].slider("Up to layer", 1, n_layers, key=keys.RF_LAYER)
    position = row[3].selectbox("Output position (row)", range(1, n + 1), format_func=lambda i: labels[i - 1],
                                key=keys.RF_POSITION)
    values = {"layer": layer, "position": position, "fusion": fusion, "discard": discard}
    return labels, fusion, discard / 100, layer, position - 1, {params[k]: v for k, v in values.items()}


def rollout_of(loaded, text, method, analysis, fusion, discard):
    if method == "gradient":
        _, head = classifier_or_stop()
        computed = ex.sentence_gradients(loaded, head, text)
        if computed is None:
            st.stop()
        result = computed[1]
        ex.show_prediction(result.probabilities, result.predicted, text, ex.ROLLOUT_EXAMPLES)
        st.caption("Heads fused by (A·∂y/∂A)⁺ of the predicted class's logit, as vit-explain does; the fusion "
                   "choice applies to the other views.")
        return gradient_weighted_rollout(result.attn, result.class_grad, discard), "gradient-weighted rollout"
    return attention_rollout(analysis.attn, fusion=fusion, discard_fraction=discard), f"rollout ({fusion} of heads)"


def maps(analysis, labels, raw, rollout, rollout_name, fusion, layer):
    show_cells = len(labels) <= ex.MAP_CELLS_LIMIT or st.toggle(
        "Show every cell of both maps", key=keys.RF_SHOW_CELLS,
        help="Long sentences are drawn as small images first; the cells take longer to send.",
    )
    columns = st.columns(2)
    raw_title = f"Raw attention, layer {layer} alone ({fusion} of heads)"
    ex.map_view(columns[0], raw[layer - 1], labels, raw_title,
                lambda: heatmap(raw[layer - 1], labels, labels, title=raw_title), "rf_raw_map", show_cells)
    roll_title = f"{rollout_name}, layers 1–{layer}"
    ex.map_view(columns[1], rollout[layer - 1], labels, roll_title,
                lambda: heatmap(rollout[layer - 1], labels, labels, value="rollout", scheme="purples", title=roll_title),
                "rf_rollout_map", show_cells)


def one_row(loaded, text, labels, raw, rollout, rollout_name, per_layer, fusion, discard, layer, position):
    flow, seconds = ex.flow_row(per_layer[:layer], (loaded.facts.source, text, fusion, discard, layer), position)
    share = normalise_rows(flow[None])[0]
    names = [f"raw attention, layer {layer}", rollout_name, "flow (each row scaled to sum 1)"]
    bars = pd.DataFrame(row_comparison(dict(zip(names, [raw[layer - 1, position], rollout[layer - 1, position], share])),
                                       labels))
    show_chart(token_bars(bars, f"Where {labels[position]} draws from, after layer {layer}",
                               colors=dict(zip(names, COLOURS)), value_title="share of the row"),
                    width="stretch", key="rf_row_bars")
    st.caption(f"Raw max-flow values run from {flow.min():.3f} to {flow.max():.3f}; the {len(labels)} max-flows "
               f"took {seconds * 1000:.0f} ms. Flow uses the same fused matrices as plain rollout.")


def depth(raw, rollout, layer, labels):
    show_chart(line_by_layer(pd.DataFrame(mixing_by_layer(raw, rollout)), "value",
                                  "How mixing grows with depth (averages over positions)"),
                    width="stretch", key="rf_mixing")
    sink = rollout[layer - 1].mean(0)
    top = int(sink.argmax())
    st.markdown(
        f"After layer {layer} the average rollout row gives its largest share, {sink[top]:.0%}, to "
        f"**{md_escape(labels[top])}**. Whether rows spread out or pile up on a few tokens depends on the model."
    )
    try:
        saved = load_results()
    except ResultsFileError:
        return
    last = rollout.shape[0]
    cells = {m: saved.summary.get(f"{m}_L{last}", {}).get("blank_out") for m in ("raw", "rollout", "flow")}
    if all(c is not None and c.mean is not None for c in cells.values()):
        st.expander(f"A surprise on this model: raw attention agrees better with blank-out "
                    f"({cells['raw'].mean:+.2f}) than rollout ({cells['rollout'].mean:+.2f}). Why?").markdown(
            f"Over {saved.n_sentences} test tweets, layer {last}'s raw attention agrees "
            f"better with blank-out ({cells['raw'].mean:+.2f}) than rollout ({cells['rollout'].mean:+.2f}) or flow "
            f"({cells['flow'].mean:+.2f}), unlike Abnar & Zuidema's small model. The piling-up above is part of why: "
            "most of every rollout row goes to one or two tokens and the words share the rest in small, similar "
            "amounts, so their order rests on small differences; and neither view knows what the classifier's head "
            "reads. Details on the *which view is "
            "faithful* page."
        )


def try_this(rollout):
    own = own_share(rollout)
    remember("rollout", f"in rollout, the share a position keeps on its own token fell from {own[0]:.0%} after layer 1 "
             f"to {own[-1]:.0%} after layer {len(own)}", "pages/rollout_flow.py")
    st.info(
        f"**Try this.** Move *Up to layer* from 1 to {len(own)}: the share a position keeps on its own token in "
        f"rollout falls from {own[0]:.0%} to {own[-1]:.0%} (raw attention of one layer does not fall like this). "
        "Then fuse heads by *max*: the raw map changes too, and so does the rollout built from it.",
        icon="👉",
    )


claim()
loaded, text, method, analysis = sentence()
guide = st.container()
labels, fusion, discard, layer, position, view = controls(analysis)
fused = discard_lowest(fuse_heads(analysis.attn, fusion), discard)
per_layer = residual_matrices(fused)
raw = fuse_heads(analysis.attn, fusion)  # one layer's own mixing, heads fused as chosen
rollout, rollout_name = rollout_of(loaded, text, method, analysis, fusion, discard)
with guide:
    try_this(rollout)
def closing(view) -> None:
    link_to_this_view("rollout_flow", view)
    check_yourself(section=5, key_prefix="rollout_flow_check")


view = {ex.RF_TEXT: text, ex.RF_METHOD: method, **view}
ex.write_url(view)
presenter.reveal("rollout_flow", [
    lambda: maps(analysis, labels, raw, rollout, rollout_name, fusion, layer),
    lambda: one_row(loaded, text, labels, raw, rollout, rollout_name, per_layer, fusion, discard, layer, position),
    lambda: depth(raw, rollout, layer, labels),
    lambda: closing(view),
])
