"""Start page: what the lesson covers, how to use the app, and which model it shows."""
import streamlit as st

from ui.app_guard import require_app_navigation
from ui.check_yourself import check_yourself
from ui.links import lesson_link
from ui.models import get_model

require_app_navigation()

st.title("🔍 Attention, visualized")
st.markdown(
    "A transformer decides, at every layer, how much each word should borrow from every other word. "
    "Those *attention weights* are easy to draw and tempting to read as an explanation. This lesson "
    "lets you open a real model, look at its weights, and then test how far they can be trusted."
)

st.header("The path through the lesson")
LESSON_PATH = [
    ("pages/formula.py", "1 · The attention formula", "🧮",
     "Where the weights come from: queries, keys, the softmax, and why we divide by √d_k. "
     "You recompute one real head by hand and compare with the model."),
    ("pages/head_explorer.py", "2 · What heads look at", "🔦",
     "Positional, delimiter, syntactic and coreference heads, measured on this model rather than assumed."),
    ("pages/not_explanation.py", "3 · Is attention an explanation?", "⚖️",
     "Jain & Wallace's permutation and adversarial tests, run live, and Wiegreffe & Pinter's reply."),
    ("pages/gradient_attention.py", "4 · Gradient × attention", "📐",
     "Which heads actually matter for a prediction, checked against removing them."),
    ("pages/rollout_flow.py", "5 · Rollout and flow", "🌊",
     "Following information through all the layers with rollout and max-flow."),
    ("pages/faithfulness.py", "5b · Which view is faithful?", "🔬",
     "Every view's token importance compared with blanking tokens out, over 300 test tweets."),
    ("pages/quiz.py", "Final quiz", "🎓", "Check what stuck; in class, submit your answers under a display name."),
]
for page_file, label, icon, summary in LESSON_PATH:
    lesson_link(page_file, label, icon)
    st.caption(summary)

st.header("How to use it")
st.markdown(
    "- Use the menu on the left to move between pages; the order above is the lesson's order.\n"
    "- Every page accepts your own sentence. Short sentences (5–20 words) give the clearest pictures.\n"
    "- Hover over any chart to read the exact number behind a cell or bar.\n"
    "- Nothing here is precomputed for show: each figure comes from the model running on this machine, "
    "and the app needs no internet connection."
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
        f"**{facts.name}** ({facts.model_type}, uncased WordPiece vocabulary of {facts.vocab_size:,}), "
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
    st.caption(
        "Layers and heads are numbered from 1 everywhere in the app (layer 1 is closest to the input), "
        "the way Clark et al. number them. To show a different BERT-family model, set LESSON_MODEL to its "
        "folder (or `model = \"...\"` in .streamlit/secrets.toml) and restart."
    )

st.header("What attention pictures are good for")
st.markdown(
    "They are a good **debugging** tool (a sentiment model that stares at exclamation marks may have "
    "learned a quirk of its data), a way to **compare checkpoints** (what changed after fine-tuning), a "
    "help in **error analysis**, and a window on **linguistic structure**. They are not an audited, "
    "decision-grade explanation of why a model said what it said; page 3 shows why."
)

check_yourself(section=6, key_prefix="home_check")
