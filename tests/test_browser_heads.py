"""The head pages in a real browser: a deep link opens the right head, a model-view click opens a head,
and a script typed into the sentence is drawn as text and never runs. No request leaves the machine
(the browser_page fixture fails the test otherwise)."""
from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import numpy as np
from playwright.sync_api import expect

from tests.conftest import HEAD_VIEW_INK

SENTENCE = "The cat sat on the mat."


def head_view_tokens(page, side: str = "q") -> list[str]:
    """The head view's tokens as the page shows them (text, ui/charts/head_view.js), queries or keys."""
    labels = page.locator(f'[data-lk="head-view"] .lk-{side} > div')
    page.wait_for_function(f"({HEAD_VIEW_INK})() > 0", timeout=60_000)
    return labels.evaluate_all("nodes => nodes.map(n => n.textContent)")


def choose_view(page, name: str) -> None:
    page.locator('[data-testid="stRadio"] label').filter(has_text=name).first.click()


def test_deep_link_opens_the_named_head(streamlit_server, browser_page, screenshot_dir):
    page = browser_page.page
    page.goto(f"{streamlit_server}/head_explorer?text={quote(SENTENCE)}&layer=2&head=9&view=lines&words=0")
    expect(page.get_by_text("L2-H9", exact=False).first).to_be_visible(timeout=180_000)
    browser_page.wait_until_idle()
    layer = page.locator('[data-testid="stSlider"]').filter(has_text="Layer").get_by_role("slider")
    assert layer.input_value() == "2"
    assert page.get_by_role("radio", name="Head view (lines)").is_checked()
    heads = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Heads")
    expect(heads).to_contain_text("9")
    texts = head_view_tokens(page)
    assert texts == head_view_tokens(page, "k")
    for token in ("[CLS]", "cat", "mat", "[SEP]"):
        assert token in texts
    page.screenshot(path=str(screenshot_dir / "head_explorer_deep_link.png"), full_page=True)
    # the URL keeps following the view
    choose_view(page, "Heatmap")
    browser_page.wait_until_idle()
    page.wait_for_function("() => window.location.search.includes('view=heatmap')", timeout=30_000)
    query = parse_qs(urlsplit(page.url).query)
    assert query["layer"] == ["2"] and query["head"] == ["9"] and query["text"] == [SENTENCE]


def test_clicking_a_model_view_tile_opens_that_head(streamlit_server, browser_page):
    page = browser_page.page
    page.goto(f"{streamlit_server}/head_explorer?text={quote(SENTENCE)}&layer=1&head=1&view=model")
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    expect(chart).to_be_visible(timeout=180_000)
    browser_page.wait_until_idle()
    marks = chart.locator("svg.marks").first
    marks.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    box = marks.bounding_box()
    # the grid: 12 heads x 6 layers of 64 px tiles with 14 px gaps, 14 px margin (ui.attention_charts.model_view_chart)
    width, height = 12 * 78 + 14, 6 * 78 + 14
    layer, head = 4, 6  # 0-indexed: opens L5-H7
    x = box["x"] + (head * 78 + 32 + 14) / width * box["width"]
    y = box["y"] + (layer * 78 + 32 + 14) / height * box["height"]
    page.mouse.click(x, y)
    # the head view is the default view, so ui.url_state drops view= from the URL
    page.wait_for_function("() => !window.location.search.includes('view=')", timeout=60_000)
    browser_page.wait_until_idle()
    query = parse_qs(urlsplit(page.url).query)
    assert query["layer"] == ["5"] and query["head"] == ["7"]
    expect(page.get_by_text("L5-H7").first).to_be_visible(timeout=60_000)


def test_script_typed_into_the_sentence_is_drawn_as_text(streamlit_server, browser_page, screenshot_dir):
    page = browser_page.page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{streamlit_server}/head_explorer?text={quote(SENTENCE)}&layer=1&head=3&view=lines")
    page.wait_for_function(f"({HEAD_VIEW_INK})() > 0", timeout=180_000)
    browser_page.wait_until_idle()
    box = page.get_by_label("Sentence", exact=True)
    hostile = '<script>alert("boom")</script><img src=x onerror=alert(2)> "quotes" & it was tired'
    box.fill(hostile)
    box.press("Control+Enter")
    page.wait_for_function("() => window.location.search.includes('onerror')", timeout=60_000)
    browser_page.wait_until_idle()
    texts = head_view_tokens(page)
    for token in ("<", "script", ">", "alert", "&", '"', "im", "=", "tired"):  # WordPieces of the text
        assert token in texts, (token, texts)
    assert dialogs == []
    assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert page.evaluate("[...document.scripts].some(s => s.textContent.includes('boom'))") is False
    # and the same text in the other views
    for view in ("Heatmap", "Model view (all heads)"):
        choose_view(page, view)
        browser_page.wait_until_idle()
    assert dialogs == []
    page.screenshot(path=str(screenshot_dir / "head_explorer_script_as_text.png"), full_page=True)


