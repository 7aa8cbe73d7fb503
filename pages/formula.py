"""Lesson section 1: where attention weights come from."""
import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from lessonkit.formula import (
    attention_steps,
    random_toy_vectors,
    recomputation_errors,
    recompute_head,
    softmax_peakedness,
)
from ui.app_guard import require_app_navigation
from ui.charts.common import position_labels
from ui.charts.heatmap import heatmap
from ui.check_yourself import check_yourself
from ui.models import analyse, get_model

require_app_navigation()

TOY_WORDS = ["the", "cat", "sat", "on", "a", "mat"]
VALUE_SIZE = 2
REAL_HEATMAP_LIMIT = 40  # tokens; longer sentences show their first tokens, the check covers all
DEFAULT_SENTENCE = "The animal didn't cross the street because it was too tired."
D_K_GRID = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]


@st.cache_data(show_spinner=False)
def cached_peakedness(n_keys: int, n_draws: int):
    return softmax_peakedness(D_K_GRID, n_keys, n_draws, seed=0)


@st.cache_data(show_spinner="Checking every head…")
def cached_recomputation_errors(_loaded, _result, model_source: str, text: str) -> np.ndarray:
    return recomputation_errors(_loaded, _result.hidden_states, _result.attn)


st.title("🧮 The attention formula")
st.markdown(
    "Each output position *i* of a head is a weighted average of value vectors. The weights come from "
    "comparing that position's **query** with every position's **key**:"
)
st.latex(
    r"\mathrm{Attn}(i) = \sum_j a_{ij}\, v_j, \qquad "
    r"a_{ij} = \operatorname{softmax}_j\!\left(\frac{q_i \cdot k_j}{\sqrt{d_k}}\right) "
    r"= \frac{\exp(q_i \cdot k_j / \sqrt{d_k})}{\sum_{j'} \exp(q_i \cdot k_{j'} / \sqrt{d_k})}"
)
st.markdown(
    "The vectors $q_i$, $k_j$ and $v_j$ are the token's hidden state multiplied by three learned matrices "
    "(the query, key and value projections); $d_k$ is the length of one head's queries and keys. "
    "Because of the softmax, every row $a_{i\\cdot}$ is a probability distribution: no weight is negative "
    "and each row adds up to exactly 1. That is why attention is drawn as a heatmap with one row per "
    "output (query) position and one column per input (key) token."
)

toy_tab, scale_tab, real_tab = st.tabs(["🧸 Play with a toy", "📏 Why divide by √d_k?", "🔬 Open a real head"])

