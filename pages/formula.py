"""Lesson section 1: where attention weights come from."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from lessonkit.formula import (
    attention_steps,
    largest_weight_at,
    max_abs_difference,
    random_toy_vectors,
    recomputation_errors,
    recompute_head,
    row_sum_error,
    row_summary,
    softmax_peakedness,
)
from lessonkit.neuron_view import neuron_view, strongest_keys
from lessonkit.pronoun_links import word_position
from ui import formula_state, presenter
from ui import session_keys as keys
from ui.app_guard import require_app_navigation
from ui.charts.common import position_labels, show_chart
from ui.charts.heatmap import heatmap
from ui.charts.neuron_view import neuron_view_chart
from ui.charts.softmax_scaling import peakedness_charts
from ui.check_yourself import check_yourself
from ui.markdown import md_escape
from ui.models import analyse, get_model
from ui.summary_numbers import remember
from ui.url_state import link_to_this_view, write

require_app_navigation()

TOY_WORDS = ["the", "cat", "sat", "on", "a", "mat"]
VALUE_SIZE = 2
REAL_HEATMAP_LIMIT = 40  # tokens drawn in the real-head maps; the check covers all of them
NEURON_KEYS = 24  # keys drawn in the neuron view (the strongest ones for long inputs)
D_K_GRID = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]


@st.cache_data(show_spinner=False, max_entries=16)
def cached_peakedness(n_keys: int, n_draws: int) -> pd.DataFrame:
    return softmax_peakedness(D_K_GRID, n_keys, n_draws, seed=0)


@st.cache_data(show_spinner="Checking every head…", max_entries=16)
def cached_recomputation_errors(_loaded, _result, model_source: str, text: str) -> np.ndarray:
    return recomputation_errors(_loaded, _result.hidden_states, _result.attn)


def claim() -> None:
    st.title("🧮 The attention formula")
    st.markdown(
        "**Claim:** an attention weight is not a stored number: it is computed for each sentence, "
        "row by row, as a softmax of query·key scores. Recompute a real head by hand and you get the model's "
        "numbers exactly."
    )
    st.latex(r"a_{ij} = \operatorname{softmax}_j\!\left(\frac{q_i \cdot k_j}{\sqrt{d_k}}\right),\qquad "
             r"\mathrm{Attn}(i) = \sum_j a_{ij}\, v_j")
    with st.expander("Where q, k and v come from"):
        st.markdown(
            "Each token's hidden state is multiplied by three learned matrices: the query, key and value "
            "projections. $d_k$ is the length of one head's queries and keys. Because of the softmax, every "
            "row $a_{i\\cdot}$ is a probability distribution: no weight is negative and each row adds up to 1, "
            "so attention is drawn with one row per query position and one column per key token."
        )


def toy() -> None:
    st.subheader("1 · A toy head you can edit")
    controls = st.columns(4)
    n_tokens = controls[0].slider("Tokens", 2, len(TOY_WORDS), 4, key=keys.TOY_TOKENS)
    d_k = controls[1].slider("d_k", 1, 64, 4, key=keys.TOY_D_K)
    seed = int(controls[2].number_input("Random seed", 0, 10_000, 0, step=1, key=keys.TOY_SEED))
    scaled = controls[3].toggle("Divide by √d_k", value=True, key=keys.TOY_SCALED)
    words = TOY_WORDS[:n_tokens]
    queries, keys_, values = random_toy_vectors(n_tokens, d_k, VALUE_SIZE, seed)

    def editable(name: str, matrix: np.ndarray, prefix: str) -> np.ndarray:
        frame = pd.DataFrame(matrix, index=words, columns=[f"{prefix}{c + 1}" for c in range(matrix.shape[1])])
        edited = st.data_editor(frame.round(3), key=f"toy_edit_{name}_{n_tokens}_{d_k}_{seed}", width="stretch",
                                num_rows="fixed")
        filled = edited.apply(pd.to_numeric, errors="coerce")
        if filled.isna().any().any():
            st.warning(f"Some {name} cells are empty or not numbers; they count as 0.", icon="✏️")
        return filled.fillna(0.0).to_numpy(dtype=float)

    with st.expander("Queries, keys and values (drawn from N(0, 1); edit any cell)", expanded=False):
        edit_columns = st.columns(3)
        with edit_columns[0]:
            queries = editable("queries", queries, "q")
        with edit_columns[1]:
            keys_ = editable("keys", keys_, "k")
        with edit_columns[2]:
            values = editable("values", values, "v")

    steps = attention_steps(queries, keys_, values, scale=scaled)
    divisor = f"√{d_k} = {np.sqrt(d_k):.2f}" if scaled else "1 (scaling off)"
    columns = st.columns(3)
    with columns[0]:
        st.markdown("**Dot products** $q_i \\cdot k_j$")
        show_chart(heatmap(steps.scores, words, words, value="q·k", scheme="purpleorange", annotate=True))
    with columns[1]:
        st.markdown(f"**Divided by** {divisor}")
        show_chart(heatmap(steps.scaled, words, words, value="scaled", scheme="purpleorange", annotate=True))
    with columns[2]:
        st.markdown("**Softmax of each row**")
        show_chart(heatmap(steps.weights, words, words, domain=(0.0, 1.0), annotate=True))
    with st.expander("Every row sums to 1; the output mixes the values"):
        st.dataframe(row_summary(steps.weights, words).style.format("{:.6f}"), width="stretch")
        outputs = pd.DataFrame(steps.output, index=pd.Index(words, name="output position"),
                               columns=[f"out{c + 1}" for c in range(VALUE_SIZE)])
        st.dataframe(outputs.style.format("{:.4f}"), width="content")


def scaling() -> None:
    st.subheader("2 · Why divide by √d_k")
    st.markdown("With N(0, 1) entries, q·k has variance $d_k$: big heads give spread-out scores, and the softmax "
                "turns nearly one-hot (saturated, tiny gradients). Dividing by √d_k keeps the variance at 1.")
    c1, c2 = st.columns(2)
    n_keys = c1.slider("Keys per query", 2, 64, 10, key=keys.SCALING_KEYS)
    n_draws = c2.select_slider("Random draws per point", [100, 300, 1000, 3000], value=1000, key=keys.SCALING_DRAWS)
    peakedness = cached_peakedness(n_keys, n_draws)
    largest, spread = peakedness_charts(peakedness, float(np.log(n_keys)))
    chart_columns = st.columns(2)
    with chart_columns[0]:
        show_chart(largest)
    with chart_columns[1]:
        show_chart(spread)
    unscaled, scaled_ = largest_weight_at(peakedness, 512)
    st.caption(f"At d_k = 512 the top key takes {unscaled:.1%} of the weight on average without scaling, "
               f"{scaled_:.1%} with it ({n_draws} random queries, {n_keys} keys).")


def real_head(loaded) -> None:
    st.subheader("3 · A real head, recomputed by hand")
    facts = loaded.facts
    formula_state.start(facts)
    text = st.text_input("Sentence", key=keys.FORMULA_TEXT, max_chars=20_000)
    picks = st.columns(3)
    layer = picks[0].slider("Layer", 1, facts.n_layers, key=keys.FORMULA_LAYER)
    head = picks[1].slider("Head", 1, facts.n_heads, key=keys.FORMULA_HEAD)
    result = analyse(loaded, text)
    if result is None:
        return
    labels = position_labels(result.tokens)
    query_state = st.session_state.get(keys.FORMULA_QUERY, -1)
    if query_state not in range(result.n_tokens):  # not chosen yet, or left from a longer sentence
        found = word_position(result.tokens, "it")
        st.session_state[keys.FORMULA_QUERY] = found if found is not None else min(1, result.n_tokens - 1)
    query = picks[2].selectbox("Query token (neuron view)", list(range(result.n_tokens)), key=keys.FORMULA_QUERY,
                               format_func=lambda i: labels[i])
    write(formula_state.current_view(facts, text, query))
    link_to_this_view("formula", formula_state.current_view(facts, text, query))

    model_map = result.attn[layer - 1, head - 1]
    recomputed = recompute_head(loaded, result.hidden_states[layer - 1], layer - 1, head - 1)
    difference = max_abs_difference(recomputed.weights, model_map)
    worst = float(cached_recomputation_errors(loaded, result, facts.source, result.text).max())
    verdict = st.columns(3)
    verdict[0].metric("Largest |by hand − model|, this head", f"{difference:.1e}")
    verdict[1].metric(f"… over all {facts.n_heads_total} heads", f"{worst:.1e}")
    verdict[2].metric("Largest |row sum − 1|", f"{row_sum_error(result.attn):.1e}")
    if max(difference, worst) < 1e-5:
        st.success("By hand (numpy, float64) and the model agree to better than 1e-5: the model's attention is "
                   "exactly this formula.", icon="✅")
    else:
        st.error("The hand computation and the model disagree by more than 1e-5.", icon="❗")
    neuron(loaded, result, labels, layer, head, query)
    with st.expander(f"The whole map, both ways ({facts.d_k}-dimensional queries and keys)"):
        shown = min(result.n_tokens, REAL_HEATMAP_LIMIT)
        if result.n_tokens > shown:
            st.caption(f"The first {shown} of {result.n_tokens} tokens; the numbers above cover all of them.")
        cut = slice(0, shown)
        columns = st.columns(2)
        for column, matrix, name in ((columns[0], recomputed.weights, "By hand"), (columns[1], model_map, "The model")):
            with column:
                show_chart(heatmap(matrix[cut, cut], labels[cut], labels[cut], domain=(0.0, 1.0),
                                   title=f"{name}: layer {layer}, head {head}", cell_size=14))


def neuron(loaded, result, labels, layer: int, head: int, query: int) -> None:
    """The neuron view: how the chosen query's row is built."""
    view = neuron_view(loaded, result.hidden_states[layer - 1], layer - 1, head - 1, query)
    shown = strongest_keys(view.weights, NEURON_KEYS)
    model_row = result.attn[layer - 1, head - 1, query]
    top = view.strongest
    st.markdown(
        f"**Neuron view** for {md_escape(labels[query])}: its query q against each key k. Summing a row of q × k and "
        f"dividing by √{view.d_k} gives the score; the softmax of the scores is the row. Largest weight: "
        f"{md_escape(labels[top])} ({view.weights[top]:.3f}; the model's own row: {model_row[top]:.3f}, "
        f"largest difference over the row {max_abs_difference(view.weights, model_row):.1e})."
    )
    if len(shown) < len(view.weights):
        st.caption(f"The {len(shown)} keys with the largest weights, of {len(view.weights)}; they hold "
                   f"{float(view.weights[shown].sum()):.1%} of the row.")
    show_chart(neuron_view_chart(view, labels, shown))


