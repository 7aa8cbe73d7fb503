"""Head explorer benchmark: medians measured in one run, as ratios, beside BertViz's figures.

Run: .venv/bin/python -m bench.bench_heads   (HF_HUB_OFFLINE=1; about a minute on 2 cores)

For sentences of n = 16, 64, 256 WordPiece tokens:
- one forward pass with all attention maps (analyse_sentence), the floor;
- the head finder's full scores (token kinds, 7 pattern scores for all 72 heads, ranking rows);
- word merging of all 72 maps;
- what the browser receives per view, converted as st.altair_chart does (spec JSON + Arrow
  data): head view (one layer, all 12 heads), heatmap (one head, whole map), model view (all 72
  heads), with build time and size;
- the head view's spec, now written as a plain Vega-Lite dict, beside the Altair builder it
  replaced (loaded from git history, commit b059377, when the repository is there): same run;
- the formula page opened cold under AppTest once the model is loaded (recomputes all heads,
  the neuron view, the scaling simulation), beside one forward pass;
- PNG and SVG export of the one-head view (vl-convert, local).
BertViz numbers are measured figures for BertViz 1.4.1 on the same kind of machine (2 cores), not
re-measured here (its page loads require.js, d3 and jQuery from a CDN).
"""
from __future__ import annotations

import json
import os
import time

from bench.common import median_seconds

os.environ.setdefault("HF_HUB_OFFLINE", "1")

BERTVIZ = {  # BertViz 1.4.1 head_view HTML generation time (s) and HTML size (MB), head or model view
    16: (0.016, 0.8),
    64: (0.273, 13.0),
    256: (5.6, 216.0),
}
PASSAGE = (
    "The animal didn't cross the street because it was too tired, and the trophy didn't fit in the bag "
    "because it was too big. Researchers looked at which heads attend to the previous token, to the next "
    "token, to the separator and to punctuation; some heads spread their attention broadly while others "
    "focus on a single word such as a verb's object or a preposition's noun. "
)


BEFORE_COMMIT = "b059377"  # the last commit with the Altair-built head view


