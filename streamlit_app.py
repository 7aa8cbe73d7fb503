"""Entry point: page config, presenter mode, navigation over the lesson's pages, and the sidebar.

The core path (about 15 minutes) is the numbered pages; deep dives are optional and one click
away. Page URLs are their file names (e.g. /head_explorer), so deep links stay readable.
"""
from __future__ import annotations

import streamlit as st

from ui import presenter
from ui.instructor_widgets import instructor_page_enabled
from ui.session_keys import keep_widget_values
from ui.sidebar import show_sidebar

presenting = presenter.start_from_url()
st.set_page_config(
    page_title="Attention, visualized", page_icon="🔍", layout="wide",
    initial_sidebar_state="collapsed" if presenting else "auto",
)


def lesson_page(file: str, title: str, icon: str, **options) -> st.Page:
    return st.Page(f"pages/{file}.py", title=title, icon=icon, url_path=file, **options)


LESSON_PAGES = {
    "Start": [
        lesson_page("home", "Start here", "🏠", default=True),
    ],
    "The lesson (15 minutes)": [
        lesson_page("formula", "1 · The attention formula", "🧮"),
        lesson_page("head_explorer", "2 · What heads look at", "🔦"),
        lesson_page("not_explanation", "3 · Is attention an explanation?", "⚖️"),
        lesson_page("gradient_attention", "4 · Gradient × attention", "📐"),
        lesson_page("rollout_flow", "5 · Rollout and flow", "🌊"),
        lesson_page("uses", "6 · What attention can tell you", "🛠️"),
        lesson_page("summary", "Summary", "📝"),
        lesson_page("quiz", "Final quiz", "🎓"),
    ],
    "Deep dives (optional)": [
        lesson_page("head_finder", "Head finder", "🧭"),
        lesson_page("head_accuracy", "Do heads find the right word?", "🎯"),
        lesson_page("faithfulness", "Which view is faithful?", "🔬"),
    ],
}
# The instructor page is in the navigation only when a password is configured; without one it stays
# reachable by its URL (where it says how to switch it on) but is not offered to students.
if instructor_page_enabled():
    LESSON_PAGES["For instructors"] = [lesson_page("instructor", "Instructor view", "🧑‍🏫")]
else:
    LESSON_PAGES["Start"].append(lesson_page("instructor", "Instructor view", "🧑‍🏫", visibility="hidden"))

keep_widget_values()  # a learner's settings on one page survive a visit to another
navigation = st.navigation(LESSON_PAGES, expanded=True)  # every page listed, no "View more"
presenter.apply_style()
# Before the page: pages stop early on bad input (st.stop), and nothing drawn after a stop is shown.
# The model loads here once per server process; later runs take it from the cache.
show_sidebar(navigation.title)
with st.sidebar:
    presenter.sidebar_toggle()
navigation.run()
