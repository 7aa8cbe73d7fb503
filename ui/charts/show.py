"""Drawing a chart on the page: the one call pages use, so presenter mode can enlarge every chart."""
from __future__ import annotations

import altair as alt
import streamlit as st

from ui import presenter


def for_screen(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """The chart with larger fonts in presenter mode; unchanged otherwise."""
    if not presenter.is_on():
        return chart
    size = presenter.CHART_FONT_PX
    return (
        chart.configure_axis(labelFontSize=size, titleFontSize=size + 2)
        .configure_legend(labelFontSize=size, titleFontSize=size + 2)
        .configure_title(fontSize=size + 6)
        .configure_header(labelFontSize=size, titleFontSize=size + 2)
        .configure_text(fontSize=size)
    )


def show_chart(chart: alt.TopLevelMixin, **kwargs) -> object:
    """st.altair_chart with presenter-mode fonts; keyword arguments pass through (key, on_select, width...)."""
    return st.altair_chart(for_screen(chart), **kwargs)