def previous_head_view():
    """head_view_chart as it was before this redesign (from git history), or None without the repository."""
    import subprocess
    import types
    from pathlib import Path

    try:
        source = subprocess.run(
            ["git", "show", f"{BEFORE_COMMIT}:ui/charts/head_view.py"], cwd=Path(__file__).resolve().parent.parent,
            capture_output=True, text=True, check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("previous_head_view")
    exec(compile(source, "previous_head_view.py", "exec"), module.__dict__)
    return module.head_view_chart


def _median(function, repeats: int) -> float:
    """Median over ``repeats`` timed runs, no warm-up runs (the shared helper in bench.common)."""
    return median_seconds(function, repeats=repeats, warmup=0)


def text_of_tokens(tokenizer, n: int) -> str:
    """A text that tokenizes to n tokens including [CLS] and [SEP] (checked by the caller)."""
    ids = tokenizer(PASSAGE * (n // 40 + 2), add_special_tokens=False)["input_ids"][: n - 2]
    text = tokenizer.decode(ids)
    for _ in range(5):  # decoding can merge or split a piece; nudge until the count is exact
        count = len(tokenizer(text)["input_ids"])
        if count == n:
            break
        ids = ids[: len(ids) - (count - n)] if count > n else ids + ids[: n - count]
        text = tokenizer.decode(ids)
    return text


def main() -> None:
    from lessonkit.analysis import analyse_sentence
    from lessonkit.head_patterns import head_label, pattern_scores, ranking_rows, token_kinds
    from lessonkit.model import load_model
    from lessonkit.word_level import merge_attention, word_groups
    from ui.charts.common import chart_png, chart_svg, position_labels
    from ui.charts.head_view import head_view_spec
    from ui.charts.heatmap import heatmap
    from ui.charts.model_view import model_view_chart

    old_head_view = previous_head_view()

    loaded = load_model()
    for _ in range(3):  # the first forwards are slow
        analyse_sentence(loaded, PASSAGE)
    print(f"model: {loaded.facts.name}, {loaded.facts.n_layers} layers x {loaded.facts.n_heads} heads; medians\n")
    header = (
        f"{'n':>4} {'forward':>9} {'finder':>9} {'finder/fwd':>10} {'words':>8} "
        f"{'head view (12 heads)':>22} {'heatmap':>18} {'model view':>20} {'BertViz gen, size':>19} {'size ratio':>11}"
    )
    print(header)
    rows = []
    for n in (16, 64, 256):
        text = text_of_tokens(loaded.tokenizer, n)
        sentence = analyse_sentence(loaded, text)
        repeats = 7 if n < 256 else 5
        forward = _median(lambda: analyse_sentence(loaded, text), repeats)

        def finder():
            scores = pattern_scores(sentence.attn, token_kinds(sentence.tokens))
            return ranking_rows(scores)

        finder_time = _median(finder, repeats)
        groups = word_groups(sentence.word_ids, sentence.segment_ids)
        words_time = _median(lambda: merge_attention(sentence.attn, groups), repeats)
        layer = 2
        names = [head_label(layer, h) for h in range(loaded.facts.n_heads)]

        def spec_of(build):
            """Build the chart and convert it the way st.altair_chart does (spec JSON + Arrow datasets)."""
            from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec  # internal API

            start = time.perf_counter()
            chart = build()
            spec = dict(chart) if isinstance(chart, dict) else _convert_altair_to_vega_lite_spec(chart)
            datasets = spec.pop("datasets", {})
            size = len(json.dumps(spec).encode("utf-8")) + sum(
                len(v) if isinstance(v, bytes) else len(json.dumps(v)) for v in datasets.values()
            )
            return time.perf_counter() - start, size

        head_view = min(spec_of(lambda: head_view_spec(sentence.attn[layer], sentence.tokens, names)) for _ in range(3))
        if old_head_view is not None:
            old = min(spec_of(lambda: old_head_view(sentence.attn[layer], sentence.tokens, names)) for _ in range(3))
            print(f"{'':>4} head view before (Altair builder): {old[0] * 1e3:.0f} ms, {old[1] / 1e6:.2f} MB; now "
                  f"{head_view[0] * 1e3:.1f} ms, {head_view[1] / 1e6:.2f} MB: {old[0] / head_view[0]:.0f}x faster, "
                  f"{old[1] / head_view[1]:.1f}x smaller")
        labels = position_labels(sentence.tokens)
        heatmap_size = min(spec_of(lambda: heatmap(sentence.attn[layer, 0], labels, labels)) for _ in range(3))
        model_view = min(spec_of(lambda: model_view_chart(sentence.attn)) for _ in range(3))
        bertviz_time, bertviz_mb = BERTVIZ[n]
        ours_mb = max(head_view[1], heatmap_size[1], model_view[1]) / 1e6  # the largest of our three views
        rows.append((n, forward, finder_time, head_view, model_view, bertviz_time, bertviz_mb, ours_mb))
        print(
            f"{sentence.n_tokens:>4} {forward * 1e3:>7.1f}ms {finder_time * 1e3:>7.2f}ms {finder_time / forward:>10.3f} "
            f"{words_time * 1e3:>6.2f}ms "
            f"{head_view[0] * 1e3:>8.0f}ms {head_view[1] / 1e6:>8.2f}MB   "
            f"{heatmap_size[0] * 1e3:>6.0f}ms {heatmap_size[1] / 1e6:>6.2f}MB "
            f"{model_view[0] * 1e3:>8.0f}ms {model_view[1] / 1e6:>6.2f}MB "
            f"{bertviz_time * 1e3:>8.0f}ms {bertviz_mb:>6.1f}MB {bertviz_mb / ours_mb:>10.0f}x"
        )

    print("\nratios, measured in this run:")
    for n, forward, finder_time, head_view, _model_view, bertviz_time, bertviz_mb, ours_mb in rows:
        print(
            f"  n={n:>3}: head-finder scores = {finder_time / forward:.3f} of one forward pass; "
            f"head view (12 heads) spec built in {head_view[0] / bertviz_time:.2f}x BertViz's HTML time, "
            f"largest spec {ours_mb:.2f} MB = 1/{bertviz_mb / ours_mb:.0f} of BertViz's HTML"
        )
    print("  (BertViz's HTML holds every layer and head at once; ours sends one view at a time and re-renders")
    print("   on a change without running the model: the spec is what the browser receives per view.)")

    text16 = text_of_tokens(loaded.tokenizer, 16)
    sentence16 = analyse_sentence(loaded, text16)
    chart = head_view_spec(sentence16.attn[2, :1], sentence16.tokens, ["L3-H1"])
    chart_png(chart)  # first call starts the renderer
    png = _median(lambda: chart_png(chart), 3)
    svg = _median(lambda: chart_svg(chart), 3)
    cold_formula_page(rows[1][1])
    print(f"\nexport of a one-head view at n=16 (vl-convert, offline): PNG {png * 1e3:.0f} ms, SVG {svg * 1e3:.0f} ms "
          "(BertViz: no image export)")


def cold_formula_page(forward_seconds: float) -> None:
    """The formula page opened once under AppTest on a loaded model, against one forward pass."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    page = Path(__file__).resolve().parent.parent / "pages" / "formula.py"
    start = time.perf_counter()
    at = AppTest.from_file(str(page), default_timeout=300).run()
    seconds = time.perf_counter() - start
    failed = " (with an exception!)" if at.exception else ""
    print(f"\nformula page, first visit with the model loaded (AppTest): {seconds:.2f} s{failed} "
          f"= {seconds / forward_seconds:.0f} forward passes of 64 tokens")


if __name__ == "__main__":
    main()
