"""Words a learner reads on each page of the core path (a measurement, not a test).

    python -m bench.word_counts

Each page is run once under AppTest with its defaults; the words of every text element shown
without a click (titles, headers, markdown, captions, alerts, metrics' labels) are counted. Text
inside expanders, tabs other than the first, and the check-yourself questions is counted apart
as optional. The lesson's budget: about 2,500 words over the core pages.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

CORE_PAGES = ["home", "formula", "head_explorer", "not_explanation", "gradient_attention", "rollout_flow", "uses",
              "summary"]
DEEP_DIVES = ["head_finder", "head_accuracy", "faithfulness"]
BUDGET = 2_500
TEXT_TYPES = {"title", "header", "subheader", "markdown", "caption", "text", "alert", "info", "warning",
              "success", "error", "latex"}


def _words(text: str) -> int:
    return len(re.findall(r"[A-Za-z0-9][\w'’-]*", text or ""))


def _walk(node, optional: bool, counts: dict[str, int]) -> None:
    kind = getattr(node, "type", "")
    children = getattr(node, "children", None)
    if kind in ("expander", "popover"):
        optional = True
    if kind == "tab_container":
        tabs = list(children.values()) if isinstance(children, dict) else []
        for index, tab in enumerate(tabs):
            _walk(tab, optional or index > 0, counts)
        return
    if kind in TEXT_TYPES:
        counts["optional" if optional else "shown"] += _words(str(getattr(node, "value", "")))
    if isinstance(children, dict):
        for child in children.values():
            _walk(child, optional, counts)


def count_page(page: str) -> dict[str, int]:
    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")
    at = AppTest.from_file(app, default_timeout=600).run()
    at.switch_page(f"pages/{page}.py").run()
    counts = {"shown": 0, "optional": 0}
    _walk(at.main, False, counts)
    return counts


def main() -> None:
    total = 0
    print(f"{'page':<22}{'words shown':>12}{'in expanders/tabs':>20}")
    for page in CORE_PAGES + DEEP_DIVES:
        counts = count_page(page)
        if page in CORE_PAGES:
            total += counts["shown"]
        print(f"{page:<22}{counts['shown']:>12,}{counts['optional']:>20,}{'' if page in CORE_PAGES else '  (deep dive)'}")
    minutes = total / 200  # a careful reading pace for teaching text
    print(f"\ncore path: {total:,} words shown (budget {BUDGET:,}), about {minutes:.0f} minutes of reading")


if __name__ == "__main__":
    main()
