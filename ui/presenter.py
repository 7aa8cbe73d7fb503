"""Presenter mode, for an instructor projecting the lesson: large type, no sidebar, one step at a time.

Switched on by ``?present=1`` in any page's URL or the sidebar toggle, and kept for the session.
Pages hand their steps (functions, in order) to ``reveal``: for a learner every step shows; in
presenter mode only the first few do, with Next and Back buttons. Charts pass through
``ui.charts.common.show_chart``, which enlarges their fonts in presenter mode.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from ui import session_keys
from ui.url_state import Param, parse

PRESENT = Param("present", "flag", default=False)

# Type sizes readable from the back of a room on a 1280 x 720 projector.
BODY_PX = 26
CAPTION_PX = 22
CHART_FONT_PX = 18

_PRESENTER_CSS = f"""
<style>
.stApp .stMarkdown p, .stApp .stMarkdown li, .stApp label p, .stApp [data-testid="stMetricValue"],
.stApp [data-testid="stText"], .stApp .stAlert p, .stApp button p {{ font-size: {BODY_PX}px !important;
  line-height: 1.4 !important; }}
.stApp [data-testid="stCaptionContainer"], .stApp [data-testid="stCaptionContainer"] p {{
  font-size: {CAPTION_PX}px !important; }}
.stApp [data-testid^="stPageLink"] p, .stApp [data-testid^="stPageLink"] span,
.stApp [data-testid="stWidgetLabel"] p, .stApp [data-baseweb="select"] div, .stApp textarea,
.stApp input {{ font-size: {CAPTION_PX}px !important; }}
.stApp h1 {{ font-size: 46px !important; }}
.stApp h2 {{ font-size: 38px !important; }}
.stApp h3 {{ font-size: 32px !important; }}
.stApp .block-container {{ max-width: 100% !important; padding-left: 2rem !important;
  padding-right: 2rem !important; padding-top: 2.5rem !important; }}
</style>
"""


def start_from_url() -> bool:
    """Read ``?present=`` into the session (called by the entry script before the page config)."""
    raw = st.query_params.get(PRESENT.name)
    if raw is not None:
        st.session_state[session_keys.PRESENTER_MODE] = parse(PRESENT, raw)
    return is_on()


def is_on() -> bool:
    return bool(st.session_state.get(session_keys.PRESENTER_MODE, False))


def _toggled() -> None:
    on = bool(st.session_state[session_keys.PRESENTER_TOGGLE])
    st.session_state[session_keys.PRESENTER_MODE] = on
    if on:
        st.query_params[PRESENT.name] = "1"
    elif PRESENT.name in st.query_params:
        del st.query_params[PRESENT.name]


def sidebar_toggle() -> None:
    st.session_state[session_keys.PRESENTER_TOGGLE] = is_on()
    st.toggle(
        "Presenter mode", key=session_keys.PRESENTER_TOGGLE, on_change=_toggled,
        help="Large type for a projector, one step at a time. Or add ?present=1 to a page's address.",
    )


def apply_style() -> None:
    """Large type for the whole page (only in presenter mode)."""
    if is_on():
        st.html(_PRESENTER_CSS)


def _step_key(page: str) -> str:
    return f"{session_keys.PRESENTER_STEP_PREFIX}{page}"


def reveal(page: str, steps: Sequence[Callable[[], None]]) -> None:
    """Show ``steps`` in order; in presenter mode only up to the current one, with Next/Back buttons."""
    if not is_on():
        for step in steps:
            step()
        return
    key = _step_key(page)
    shown = min(max(1, int(st.session_state.get(key, 1))), len(steps))
    for step in steps[:shown]:
        step()
    st.divider()
    left, middle, right = st.columns([1, 2, 1])
    left.button("◀ Back", key=f"{key}-back", disabled=shown <= 1, width="stretch",
                on_click=_move, args=(key, shown - 1))
    middle.markdown(f"<div style='text-align:center'>Step {shown} of {len(steps)}</div>", unsafe_allow_html=True)
    right.button("Next ▶", key=f"{key}-next", disabled=shown >= len(steps), width="stretch", type="primary",
                 on_click=_move, args=(key, shown + 1))


def _move(key: str, step: int) -> None:
    st.session_state[key] = step
