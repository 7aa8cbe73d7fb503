"""Issue 12: every page's view lives in its address; opening the address on a fresh server restores it.

Each link below names a sentence and settings away from the page's defaults. Opened in a new browser
session, the page must show that sentence in its text box, keep every parameter in the address (a
parameter the page dropped or rewrote would show up here), and draw no exception.
"""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.conftest import RecordingPage, running_streamlit

SENTENCE = "The trophy didn't fit in the suitcase because it was too small."
TWEET = "the coffee was cold and the staff ignored us"
DEEP_LINKS = {
    "formula": {"text": SENTENCE, "layer": "2", "head": "3"},
    "head_explorer": {"text": SENTENCE, "layer": "2", "head": "3,5", "view": "heatmap"},
    "not_explanation": {"text": TWEET},
    "gradient_attention": {"text": TWEET, "layer": "2", "head": "3"},
    "rollout_flow": {"text": TWEET, "layer": "2", "fusion": "max"},
    "faithfulness": {"text": TWEET},
    "head_finder": {"pattern": "next"},
    "uses": {"u_text": TWEET},
}
TEXT_PARAMS = ("text", "u_text")


@pytest.fixture(scope="module")
def fresh_server():
    with running_streamlit(".pytest-streamlit-deep-links.log") as base:
        yield base


SHOWS_TEXT = """() => [...document.querySelectorAll("textarea, input[type='text']")].some(n => n.value === TEXT)"""


@pytest.mark.parametrize("page_name", sorted(DEEP_LINKS))
def test_a_deep_link_restores_the_view(page_name, fresh_server, chromium_browser):
    params = DEEP_LINKS[page_name]
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})
    recording = RecordingPage(context.new_page())
    page = recording.page
    try:
        page.goto(f"{fresh_server}/{page_name}?{urlencode(params)}")
        page.wait_for_selector("h1", timeout=300_000)
        recording.wait_until_idle(timeout_ms=300_000)
        assert page.locator('[data-testid="stException"]').count() == 0
        kept = {name: values[0] for name, values in parse_qs(urlsplit(page.url).query).items()}
        for name, value in params.items():
            assert kept.get(name) == value, f"{page_name} lost or changed {name}={value!r} (now {kept.get(name)!r})"
        text = next((params[name] for name in TEXT_PARAMS if name in params), None)
        if text is not None:
            # polled: a page may still be drawing (or reloading once to keep the learner cookie)
            shown = SHOWS_TEXT.replace("TEXT", json.dumps(text))
            try:
                page.wait_for_function(shown, timeout=60_000)
            except PlaywrightTimeoutError:
                values = page.locator("textarea, input[type='text']").evaluate_all("nodes => nodes.map(n => n.value)")
                raise AssertionError(f"{page_name} does not show the linked sentence in its text box: {values}") from None
    finally:
        context.close()
    assert recording.offsite_requests == []
