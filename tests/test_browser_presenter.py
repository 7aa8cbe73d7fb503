"""Presenter mode on a 1280 x 720 projector: large type, the sidebar out of the way, kept across pages."""
from __future__ import annotations

from playwright.sync_api import expect

from ui.presenter import BODY_PX


def _font_px(page, selector: str) -> float:
    return page.locator(selector).first.evaluate("node => parseFloat(getComputedStyle(node).fontSize)")


def test_presenter_mode_is_readable_from_the_back_of_the_room(streamlit_server, chromium_browser, screenshot_dir):
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    try:
        page.goto(f"{streamlit_server}/?present=1")
        expect(page.get_by_role("heading", name="Attention, visualized")).to_be_visible(timeout=180_000)
        page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=180_000)
        body = _font_px(page, '[data-testid="stMain"] .stMarkdown p')
        assert body >= 24 and body == BODY_PX
        page.screenshot(path=str(screenshot_dir / "presenter_home_1280x720.png"))
        # the sidebar starts collapsed: the page's text begins at the left edge and uses the width
        heading = page.get_by_role("heading", name="Attention, visualized").bounding_box()
        assert heading is not None and heading["x"] < 120

        # the mode stays on when the instructor moves to another page
        page.goto(f"{streamlit_server}/summary")
        expect(page.get_by_role("heading", name="Summary")).to_be_visible(timeout=120_000)
        page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=120_000)
        # a new page load is a new session: the flag must come from the URL again, so a plain URL is normal size
        assert _font_px(page, '[data-testid="stMain"] .stMarkdown p') < 24

        page.goto(f"{streamlit_server}/summary?present=1")
        expect(page.get_by_role("heading", name="Summary")).to_be_visible(timeout=120_000)
        page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=120_000)
        assert _font_px(page, '[data-testid="stMain"] .stMarkdown p') >= 24
        page.screenshot(path=str(screenshot_dir / "presenter_summary_1280x720.png"))
    finally:
        context.close()
