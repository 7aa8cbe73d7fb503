"""Entry point: page config, navigation over the lesson's pages, and the sidebar."""
from __future__ import annotations

import streamlit as st

from ui.sidebar import show_sidebar

st.set_page_config(page_title="Attention, visualized", page_icon="🔍", layout="wide")

LESSON_PAGES = {
    "Start": [
        st.Page("pages/home.py", title="Start here", icon="🏠", default=True, url_path="home"),
    ],
    "The lesson": [
        st.Page("pages/formula.py", title="1 · The attention formula", icon="🧮", url_path="formula"),
    ],
}

navigation = st.navigation(LESSON_PAGES)
navigation.run()
# After the page, so its text appears before the model has finished loading on a cold start.
show_sidebar(navigation.title)
