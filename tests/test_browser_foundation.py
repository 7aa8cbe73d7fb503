"""A real browser (headless Debian Chromium) against `streamlit run` on 127.0.0.1."""
from playwright.sync_api import expect

HOSTILE = '<script>alert("boom")</script><img src=x onerror=alert(2)> it was tired'


def drawn_texts(page) -> list[str]:
    """Text drawn inside every Vega chart of the page (Streamlit renders Vega as SVG here)."""
    return page.locator('[data-testid="stVegaLiteChart"] svg.marks text').evaluate_all(
        "nodes => nodes.map(n => n.textContent)"
    )


def test_open_app_go_to_formula_move_a_slider(streamlit_server, browser_page, screenshot_dir):
    page = browser_page.page
    page.goto(streamlit_server)
    expect(page.get_by_role("heading", name="Attention, visualized")).to_be_visible(timeout=120_000)
    browser_page.wait_until_idle()

    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="1 · The attention formula").click()
    expect(page.get_by_text("Divided by √4 = 2.00")).to_be_visible(timeout=60_000)
    browser_page.wait_until_idle()

    d_k_slider = page.locator('[data-testid="stSlider"]').filter(has_text="d_k").first.get_by_role("slider")
    d_k_slider.focus()
    d_k_slider.press("ArrowRight")
    expect(page.get_by_text("Divided by √5 = 2.24")).to_be_visible(timeout=60_000)
    browser_page.wait_until_idle()
    page.screenshot(path=str(screenshot_dir / "formula_toy.png"), full_page=True)
    expect(page.get_by_text("agree to better than 1e-5")).to_be_visible(timeout=120_000)


def test_script_in_a_sentence_is_shown_as_text_and_never_runs(streamlit_server, browser_page):
    """The hostile sentence must be drawn (its pieces appear as chart text) and never run or parse as HTML."""
    page = browser_page.page
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{streamlit_server}/formula")
    expect(page.get_by_text("agree to better than 1e-5")).to_be_visible(timeout=120_000)
    browser_page.wait_until_idle()
    assert "boom" not in drawn_texts(page)  # the default sentence: nothing hostile drawn yet
    box = page.get_by_label("Sentence")
    box.fill(HOSTILE)
    box.press("Enter")
    page.wait_for_function("() => window.location.search.includes('onerror')", timeout=60_000)
    browser_page.wait_until_idle()
    expect(page.get_by_text("agree to better than 1e-5")).to_be_visible(timeout=120_000)
    texts = drawn_texts(page)
    for piece in ("<", "script", ">", "boom", "alert", "tired"):  # WordPieces of the hostile sentence
        assert any(piece in text for text in texts), (piece, texts[:40])
    assert dialogs == []
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert page.evaluate("[...document.scripts].some(s => s.textContent.includes('boom'))") is False


def test_a_deep_link_on_a_fresh_server_gets_the_app_navigation(browser_page):
    """Streamlit's legacy pages/ mode must not take over when the first request is a deep link."""
    from tests.conftest import running_streamlit

    page = browser_page.page
    with running_streamlit(".pytest-streamlit-cold.log", wait_for_warm_up=False) as cold_server:
        page.goto(f"{cold_server}/formula")
        expect(page.get_by_role("heading", name="The attention formula")).to_be_visible(timeout=120_000)
        navigation = page.locator('[data-testid="stSidebarNav"]')
        expect(navigation).to_contain_text("1 · The attention formula", timeout=60_000)
        expect(navigation).not_to_contain_text("streamlit app")
        assert page.url.endswith("/formula")
        page.reload()
        expect(page.locator('[data-testid="stSidebarNav"]')).to_contain_text("Start here", timeout=60_000)
