"""What every chart module shares: unique axis labels and offline PNG/SVG export.

Every chart is plain Vega-Lite with inline data: the browser draws it with the Vega bundled in
Streamlit, so nothing is fetched from elsewhere, and token text only reaches the page as Vega
text marks or tooltips (drawn as text, never parsed as HTML). Exports go through vl-convert (a
local renderer), also without network. Heads are labelled from 1 (``L3-H5``), like Clark et al.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Callable, Sequence
from typing import Any, Literal, ParamSpec

import altair as alt
import numpy as np
import pandas as pd

from ui.shared_cache import SharedCache

P = ParamSpec("P")
SPEC_CACHE_BYTES = 64 * 2**20  # counted as ~64 bytes per value in the specs (ui.shared_cache.nbytes_of)


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

    spec = spec_dict(chart)
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


class _Unfingerprintable(Exception):
    pass


def _fingerprint(value: Any) -> Any:
    """A hashable stand-in for a chart builder's argument: arrays and frames by their bytes."""
    if value is None or isinstance(value, (str, bytes, bool, int, float, np.number)):
        return value
    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.dtype.str, hashlib.blake2b(np.ascontiguousarray(value).tobytes()).digest())
    if isinstance(value, pd.DataFrame):
        try:
            frame_hash = pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes()
        except TypeError as error:  # cells pandas cannot hash (lists, dicts): build this chart every time
            raise _Unfingerprintable("DataFrame") from error
        return ("frame", tuple(map(str, value.columns)), tuple(map(str, value.dtypes)), hashlib.blake2b(frame_hash).digest())
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_fingerprint(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((k, _fingerprint(v)) for k, v in value.items()))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__qualname__, tuple(_fingerprint(getattr(value, f.name)) for f in dataclasses.fields(value)))
    raise _Unfingerprintable(type(value).__name__)


@functools.cache
def _spec_cache() -> SharedCache[Any]:
    return SharedCache(SPEC_CACHE_BYTES)


def cached_spec(builder: Callable[P, Any]) -> Callable[P, Any]:
    """A chart builder whose result (a chart, or a tuple of charts) comes back as finished spec dicts,
    built once per distinct arguments and shared by every session.

    Building an Altair chart (its encode, copies and to_dict) costs far more than sending it, and a
    class opens the same default charts: the formula page's charts took most of its run. The specs
    are shared, so callers treat them as read-only (show_chart and Streamlit copy before changing).
    """

    @functools.wraps(builder)
    def build(*args: P.args, **kwargs: P.kwargs) -> Any:
        def finished() -> Any:
            made = builder(*args, **kwargs)
            return tuple(spec_dict(c) for c in made) if isinstance(made, tuple) else spec_dict(made)

        try:
            key = (builder.__module__, builder.__qualname__, _fingerprint(args), _fingerprint(kwargs))
        except _Unfingerprintable:
            return finished()
        return _spec_cache().get_or_compute(key, finished)

    return build
