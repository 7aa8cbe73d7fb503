"""A class on one replica: N simulated students at once, time per interaction (a measurement, not a test).

    python -m bench.class_load [--students 10 20 40] [--url http://127.0.0.1:PORT]

Each student is a headless Chromium (its own browser: Playwright's sync API is per thread) that
opens the head explorer, moves the layer slider twice, then opens the not-explanation page, whose
live lab runs the permutation test and the adversary on opening. Time per interaction = from the action until Streamlit's status widget is gone.
Reports p50/p95 per kind, errors, and the server's resident memory. Without --url it starts its
own `streamlit run app_server.py` on a free loopback port.
"""
from __future__ import annotations

import argparse
import statistics
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SENTENCE = "The animal didn't cross the street because it was too tired."


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as handle:
        return int(handle.read().split()[1]) * 4096 / 2**20


def _settle(page, timeout_ms: int = 300_000) -> None:
    page.wait_for_timeout(150)  # let the rerun start
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=timeout_ms)


def _student(browser, base: str, timings: dict[str, list[float]], errors: list[str], lock: threading.Lock) -> None:
    from urllib.parse import quote

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        start = time.perf_counter()
        page.goto(f"{base}/head_explorer?text={quote(SENTENCE)}")
        page.wait_for_selector('[data-testid="stVegaLiteChart"]', timeout=300_000)
        _settle(page)
        record = [("explorer: open", time.perf_counter() - start)]
        slider = page.locator('[data-testid="stSlider"]').filter(has_text="Layer").get_by_role("slider").first
        for _ in range(2):
            start = time.perf_counter()
            slider.focus()
            slider.press("ArrowRight")
            _settle(page)
            record.append(("explorer: layer change", time.perf_counter() - start))
        start = time.perf_counter()
        page.goto(f"{base}/not_explanation")
        page.wait_for_selector("h1", timeout=300_000)
        _settle(page)
        record.append(("lab: open", time.perf_counter() - start))
        if page.locator('[data-testid="stException"]').count():
            errors.append("exception shown")
        with lock:
            for kind, seconds in record:
                timings.setdefault(kind, []).append(seconds)
    except Exception as error:  # a timeout is a result here, not a crash of the benchmark
        with lock:
            errors.append(f"{type(error).__name__}: {str(error)[:120]}")
    finally:
        context.close()


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def run_round(base: str, n: int, server_pid: int | None) -> None:
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    timings: dict[str, list[float]] = {}
    errors: list[str] = []
    lock = threading.Lock()
    # Playwright's sync API is not thread-safe across one browser: one browser per student thread.
    def one() -> None:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                _student(browser, base, timings, errors, lock)
            finally:
                browser.close()

    threads = [threading.Thread(target=one) for _ in range(n)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    rss = f", server RSS {_rss_mib(server_pid):,.0f} MiB" if server_pid else ""
    print(f"\n{n} students at once: {wall:.0f} s wall, {len(errors)} errors{rss}")
    for kind, values in timings.items():
        print(f"  {kind:<26} p50 {statistics.median(values):6.2f} s   p95 {_percentile(values, 95):6.2f} s   (n={len(values)})")
    for error in errors[:5]:
        print(f"  error: {error}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, nargs="+", default=[10, 20, 40])
    parser.add_argument("--url", default=None, help="an already running server (else one is started)")
    args = parser.parse_args(argv if argv is not None else [])
    if args.url:
        for n in args.students:
            run_round(args.url, n, None)
        return
    from tests.conftest import running_streamlit

    with running_streamlit(".bench-class-load.log") as base:
        pid = _server_pid(base)
        for n in args.students:
            run_round(base, n, pid)


def _server_pid(base: str) -> int | None:
    """The pid listening on the server's port (for its memory), from /proc/net/tcp."""
    import os

    port = int(base.rsplit(":", 1)[1])
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A":
            inodes.add(fields[9])
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(pid)
        except OSError:
            continue
    return None


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
