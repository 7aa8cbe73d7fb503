"""Every page's first visit on a fresh server, and the server's memory after each (issue 13's targets:
no first visit over 2 s, one server under 1 GB after every page).

Run: HF_HUB_OFFLINE=1 .venv/bin/python -m bench.bench_cold_pages   (starts its own server)

The server is started as `make run` starts it (app_server.py, which warms its caches before the
first visitor) and measured once its log says the warm-up is done. One Chromium context opens
each page once, by its URL, in a new tab: time from the request until Streamlit reports the run
finished and its status widget is gone. The same context's HTTP cache holds Streamlit's own
JavaScript after the first page, as a learner's browser does; the "floor" row is the home page
opened again, i.e. what Streamlit itself needs for any page.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
LOG = ".bench-cold-pages.log"
# the navigation's order (streamlit_app.py); any page file not listed is visited at the end
ORDER = ["home", "formula", "head_explorer", "not_explanation", "gradient_attention", "rollout_flow", "uses",
         "summary", "quiz", "head_finder", "head_accuracy", "faithfulness", "instructor"]


def page_names() -> list[str]:
    from ui.warm_up import page_paths

    present = set(page_paths())
    return [name for name in ORDER if name in present] + sorted(present - set(ORDER))


def main() -> None:
    from playwright.sync_api import sync_playwright

    from bench.class_load import _rss_mib, _server_pid
    from tests.conftest import CHROMIUM, CHROMIUM_ARGS, RecordingPage, running_streamlit

    started = time.perf_counter()
    with running_streamlit(LOG) as base:  # yields once the warm-up has opened every page
        pid = _server_pid(base)
        assert pid is not None
        print(f"server warm {time.perf_counter() - started:.1f} s after start; RSS {_rss_mib(pid):,.0f} MiB", flush=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            rows = []
            for name in [*page_names(), "home"]:
                page = RecordingPage(context.new_page())
                start = time.perf_counter()
                page.page.goto(f"{base}/{name}")
                page.wait_until_idle(timeout_ms=300_000)
                seconds = time.perf_counter() - start
                errors = page.page.locator('[data-testid="stException"]').count()
                rows.append((name, seconds, _rss_mib(pid), errors))
                page.page.close()
            browser.close()
    floor = rows.pop()
    print(f"\n{'page (first visit)':<22} {'seconds':>8} {'RSS MiB':>8} {'errors':>6}")
    for name, seconds, rss, errors in rows:
        print(f"{name:<22} {seconds:>8.2f} {rss:>8,.0f} {errors:>6}")
    print(f"{'home again (floor)':<22} {floor[1]:>8.2f} {floor[2]:>8,.0f} {floor[3]:>6}")
    slowest = max(rows[1:], key=lambda row: row[1])  # the first row also loads Streamlit's JavaScript
    print(f"\nslowest first visit after the first page: {slowest[0]} {slowest[1]:.2f} s (target < 2 s); "
          f"server RSS after every page: {rows[-1][2]:,.0f} MiB (target < 1,024)")


if __name__ == "__main__":
    main()