with toy_tab:
    st.subheader("A toy head you can edit")
    controls = st.columns(4)
    n_tokens = controls[0].slider("Tokens", 2, len(TOY_WORDS), 4, key="toy_n")
    d_k = controls[1].slider("d_k (query/key size)", 1, 64, 4, key="toy_dk")
    seed = controls[2].number_input("Random seed", 0, 10_000, 0, step=1, key="toy_seed")
    scaled = controls[3].toggle("Divide by √d_k", value=True, key="toy_scale")
    words = TOY_WORDS[:n_tokens]
    queries, keys, values = random_toy_vectors(n_tokens, d_k, VALUE_SIZE, int(seed))

    st.caption(
        "Vectors are drawn from a standard normal with the seed above. Edit any cell to see the weights move "
        "(changing the sliders or the seed draws fresh vectors)."
    )

    def editable(name: str, matrix: np.ndarray, prefix: str) -> np.ndarray:
        frame = pd.DataFrame(matrix, index=words, columns=[f"{prefix}{c + 1}" for c in range(matrix.shape[1])])
        edited = st.data_editor(
            frame.round(3), key=f"toy_edit_{name}_{n_tokens}_{d_k}_{seed}", width="stretch",
            num_rows="fixed", disabled=False,
        )
        filled = edited.apply(pd.to_numeric, errors="coerce")
        if filled.isna().any().any():
            st.warning(f"Some {name} cells are empty or not numbers; they count as 0.", icon="✏️")
        return filled.fillna(0.0).to_numpy(dtype=float)

    with st.expander("Queries, keys and values (editable)", expanded=d_k <= 8):
        edit_columns = st.columns(3)
        with edit_columns[0]:
            st.markdown("**Queries q**")
            queries = editable("queries", queries, "q")
        with edit_columns[1]:
            st.markdown("**Keys k**")
            keys = editable("keys", keys, "k")
        with edit_columns[2]:
            st.markdown("**Values v**")
            values = editable("values", values, "v")

    steps = attention_steps(queries, keys, values, scale=scaled)
    divisor = f"√{d_k} = {np.sqrt(d_k):.3f}" if scaled else "1 (scaling switched off)"
    step_columns = st.columns(2)
    with step_columns[0]:
        st.markdown("**Step 1 — dot products** $q_i \\cdot k_j$")
        st.altair_chart(heatmap(steps.scores, words, words, value="q·k", scheme="purpleorange", annotate=True),
                        width="content")
    with step_columns[1]:
        st.markdown(f"**Step 2 — divide by** {divisor}")
        st.altair_chart(heatmap(steps.scaled, words, words, value="scaled score", scheme="purpleorange",
                                annotate=True), width="content")
    step_columns = st.columns(2)
    with step_columns[0]:
        st.markdown("**Step 3 — softmax of each row** (the attention weights)")
        st.altair_chart(heatmap(steps.weights, words, words, value="weight", domain=(0.0, 1.0), annotate=True),
                        width="content")
    with step_columns[1]:
        st.markdown("**Each row is a point on the simplex**")
        sums = pd.DataFrame(
            {"largest weight": steps.weights.max(axis=1), "smallest weight": steps.weights.min(axis=1),
             "row sum": steps.weights.sum(axis=1)},
            index=pd.Index(words, name="query"),
        )
        st.dataframe(sums.style.format("{:.6f}"), width="stretch")
        st.caption("Every weight lies between 0 and 1 and every row sums to 1 (up to floating-point rounding).")

    st.markdown("**Step 4 — the output is a weighted mix of the values**")
    shown_query = st.selectbox("Output position to expand", list(range(n_tokens)), format_func=lambda i: words[i],
                               key="toy_query")
    terms = " + ".join(
        f"{steps.weights[shown_query, j]:.3f}\\,v_{{\\text{{{words[j]}}}}}" for j in range(n_tokens)
    )
    vector = ", ".join(f"{x:.3f}" for x in steps.output[shown_query])
    st.latex(rf"\mathrm{{Attn}}(\text{{{words[shown_query]}}}) = {terms} = ({vector})")
    outputs = pd.DataFrame(steps.output, index=pd.Index(words, name="output position"),
                           columns=[f"out{c + 1}" for c in range(VALUE_SIZE)])
    st.dataframe(outputs.style.format("{:.4f}"), width="content")

with scale_tab:
    st.subheader("Why the 1/√d_k factor is there")
    st.markdown(
        "If the entries of $q$ and $k$ are independent with mean 0 and variance 1, their dot product has "
        "variance $d_k$. With big heads the scores spread out, the largest one wins the softmax almost "
        "outright, and the weights become nearly one-hot. A one-hot softmax is *saturated*: nudging a score "
        "barely changes anything, so gradients are tiny and learning stalls. Dividing by $\\sqrt{d_k}$ brings "
        "the variance back to 1 whatever the head size."
    )
    n_keys = st.slider("Number of keys each query looks at", 2, 64, 10, key="scale_keys")
    n_draws = st.select_slider("Random draws per point", [100, 300, 1000, 3000], value=1000, key="scale_draws")
    peakedness = cached_peakedness(n_keys, n_draws)
    base = alt.Chart(peakedness).encode(
        x=alt.X("d_k:Q", scale=alt.Scale(type="log", base=2), title="d_k (log scale)"),
        color=alt.Color("scaling:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=["d_k:Q", "scaling:N", alt.Tooltip("mean largest weight:Q", format=".4f"),
                 alt.Tooltip("mean entropy (nats):Q", format=".4f")],
    )
    chart_columns = st.columns(2)
    chart_columns[0].altair_chart(
        base.mark_line(point=True).encode(y=alt.Y("mean largest weight:Q", scale=alt.Scale(domain=[0, 1])))
        .properties(title="How much the top key takes", height=300),
        width="stretch",
    )
    uniform = alt.Chart(pd.DataFrame({"uniform": [float(np.log(n_keys))]})).mark_rule(strokeDash=[4, 4]).encode(
        y="uniform:Q", tooltip=[alt.Tooltip("uniform:Q", title="entropy of uniform weights", format=".4f")]
    )
    chart_columns[1].altair_chart(
        (base.mark_line(point=True).encode(y=alt.Y("mean entropy (nats):Q")) + uniform)
        .properties(title="Entropy of the weights (dashed: uniform)", height=300),
        width="stretch",
    )
    unscaled_512 = peakedness.query("d_k == 512 and scaling == 'not scaled'")["mean largest weight"].item()
    scaled_512 = peakedness.query("d_k == 512 and scaling != 'not scaled'")["mean largest weight"].item()
    st.caption(
        f"Over {n_draws} random queries with {n_keys} keys each: at d_k = 512 the top key takes on average "
        f"{unscaled_512:.1%} of the weight without scaling and {scaled_512:.1%} with it. "
        f"With scaling the curve stays flat, because the scaled scores have the same spread for every d_k."
    )