def test_picking_a_row_of_the_head_finder_ranking_opens_that_head(streamlit_server, browser_page, loaded_model):
    from lessonkit.analysis import analyse_sentence

    attn = analyse_sentence(loaded_model, SENTENCE).attn
    n = attn.shape[-1]
    previous = [[sum(attn[l, h, i, i - 1] for i in range(1, n)) for h in range(12)] for l in range(6)]
    best_layer, best_head = max(((l, h) for l in range(6) for h in range(12)), key=lambda lh: previous[lh[0]][lh[1]])

    page = browser_page.page
    page.goto(f"{streamlit_server}/head_finder?text={quote(SENTENCE)}")
    expect(page.get_by_role("heading", name="Ranking")).to_be_visible(timeout=180_000)
    browser_page.wait_until_idle()
    ranking = page.locator('[data-testid="stDataFrame"]').last
    ranking.scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    box = ranking.bounding_box()
    # first data row (below the 35 px header), in the row-selection column at the left edge
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)
    page.wait_for_function("() => window.location.pathname.endsWith('/head_explorer')", timeout=60_000)
    browser_page.wait_until_idle()
    query = parse_qs(urlsplit(page.url).query)
    assert query.get("view", ["lines"]) == ["lines"] and query["text"] == [SENTENCE]
    # the ranking is sorted by the first pattern, previous token: its top row is the best such head
    # defaults (layer 3, head 1) are left out of the URL by ui.url_state
    assert (query.get("layer", ["3"]), query.get("head", ["1"])) == ([str(best_layer + 1)], [str(best_head + 1)])
    expect(page.get_by_text(f"L{best_layer + 1}-H{best_head + 1}").first).to_be_visible(timeout=60_000)


def test_hovering_a_token_keeps_only_its_lines_and_lists_their_weights(streamlit_server, browser_page, loaded_model):
    from lessonkit.analysis import analyse_sentence

    page = browser_page.page
    page.goto(f"{streamlit_server}/head_explorer?text={quote(SENTENCE)}&layer=2&head=9&view=lines")
    page.wait_for_function(f"({HEAD_VIEW_INK})() > 0", timeout=180_000)
    browser_page.wait_until_idle()
    view = page.locator('[data-lk="head-view"]')
    sentence = analyse_sentence(loaded_model, SENTENCE)
    full = sentence.attn[1, 8]  # L2-H9
    n = full.shape[0]
    # the lines the view draws (defaults: weight >= 0.05, at most 8 per query), by a separate loop
    drawn = {(i, j) for i in range(n) for j in np.argsort(-full[i])[:8] if full[i, j] >= 0.05}
    assert int(view.get_attribute("data-shown")) == len(drawn)
    ink_before = page.evaluate(HEAD_VIEW_INK)
    position = 3
    query_label = view.locator(".lk-q > div").nth(position)
    assert query_label.text_content() == sentence.tokens[position]
    query_label.hover()
    expect(view).to_have_attribute("data-shown", str(sum(1 for i, _ in drawn if i == position)))
    # the readout lists that token's lines, heaviest first, with their weights
    mine = sorted(((full[position, j], j) for i, j in drawn if i == position), reverse=True)
    listed = ", ".join(f"{sentence.tokens[j]} {round(float(w), 4):.3f}" for w, j in mine[:8])  # sent with 4 decimals
    expect(view.locator(".lk-readout")).to_have_text(f"“{sentence.tokens[position]}” reads: {listed}")
    assert page.evaluate(HEAD_VIEW_INK) < ink_before  # the other lines are dimmed
    # the key side: hovering a token on the right keeps the lines arriving at it
    key = 0
    view.locator(".lk-k > div").nth(key).hover()
    expect(view).to_have_attribute("data-shown", str(sum(1 for _, j in drawn if j == key)))
    page.mouse.move(5, 5)  # moving away shows every line again
    expect(view).to_have_attribute("data-shown", str(len(drawn)))
    expect(view.locator(".lk-readout")).to_contain_text("Hover a token")


def test_guided_walk_opens_the_pronoun_head_with_special_tokens_hidden(streamlit_server, browser_page, screenshot_dir):
    page = browser_page.page
    page.goto(f"{streamlit_server}/head_explorer")
    button = page.get_by_role("button", name="Show me")
    expect(button).to_be_visible(timeout=300_000)
    guided = page.get_by_text("You should see").first.text_content()
    name = guided.split("You should see ")[1].split(" ")[0]  # e.g. L6-H12
    button.click()
    page.wait_for_function("() => window.location.search.includes('hide=1')", timeout=60_000)
    browser_page.wait_until_idle()
    query = parse_qs(urlsplit(page.url).query)
    assert f"L{query['layer'][0]}-H{query['head'][0]}" == name
    assert query["words"] == ["1"] and query.get("view", ["lines"]) == ["lines"]
    texts = head_view_tokens(page)
    assert "animal" in texts and "it" in texts
    assert "[CLS]" not in texts and "[SEP]" not in texts and "." not in texts  # hidden, rows renormalised
    page.screenshot(path=str(screenshot_dir / "head_explorer_guided_walk.png"), full_page=True)


def test_a_long_head_view_with_twelve_heads_draws_every_line(streamlit_server, browser_page, loaded_model, screenshot_dir):
    from lessonkit.analysis import analyse_sentence

    text = " ".join(["the quick brown fox jumps over the lazy dog near the river bank"] * 5)  # 67 tokens
    heads = ",".join(str(h) for h in range(1, 13))
    page = browser_page.page
    page.goto(f"{streamlit_server}/head_explorer?text={quote(text)}&layer=3&head={heads}&view=lines&words=0")
    page.wait_for_function(f"({HEAD_VIEW_INK})() > 0", timeout=180_000)
    browser_page.wait_until_idle()
    assert page.locator('[data-testid="stException"]').count() == 0
    attn = analyse_sentence(loaded_model, text).attn[2]  # 12 x n x n
    expected = sum(int((np.sort(attn[h, i])[::-1][:8] >= 0.05).sum()) for h in range(12) for i in range(attn.shape[1]))
    view = page.locator('[data-lk="head-view"]')
    assert int(view.get_attribute("data-shown")) == expected
    assert view.locator(".lk-legend > span").all_text_contents() == [f"L3-H{h}" for h in range(1, 13)]
    assert page.evaluate(HEAD_VIEW_INK) > 20_000  # thousands of lines: a good part of the canvas is ink
    view.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "head_view_64_tokens_12_heads.png"))
