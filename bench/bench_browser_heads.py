"""The head explorer in a real browser (Debian's Chromium): time until the head view is drawn.

Run: .venv/bin/python -m bench.bench_browser_heads   (HF_HUB_OFFLINE=1; starts its own server)

Measures, for a 64-token and a 256-token sentence, on one warm server (the model is loaded and
the sentence analysed by a first visit that is not counted):
- open: page.goto(deep link to the head view, one layer, all heads) until every line of the
  chart is in the SVG;
- layer change: a new layer until the new chart is drawn;
- heatmap and model view opened from the URL.
BertViz is not installed here (its page loads require.js, d3 and jQuery from a CDN); its times
are the anchors measured on the same kind of machine (BertViz 1.4.1, JS served locally).
"""
from __future__ import annotations

import os
import statistics
import time
from urllib.parse import quote

os.environ.setdefault("HF_HUB_OFFLINE", "1")

BERTVIZ_HEAD_VIEW_OPEN = {64: 3.1}  # seconds, anchor, headless Chromium with local JS
CHART = '[data-testid="stVegaLiteChart"] svg.marks'


def _drawn(page, timeout_ms: int = 120_000) -> None:
    """Until the chart is drawn (Vega builds its SVG, marks and all, in one pass)."""
    page.wait_for_selector(f"{CHART} g", state="attached", timeout=timeout_ms)


def main(repeats: int = 3) -> None:
    from playwright.sync_api import sync_playwright

    from bench.bench_heads import text_of_tokens
    from lessonkit.model import load_model
    from tests.conftest import CHROMIUM, CHROMIUM_ARGS, running_streamlit

    tokenizer = load_model().tokenizer
    with running_streamlit(".bench-streamlit.log") as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        floor = []
        for _ in range(repeats + 1):  # Streamlit's own start in a fresh browser context: the floor of any page
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            start = time.perf_counter()
            page.goto(f"{base}/home")
            page.wait_for_selector("h1", timeout=600_000)
            floor.append(time.perf_counter() - start)
            context.close()
        print(f"floor: the home page's heading in a fresh browser context after {statistics.median(floor[1:]):.2f} s",
              flush=True)
        for n in (64, 256):
            text = quote(text_of_tokens(tokenizer, n))
            heads = ",".join(str(h) for h in range(1, 13))
            url = f"{base}/head_explorer?text={text}&layer=3&head={heads}&view=lines"

            def visit(address: str, layer_change: bool = False, timeout_ms: int = 120_000) -> tuple[float, float | None]:
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                start = time.perf_counter()
                page.goto(address)
                _drawn(page, timeout_ms)
                opened = time.perf_counter() - start
                changed = None
                if layer_change:
                    slider = page.locator('[data-testid="stSlider"]').filter(has_text="Layer").get_by_role("slider")
                    slider.focus()
                    start = time.perf_counter()
                    slider.press("ArrowRight")
                    page.wait_for_function("() => window.location.search.includes('layer=4')", timeout=60_000)
                    _drawn(page)
                    changed = time.perf_counter() - start
                context.close()
                return opened, changed

            visit(url, timeout_ms=600_000)  # warm: model loaded, sentence analysed, server caches filled
            runs = [visit(url, layer_change=True) for _ in range(repeats)]
            opened = statistics.median(r[0] for r in runs)
            changed = statistics.median(r[1] for r in runs if r[1] is not None)
            anchor = BERTVIZ_HEAD_VIEW_OPEN.get(n)
            ratio = f" = {opened / anchor:.2f}x BertViz's {anchor} s (anchor)" if anchor else ""
            print(f"n={n:>3}: head view (12 heads) opened in {opened:.2f} s{ratio}; layer change {changed:.2f} s",
                  flush=True)
            heat = statistics.median(visit(url.replace("view=lines", "view=heatmap").replace(f"head={heads}", "head=1"))[0]
                                     for _ in range(repeats))
            model = statistics.median(visit(url.replace("view=lines", "view=model"))[0] for _ in range(repeats))
            print(f"n={n:>3}: heatmap view (one head) opened in {heat:.2f} s; model view {model:.2f} s", flush=True)
        browser.close()


if __name__ == "__main__":
    main()
