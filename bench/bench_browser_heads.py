"""The head explorer in a real browser (Debian's Chromium): time until the head view is drawn.

Run: .venv/bin/python -m bench.bench_browser_heads   (HF_HUB_OFFLINE=1; starts its own server)

Measures, for a 64-token and a 256-token sentence, on one warm server (the model is loaded and
the sentence analysed by a first visit that is not counted), in a fresh browser context (nothing
cached) and in a returning browser (Streamlit's JavaScript in its HTTP cache):
- open: page.goto(deep link to the head view, one layer, all heads) until the chart is drawn;
- layer change: a new layer until the new chart is drawn;
- in the app: from another page, the sidebar link back to the head explorer until the view is drawn;
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
# Drawn: the head view component's canvas (ui/charts/head_view.js) has ink, or a Vega chart's SVG has
# its marks (built in one pass) or its canvas has ink (the heatmap and model views).
DRAWN = """() => { if (document.querySelector('[data-testid="stVegaLiteChart"] svg.marks g')) return true;
  const c = document.querySelector('[data-lk="head-view"] canvas')
    || document.querySelector('[data-testid="stVegaLiteChart"] canvas.marks');
  if (!c || !c.width) return false; const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < d.length; i += 4 * 97) if (d[i] > 0) return true; return false; }"""


def _drawn(page, timeout_ms: int = 120_000) -> None:
    page.wait_for_function(DRAWN, timeout=timeout_ms, polling="raf")


def main(repeats: int = 3) -> None:
    from playwright.sync_api import sync_playwright

    from bench.bench_heads import text_of_tokens
    from lessonkit.model import load_model
    from tests.conftest import CHROMIUM, CHROMIUM_ARGS, RecordingPage, running_streamlit

    tokenizer = load_model().tokenizer
    with running_streamlit(".bench-streamlit.log") as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        # A learner's browser that has opened the app before keeps Streamlit's JavaScript in its cache.
        returning = browser.new_context(viewport={"width": 1400, "height": 1000})

        def visit(address: str, fresh: bool, layer_change: bool = False, timeout_ms: int = 120_000,
                  wait=_drawn) -> tuple[float, float | None]:
            context = browser.new_context(viewport={"width": 1400, "height": 1000}) if fresh else returning
            recording = RecordingPage(context.new_page())
            page = recording.page
            start = time.perf_counter()
            page.goto(address)
            wait(page, timeout_ms)
            opened = time.perf_counter() - start
            changed = None
            if layer_change:
                recording.wait_until_idle()
                slider = page.locator('[data-testid="stSlider"]').filter(has_text="Layer").get_by_role("slider")
                slider.focus()
                start = time.perf_counter()
                slider.press("ArrowRight")
                recording.wait_until_idle()  # the rerun finished and the new spec is in the page
                _drawn(page)
                changed = time.perf_counter() - start
            page.close()
            if fresh:
                context.close()
            return opened, changed

        def heading(page, timeout_ms: int) -> None:
            page.wait_for_selector("h1", timeout=timeout_ms)

        for fresh in (True, False):
            floor = statistics.median(visit(f"{base}/home", fresh, wait=heading, timeout_ms=600_000)[0]
                                      for _ in range(repeats + 1))
            print(f"floor ({'fresh browser context' if fresh else 'returning browser'}): the home page's heading "
                  f"after {floor:.2f} s", flush=True)
        for n in (64, 256):
            text = quote(text_of_tokens(tokenizer, n))
            heads = ",".join(str(h) for h in range(1, 13))
            url = f"{base}/head_explorer?text={text}&layer=3&head={heads}&view=lines"
            visit(url, True, timeout_ms=600_000)  # warm: model loaded, sentence analysed, server caches filled
            for fresh in (True, False):
                who = "fresh context" if fresh else "returning browser"
                runs = [visit(url, fresh, layer_change=True) for _ in range(repeats)]
                opened = statistics.median(r[0] for r in runs)
                changed = statistics.median(r[1] for r in runs if r[1] is not None)
                anchor = BERTVIZ_HEAD_VIEW_OPEN.get(n)
                ratio = f" = {opened / anchor:.2f}x BertViz's {anchor} s (anchor)" if anchor else ""
                print(f"n={n:>3}, {who}: head view (12 heads) opened in {opened:.2f} s{ratio}; "
                      f"layer change {changed:.2f} s", flush=True)
            # in the app: the learner comes back to the page from the sidebar (same tab, same session;
            # the sentence and heads are kept across pages by ui.session_keys.KEPT_ACROSS_PAGES)
            page = returning.new_page()
            page.goto(url)
            _drawn(page)
            clicks = []
            for _ in range(repeats):
                page.locator('[data-testid="stSidebarNav"] a').first.click()
                page.wait_for_function("() => !location.pathname.endsWith('/head_explorer')", timeout=60_000)
                page.wait_for_selector('[data-lk="head-view"]', state="detached", timeout=60_000)
                page.wait_for_timeout(500)
                start = time.perf_counter()
                page.locator('[data-testid="stSidebarNav"] a[href$="/head_explorer"]').click()
                _drawn(page)
                clicks.append(time.perf_counter() - start)
            page.close()
            inside = statistics.median(clicks)
            anchor = BERTVIZ_HEAD_VIEW_OPEN.get(n)
            ratio = f" = {inside / anchor:.2f}x BertViz's {anchor} s (anchor)" if anchor else ""
            print(f"n={n:>3}, in the app (sidebar link back to the page): head view drawn in {inside:.2f} s{ratio}",
                  flush=True)
            heat = statistics.median(
                visit(url.replace("view=lines", "view=heatmap").replace(f"head={heads}", "head=1"), False)[0]
                for _ in range(repeats))
            model = statistics.median(visit(url.replace("view=lines", "view=model"), False)[0] for _ in range(repeats))
            print(f"n={n:>3}, returning browser: heatmap view (one head) opened in {heat:.2f} s; "
                  f"model view {model:.2f} s", flush=True)
        returning.close()
        browser.close()


if __name__ == "__main__":
    main()