def try_this(loaded) -> None:
    """The guided step, with numbers from the live model."""
    result = analyse(loaded, formula_state.DEFAULT_SENTENCE)
    if result is None:
        return
    it = word_position(result.tokens, "it")
    with st.container(border=True):
        st.markdown("**Try this**")
        if it is None:
            st.caption("This model's tokenizer does not produce the token “it” for the example.")
            return
        view = neuron_view(loaded, result.hidden_states[0], 0, 0, it)
        top = view.strongest
        remember("formula", f"recomputed by hand, “it” in L1-H1 puts {view.weights[top]:.3f} of its weight on "
                 f"“{result.tokens[top]}”, as the model does; the row sums to {view.weights.sum():.6f}",
                 "pages/formula.py")
        st.markdown(
            f"1. In the toy, raise d_k to 64 with scaling off: one weight per row takes almost everything.\n"
            f"2. In section 3 keep layer 1, head 1 and the query “it”. You should see its largest weight go to "
            f"“{md_escape(result.tokens[top])}” ({view.weights[top]:.3f}), the same as the model's row, and every head match "
            "to better than 1e-5.\n"
            "3. Change the head: the scores change, the rule does not."
        )


claim()
try_this_slot = st.container()
loaded = get_model()


def a_real_head() -> None:
    if loaded is not None:
        with try_this_slot:
            try_this(loaded)
        real_head(loaded)


presenter.reveal("formula", [toy, scaling, a_real_head, lambda: check_yourself(section=1, key_prefix="formula_check")])
