"""Issue 14 #1: a fresh server, eight students opening pages at the same moment, no error for anyone.

Before the fix, two caches imported transformers for the first time in two threads and one student
got "ImportError: cannot import name 'AutoConfig'". Also checks that the server warms its caches at
start-up, before anyone connects (app_server.py).
"""
from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

from playwright.sync_api import sync_playwright

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, REPO, is_loopback_url, running_streamlit

PAGES = ["gradient_attention", "rollout_flow", "head_explorer", "not_explanation"] * 2
LOG = ".pytest-streamlit-fresh.log"


def _open(base: str, path: str) -> dict:
    """One student: its own browser, opening `path`, waiting until the page has finished its first run."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            offsite: list[str] = []
            page.on("request", lambda request: None if is_loopback_url(request.url) else offsite.append(request.url))
            page.goto(f"{base}/{path}")
            page.wait_for_selector("h1", timeout=240_000)
            page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=240_000)
            return {
                "path": path,
                "exceptions": page.locator('[data-testid="stException"]').all_inner_texts(),
                "text": page.locator('[data-testid="stMain"]').inner_text(),
                "offsite": offsite,
            }
        finally:
            browser.close()


def test_eight_students_on_a_fresh_server_all_get_their_page():
    with running_streamlit(LOG, wait_for_warm_up=False) as base:
        with ThreadPoolExecutor(max_workers=len(PAGES)) as pool:
            results = list(pool.map(lambda path: _open(base, path), PAGES))
        log = (REPO / LOG).read_text()
    for result in results:
        assert result["exceptions"] == [], (result["path"], result["exceptions"])
        assert "ImportError" not in result["text"] and "Traceback" not in result["text"], result["path"]
        assert result["offsite"] == []
    assert "ImportError" not in log and "Traceback" not in log


def test_the_server_warms_its_caches_and_visits_every_page_before_anyone_connects():
    with running_streamlit(LOG, wait_for_warm_up=False) as _base:
        deadline = time.monotonic() + 300
        while "warm-up visited" not in (REPO / LOG).read_text():
            assert time.monotonic() < deadline, "no warm-up within 5 minutes of start-up"
            time.sleep(0.5)
    log = (REPO / LOG).read_text()
    assert "warm-up done" in log and "Traceback" not in log
    pages = sorted(p.stem for p in (REPO / "pages").glob("*.py"))
    visited = re.search(r"warm-up visited (\d+) pages in [\d.]+ s \((.*)\)", log)
    assert visited is not None and int(visited.group(1)) == len(pages)
    assert [entry.split(" ")[0] for entry in visited.group(2).split(", ")] == pages
    assert "warm-up visit of" not in log  # no page showed an exception
