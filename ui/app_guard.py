"""Make every page run inside the app's own navigation, even on a fresh server.

Streamlit quirk (1.67): because a ``pages/`` folder sits beside streamlit_app.py, a new server
starts in the legacy multipage mode, and leaves it only when ``st.navigation`` runs. If the
first request after a start is a deep link (e.g. /head_explorer?layer=3), Streamlit runs that
page file directly, ``st.navigation`` never runs, and every later session also gets the legacy
sidebar and no page config. Each page calls ``require_app_navigation()`` first: in legacy mode it
switches the flag off and reruns, so the entry script builds the real navigation and opens the
same page (url paths equal file names, so the page is found again).
"""
from __future__ import annotations

import streamlit as st


def require_app_navigation() -> None:
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
