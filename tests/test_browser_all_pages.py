"""Every page in a real browser: it draws, shows no exception box, and asks nothing of the network."""
import pytest
from playwright.sync_api import expect

from tests.test_all_pages import PAGE_FILES


@pytest.mark.parametrize("page_file", PAGE_FILES)
def test_page_draws_offline_without_errors(streamlit_server, browser_page, screenshot_dir, page_file):
    page = browser_page.page
    page.goto(f"{streamlit_server}/{page_file}")
    expect(page.locator("h1").first).to_be_visible(timeout=180_000)
    browser_page.wait_until_idle(timeout_ms=300_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(screenshot_dir / f"page_{page_file}.png"), full_page=True)
    # browser_page's teardown fails the test on any request that left the machine
