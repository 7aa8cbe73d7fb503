"""Start page: what the lesson covers, how to use the app, and which model it shows."""
import streamlit as st

from ui.app_guard import require_app_navigation
from ui.links import lesson_link
from ui.markdown import md_escape
from ui.models import get_model

require_app_navigation()

st.title("🔍 Attention, visualized")
st.markdown(
    "At every layer a transformer decides how much each word borrows from every other: its *attention "
    "weights*. They are easy to draw and tempting to read as an explanation. Here you open a real model, "
    "look at them, and test how far they can be trusted."
)

st.header("Two ways through")
st.markdown(
    "**The core path, about 15 minutes:** six short pages, a summary and the final quiz. Each page makes "
    "one claim, shows it on the live model, and ends with a short check."
)
CORE_PATH = [
    ("pages/formula.py", "1 · The attention formula", "🧮", "where the weights come from, recomputed by hand"),
    ("pages/head_explorer.py", "2 · What heads look at", "🔦", "positional, delimiter, syntactic and coreference heads"),
    ("pages/not_explanation.py", "3 · Is attention an explanation?", "⚖️", "Jain & Wallace's tests, live, and the reply"),
    ("pages/gradient_attention.py", "4 · Gradient × attention", "📐", "which heads matter to one prediction"),
    ("pages/rollout_flow.py", "5 · Rollout and flow", "🌊", "following information through every layer"),
    ("pages/uses.py", "6 · What attention can tell you", "🛠️", "a planted shortcut, two checkpoints, the errors"),
    ("pages/summary.py", "Summary", "📝", "each claim with the numbers you measured"),
    ("pages/quiz.py", "Final quiz", "🎓", "what stuck; in class, send your answers"),
]
for page_file, label, icon, summary in CORE_PATH:
    lesson_link(page_file, f"{label} — {summary}", icon)
st.markdown("**Deep dives, optional** (10–20 minutes each), for when a page makes you curious:")
DEEP_DIVES = [
    ("pages/head_finder.py", "Head finder", "🧭", "every head scored for every pattern"),
    ("pages/head_accuracy.py", "Do heads find the right word?", "🎯", "heads against simple rules, over many sentences"),
    ("pages/faithfulness.py", "Which view is faithful?", "🔬", "each view against blanking tokens out, 300 tweets"),
]
for page_file, label, icon, summary in DEEP_DIVES:
    lesson_link(page_file, f"{label} — {summary}", icon)
st.caption(
    "Every figure comes from the model on this machine. Hover over a chart for its numbers."
)

st.header("The model you are looking at")
loaded = get_model()
if loaded is not None:
    facts = loaded.facts
    columns = st.columns(4)
    columns[0].metric("Layers", facts.n_layers)
    columns[1].metric("Heads per layer", facts.n_heads)
    columns[2].metric("Heads in all", facts.n_heads_total)
    columns[3].metric("Parameters", f"{facts.n_parameters / 1e6:.1f} M")
    st.markdown(
        f"**{md_escape(facts.name)}** ({facts.model_type}, a vocabulary of {facts.vocab_size:,} tokens), "
        f"hidden size {facts.d_model}, so each head works with d_k = {facts.d_model} / {facts.n_heads} = "
        f"{facts.d_k} dimensions, and reads at most {facts.max_length} tokens."
    )
    if facts.is_bert_base_shape:
        st.info(
            "This model has BERT-base's shape (12 × 12), so the papers' layer and head numbers can be "
            "compared directly, though only the same checkpoint would have the same heads.",
            icon="ℹ️",
        )
    else:
        st.info(
            f"The papers this lesson cites (Clark et al. 2019 and others) studied **BERT-base: 12 layers × 12 "
            f"heads = 144 heads**. The model here has {facts.n_layers} × {facts.n_heads} = "
            f"{facts.n_heads_total}, so a statement such as 'head 8-10 tracks direct objects' has no "
            "counterpart here. Instead the app measures which of *this* model's heads show each pattern.",
            icon="ℹ️",
        )
    st.expander("Numbering, and showing another model").caption(
        "Layers and heads are numbered from 1 everywhere in the app (layer 1 is closest to the input), "
        "the way Clark et al. number them. To show a different BERT-family model, set LESSON_MODEL to its "
        "folder (or `model = \"...\"` in .streamlit/secrets.toml) and restart."
    )

