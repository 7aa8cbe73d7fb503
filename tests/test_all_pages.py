"""Every page: registered in the navigation, guarded for deep links, runs without an exception."""
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parent.parent
PAGE_FILES = sorted(p.stem for p in (REPO / "pages").glob("*.py") if not p.name.startswith("_"))


def registered_pages() -> list[str]:
    return re.findall(r'lesson_page\("(\w+)"', (REPO / "streamlit_app.py").read_text())


def test_every_page_file_is_in_the_navigation():
    assert sorted(registered_pages()) == PAGE_FILES


@pytest.mark.parametrize("page", PAGE_FILES)
def test_every_page_reruns_through_the_app_navigation(page):
    source = (REPO / "pages" / f"{page}.py").read_text()
    assert re.search(r"^require_app_navigation\(\)$", source, re.MULTILINE), (
        f"pages/{page}.py must call require_app_navigation() before drawing anything"
    )


@pytest.mark.parametrize("page", PAGE_FILES)
def test_every_page_runs_without_an_exception(page):
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=300).run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, f"pages/{page}.py shows no title"
