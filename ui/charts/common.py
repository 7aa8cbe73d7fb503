"""What every chart module shares: unique axis labels and offline PNG/SVG export.

Every chart is plain Vega-Lite with inline data: the browser draws it with the Vega bundled in
Streamlit, so nothing is fetched from elsewhere, and token text only reaches the page as Vega
text marks or tooltips (drawn as text, never parsed as HTML). Exports go through vl-convert (a
local renderer), also without network. Heads are labelled from 1 (``L3-H5``), like Clark et al.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import altair as alt


def position_labels(labels: Sequence[str]) -> list[str]:
    """Unique axis labels 'i: token' so repeated tokens (two 'the') keep their own row and column."""
    return [f"{i}: {label}" for i, label in enumerate(labels)]


def spec_dict(chart: alt.TopLevelMixin | dict) -> dict:
    """The full Vega-Lite spec with inline data, for export (no row limit, rows not validated one by one).

    Charts written directly as Vega-Lite dicts (the head view) are returned as they are.
    """
    if isinstance(chart, dict):
        return chart
    with alt.data_transformers.disable_max_rows():
        return chart.to_dict(validate=False)


def chart_png(chart: alt.TopLevelMixin | dict, scale: float = 2.0) -> bytes:
    """The chart as PNG bytes, rendered locally by vl-convert."""
    import vl_convert as vlc

    return vlc.vegalite_to_png(spec_dict(chart), scale=scale)


def chart_svg(chart: alt.TopLevelMixin | dict) -> str:
    """The chart as SVG text, rendered locally by vl-convert (token text is XML-escaped by the renderer)."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(spec_dict(chart))


def show_chart(
    chart: alt.TopLevelMixin | dict, key: str | None = None, width: Literal["stretch", "content"] = "content"
) -> None:
    """Draw a chart built by these modules without re-validating it against the Vega-Lite schema.

    st.altair_chart validates every chart on every rerun (most of a small chart's cost); ours
    are built by tested code, so they go to the browser as they are, data as Arrow datasets.
    """
    import streamlit as st

    from ui import presenter

    spec = chart if isinstance(chart, dict) else _consolidated(chart)
    if presenter.is_on():
        spec = _for_projector(spec, presenter.CHART_FONT_PX)
    st.vega_lite_chart(spec, width=width, key=key)


def _for_projector(spec: dict, size: int) -> dict:
    """The spec with larger fonts for presenter mode (axis, legend, title, header and text marks)."""
    config = dict(spec.get("config", {}))
    for part, fonts in {
        "axis": {"labelFontSize": size, "titleFontSize": size + 2},
        "legend": {"labelFontSize": size, "titleFontSize": size + 2},
        "title": {"fontSize": size + 6},
        "header": {"labelFontSize": size, "titleFontSize": size + 2},
        "text": {"fontSize": size},
    }.items():
        config[part] = {**config.get(part, {}), **fonts}
    return {**spec, "config": config}


def _consolidated(chart: alt.TopLevelMixin) -> dict:
    with alt.data_transformers.disable_max_rows():
        return chart.to_dict(validate=False)
