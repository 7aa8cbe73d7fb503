"""Summary: each claim of the lesson, where the learner saw it, and the numbers they measured."""
import streamlit as st

from ui.app_guard import require_app_navigation
from ui.links import lesson_link
from ui.markdown import md_escape
from ui.summary_numbers import seen

require_app_navigation()

st.title("📝 Summary")
st.markdown("What to take away, each point with the page where you saw it happen on a real model.")

# (claim, page file, link label, key of the number the page remembered)
CLAIMS = [
    ("Each attention row is a probability distribution over the input: softmax(q·k/√d_k), non-negative, "
     "summing to 1. The √d_k keeps the softmax from saturating.",
     "pages/formula.py", "1 · The attention formula", "formula"),
    ("Heads specialise: some look at the previous or next token, some rest on [CLS]/[SEP], some follow "
     "syntax. Which heads do what must be measured per model: BERT-base's 'layer 8' heads do not exist in "
     "a 6-layer model.",
     "pages/head_explorer.py", "2 · What heads look at", "heads"),
    ("Attention is not, by itself, an explanation: permuted or adversarial weights can leave a prediction "
     "almost unchanged (Jain & Wallace). Attention still carries information, as a uniform baseline and "
     "seed variance show (Wiegreffe & Pinter).",
     "pages/not_explanation.py", "3 · Is attention an explanation?", "jain_wallace_permutation"),
    ("Weighting attention by its gradient, A ⊙ |∂L/∂A|, separates heads that matter to a prediction from "
     "heads that are only along for the ride.",
     "pages/gradient_attention.py", "4 · Gradient × attention", "gradient"),
    ("Rollout and flow follow information through every layer and the residual connection; how well any "
     "view agrees with removing tokens must be checked, not assumed.",
     "pages/rollout_flow.py", "5 · Rollout and flow", "rollout"),
    ("Attention pictures are good for debugging, comparing checkpoints, error analysis and linguistic "
     "structure; not for an audited account of why a model decided.",
     "pages/uses.py", "6 · What attention can tell you", "uses"),
]

for claim, page, label, key in CLAIMS:
    with st.container(border=True):
        st.markdown(claim)
        number = seen(key)
        if number is not None:
            st.markdown(f"**You measured:** {md_escape(number.text)}")
        else:
            st.caption("Visit the page to measure this yourself.")
        lesson_link(page, label, icon="↩️")

lesson_link("pages/quiz.py", "Now take the final quiz", icon="🎓")
