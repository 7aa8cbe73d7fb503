"""The two deep-dive head pages on a cold cache (model already loaded): before and after, one run.

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.bench_head_pages [--before COMMIT]

Measures, in one process:
1. the measurement itself: a loop of one forward per sentence (what the pages did) against
   padded batches of 16 (lessonkit.head_stats, for models other than the shipped one) and
   against reading results/head_stats.json (the shipped model);
2. each page's first run in AppTest with every cache cleared except the loaded model: today's
   pages against the pages of ``--before`` (taken from git);
3. with ``--browser``: the first visit of each page in Chromium on a fresh server (after its
   start-up warm-up), this tree against ``--before`` unpacked with ``git archive``, the home page
   beside them as the floor every visit pays (frontend load, new session).
Timings on a shared 2-core machine move; compare the ratios.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
BEFORE = "f194341"  # main before the head pages were precomputed


def loop_of_single_forwards(loaded) -> None:
    """What the pages did on a first visit: one analyse_sentence per sentence, then the scores."""
    from lessonkit.analysis import analyse_sentence
    from lessonkit.head_accuracy import coreference_accuracy, syntax_accuracy
    from lessonkit.head_patterns import average_scores, pattern_scores, token_kinds
    from lessonkit.head_stats import TokenMaps, word_map
    from lessonkit.probes import RELATIONS, load_coreference_items, load_probes, load_syntax_arcs

    def maps(text, pair=None):
        s = analyse_sentence(loaded, text, pair)
        return TokenMaps(s.tokens, s.word_ids, s.segment_ids, s.attn)

    average_scores([pattern_scores(m.attn, token_kinds(m.tokens)) for m in (maps(p.text, p.text_pair)
                                                                           for p in load_probes())])
    items, arcs = load_coreference_items(), load_syntax_arcs()
    words = {t: word_map(maps(t)) for t in dict.fromkeys([i.text for i in items] + [a.text for a in arcs])}
    coreference_accuracy(items, [words[i.text][:2] for i in items])
    for relation in RELATIONS:
        chosen = [a for a in arcs if a.relation == relation]
        syntax_accuracy(chosen, [words[a.text] for a in chosen])


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def cold_page_seconds(path: Path) -> float:
    """First run of a page with Streamlit's data caches, the sentence cache and the head statistics cleared."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    import ui.head_pages
    import ui.models

    st.cache_data.clear()
    ui.models._sentence_cache.clear()
    ui.head_pages._store.clear()
    start = time.perf_counter()
    at = AppTest.from_file(str(path), default_timeout=600).run()
    seconds = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(f"{path.name}: {[e.value for e in at.exception]}")
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help="git commit whose pages are 'before'")
    parser.add_argument("--browser", action="store_true", help="also time first visits on fresh servers")
    args = parser.parse_args(argv if argv is not None else [])
    sys.path.insert(0, str(REPO))

    from streamlit.testing.v1 import AppTest

    from lessonkit.head_stats import compute_head_stats, load_head_stats
    from lessonkit.model import load_model

    loaded = load_model()
    AppTest.from_file(str(REPO / "pages" / "home.py"), default_timeout=600).run()  # the app's model, loaded once
    # medians of alternating runs, so a neighbour's load spike hits both sides alike
    loops, batches, saves = [], [], []
    for _ in range(3):
        loops.append(timed(lambda: loop_of_single_forwards(loaded)))
        batches.append(timed(lambda: compute_head_stats(loaded)))
        saves.append(timed(lambda: load_head_stats(loaded.facts)))
    loop, batched, saved = (statistics.median(values) for values in (loops, batches, saves))
    print("measurement over the lesson's sentences (MiniLM; median of 3 alternating runs)")
    print(f"  loop of single forwards   {loop:7.2f} s")
    print(f"  padded batches of 16      {batched:7.2f} s   {loop / batched:5.1f}x faster")
    print(f"  read results/head_stats   {saved:7.3f} s   {loop / saved:5.0f}x faster")

    with tempfile.TemporaryDirectory() as folder:
        print(f"cold first run of each page in AppTest (model loaded; before = {args.before})")
        for page in ("head_finder", "head_accuracy"):
            old = Path(folder) / f"{page}_before.py"
            old.write_text(subprocess.run(["git", "show", f"{args.before}:pages/{page}.py"], cwd=REPO, check=True,
                                          capture_output=True, text=True).stdout)
            before = cold_page_seconds(old)
            after = cold_page_seconds(REPO / "pages" / f"{page}.py")
            print(f"  {page:14s} before {before:6.2f} s   after {after:5.2f} s   {before / after:5.1f}x faster")

    if args.browser:
        with tempfile.TemporaryDirectory() as folder:
            archive = subprocess.run(["git", "archive", args.before], cwd=REPO, check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
            visits_before, visits_after = fresh_server_visits(Path(folder)), fresh_server_visits(REPO)
        print(f"first visit in Chromium on a fresh server, after its warm-up (before = {args.before})")
        for page in visits_before:
            print(f"  {page:14s} before {visits_before[page]:6.2f} s   after {visits_after[page]:5.2f} s   "
                  f"{visits_before[page] / visits_after[page]:5.1f}x")


def fresh_server_visits(tree: Path) -> dict[str, float]:
    """Seconds from navigation to an idle app, for each page in a new browser context, on one new server."""
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS, RecordingPage, _free_port, _healthy

    port = _free_port()
    with tempfile.NamedTemporaryFile("w+", suffix=".log") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app_server.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=tree, env=dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1"), stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 300
            while not _healthy(base) or "warm-up done" not in Path(log.name).read_text():
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server in {tree} did not start and warm up")
                time.sleep(0.5)
            seconds = {}
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for page in ("home", "head_accuracy", "head_finder"):
                    context = browser.new_context(viewport={"width": 1400, "height": 1000})
                    recording = RecordingPage(context.new_page())
                    start = time.perf_counter()
                    recording.page.goto(f"{base}/{page}")
                    recording.wait_until_idle(timeout_ms=300_000)
                    seconds[page] = time.perf_counter() - start
                    context.close()
                browser.close()
            return seconds
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main(sys.argv[1:])
