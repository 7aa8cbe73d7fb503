"""The two deep-dive head pages on a cold cache (model already loaded): before and after, one run.

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.bench_head_pages [--before COMMIT]

Measures, in one process:
1. the measurement itself: a loop of one forward per sentence (what the pages did) against
   padded batches of 16 (lessonkit.head_stats, for models other than the shipped one) and
   against reading results/head_stats.json (the shipped model);
2. each page's first run in AppTest with every cache cleared except the loaded model: today's
   pages against the pages of ``--before`` (taken from git).
Timings on a shared 2-core machine move; compare the ratios.
"""
from __future__ import annotations

import argparse
import os
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
    args = parser.parse_args(argv if argv is not None else [])
    sys.path.insert(0, str(REPO))

    from streamlit.testing.v1 import AppTest

    from lessonkit.head_stats import compute_head_stats, load_head_stats
    from lessonkit.model import load_model

    loaded = load_model()
    AppTest.from_file(str(REPO / "pages" / "home.py"), default_timeout=600).run()  # the app's model, loaded once
    loop = timed(lambda: loop_of_single_forwards(loaded))
    batched = timed(lambda: compute_head_stats(loaded))
    saved = timed(lambda: load_head_stats(loaded.facts))
    print("measurement over the lesson's sentences (MiniLM)")
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


if __name__ == "__main__":
    main(sys.argv[1:])
