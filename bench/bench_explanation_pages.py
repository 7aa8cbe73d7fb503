"""The rollout and gradient pages at 128 tokens: a layer change's rerun time and what it sends.

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.bench_explanation_pages [--repo PATH] [--repeats N]

Runs the page in Streamlit's AppTest (no browser) with a 128-token sentence, moves the layer
slider back and forth, and prints the median rerun time and the bytes of what the page sends
per run: chart specs with their data, plus the images (a long sentence's maps are small PNGs
served from the media store). ``--repo`` points at another checkout (e.g. an older commit
unpacked with ``git archive``) to measure it the same way in the same run.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

FILLER = (
    "the quick brown fox jumps over the lazy dog while a small cat watches from the warm window and "
    "the rain keeps falling on the quiet street where children play and old friends meet to talk "
) * 4


def sentence_of(n_tokens: int) -> str:
    from lessonkit.model import load_model

    tokenizer = load_model().tokenizer
    ids = tokenizer(FILLER, add_special_tokens=False)["input_ids"][: n_tokens - 2]
    return tokenizer.decode(ids)


def _media_files() -> dict:
    """The in-memory media store's files by id (AppTest has no Runtime to ask, so find the manager)."""
    import gc

    from streamlit.runtime.media_file_manager import MediaFileManager

    files: dict = {}
    for manager in (o for o in gc.get_objects() if isinstance(o, MediaFileManager)):
        files.update(getattr(manager._storage, "_files_by_id", {}))  # the in-memory store; one per AppTest run
    return files


def sent_bytes(at) -> int:
    """Bytes of the charts (spec + Arrow datasets) and images of the last run."""
    total = 0
    for chart in at.get("vega_lite_chart"):
        total += len(chart.proto.spec.encode()) + sum(len(d.data.data) for d in chart.proto.datasets)
    files = _media_files()
    for element in at.get("image"):
        for media_id in re.findall(r"/media/([0-9a-f]+)", str(element.proto)):
            total += len(files[media_id].content)
    return total


def measure(repo: Path, page: str, text: str, slider: str, layers: tuple[int, int], repeats: int) -> dict:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(repo / "pages" / page), default_timeout=900)
    at.query_params["text"] = text
    at.run()
    if at.exception:
        raise RuntimeError([e.message for e in at.exception])
    if at.text_input[0].value != text:  # an old page without deep links: type the sentence
        at.text_input[0].set_value(text).run()
    times, sizes = [], []
    for i in range(repeats):
        start = time.perf_counter()
        at.slider(key=slider).set_value(layers[i % 2]).run()
        times.append(time.perf_counter() - start)
        sizes.append(sent_bytes(at))
        if at.exception:
            raise RuntimeError([e.message for e in at.exception])
    return {"seconds": statistics.median(times), "bytes": statistics.median(sizes)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.repo))
    text = sentence_of(args.tokens)
    results = {}
    for page, slider in (("rollout_flow.py", "rf_layer"), ("gradient_attention.py", "ga_layer")):
        results[page] = measure(args.repo, page, text, slider, (5, 6), args.repeats)
        r = results[page]
        print(f"{page:24} {args.tokens} tokens, layer change: {r['seconds'] * 1000:6.0f} ms median rerun, "
              f"{r['bytes'] / 1e6:.2f} MB sent")
    return results


if __name__ == "__main__":
    main()