with real_tab:
    st.subheader("Recompute a head of the real model by hand")
    loaded = get_model()
    if loaded is not None:
        facts = loaded.facts
        text = st.text_input("Sentence", DEFAULT_SENTENCE, key="real_text", max_chars=20_000)
        picks = st.columns(2)
        layer = picks[0].slider("Layer", 1, facts.n_layers, 1, key="real_layer")
        head = picks[1].slider("Head", 1, facts.n_heads, 1, key="real_head")
        result = analyse(loaded, text)
        if result is not None:
            recomputed = recompute_head(loaded, result.hidden_states[layer - 1], layer - 1, head - 1)
            model_map = result.attn[layer - 1, head - 1]
            difference = float(np.abs(recomputed.weights - model_map).max())
            n = result.n_tokens
            st.markdown(
                f"The sentence became **{n} tokens**. Layer {layer} receives the hidden states "
                f"$X$ ({n} × {facts.d_model}) from the layer below. Head {head} owns {facts.d_k} columns of "
                "the layer's query and key projections, so:"
            )
            st.latex(
                rf"Q = X W_q + b_q \;({n}\times{facts.d_k}),\quad K = X W_k + b_k \;({n}\times{facts.d_k}),\quad "
                rf"A = \operatorname{{softmax}}\!\left(\frac{{Q K^\top}}{{\sqrt{{{facts.d_k}}}}}\right) \;({n}\times{n})"
            )
            labels = position_labels(result.tokens)
            shown = min(n, REAL_HEATMAP_LIMIT)
            if n > shown:
                st.caption(f"The maps show the first {shown} of {n} tokens; the comparison below covers all of them.")
            map_columns = st.columns(2)
            for column, matrix, name in (
                (map_columns[0], recomputed.weights, "By hand (numpy, float64)"),
                (map_columns[1], model_map, f"The model's own map ({facts.name})"),
            ):
                column.altair_chart(
                    heatmap(matrix[:shown, :shown], labels[:shown], labels[:shown], domain=(0.0, 1.0),
                            title=f"{name}: layer {layer}, head {head}", cell_size=18),
                    width="content",
                )
            verdict = st.columns(3)
            verdict[0].metric("Largest |difference|, this head", f"{difference:.2e}")
            worst = float(cached_recomputation_errors(loaded, result, facts.source, result.text).max())
            verdict[1].metric(f"Largest over all {facts.n_heads_total} heads", f"{worst:.2e}")
            verdict[2].metric("Largest |row sum − 1|, all heads", f"{np.abs(result.attn.sum(-1) - 1).max():.2e}")
            if max(difference, worst) < 1e-5:
                st.success(
                    "The hand computation and the model agree to better than 1e-5: the model's attention is "
                    "exactly the formula above, nothing more.", icon="✅",
                )
            else:
                st.error("The hand computation and the model disagree by more than 1e-5.", icon="❗")
            with st.expander("The scaled scores QKᵀ/√d_k before the softmax"):
                st.altair_chart(
                    heatmap(recomputed.scaled_scores[:shown, :shown], labels[:shown], labels[:shown],
                            value="scaled score", scheme="purpleorange", cell_size=18),
                    width="content",
                )

check_yourself(section=1, key_prefix="formula_check")
