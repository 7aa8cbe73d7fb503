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
    assert sorted(set(registered_pages())) == PAGE_FILES


def test_no_script_relies_on_magic():
    """.streamlit/config.toml turns magic off: a bare value on its own line would silently draw nothing."""
    import ast
    import tomllib

    assert tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())["runner"]["magicEnabled"] is False
    bare = []
    for path in [REPO / "streamlit_app.py", *sorted((REPO / "pages").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            body = getattr(node, "body", None)
            for index, statement in enumerate(body if isinstance(body, list) else []):
                if not isinstance(statement, ast.Expr) or isinstance(statement.value, (ast.Call, ast.Await)):
                    continue
                docstring = index == 0 and isinstance(statement.value, ast.Constant) and isinstance(statement.value.value, str)
                if not docstring:
                    bare.append(f"{path.name}:{statement.lineno}")
    assert bare == []


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


@pytest.fixture
def other_model(other_model_dir, monkeypatch):
    """The app configured for a random model of another shape; MiniLM comes back for later tests."""
    import ui.models

    monkeypatch.setenv("LESSON_MODEL", str(other_model_dir))
    yield other_model_dir
    ui.models._sentence_cache.clear()


@pytest.mark.parametrize("page", PAGE_FILES)
def test_every_page_runs_on_other_bert_family_models(page, other_model):
    """Issue 9: any BERT-family model works on every page, or the page says why not (never an exception)."""
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=300).run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, f"pages/{page}.py shows no title"
    sidebar = re.sub(r"\\(.)", r"\1", " ".join(m.value for m in at.sidebar.markdown))  # markdown escapes
    assert other_model.name in sidebar, "the sidebar must name the model actually shown"


@pytest.mark.parametrize("page", ["head_explorer", "gradient_attention", "not_explanation"])
def test_a_model_that_cannot_load_is_explained_once_per_page(page, monkeypatch, tmp_path):
    """Issue 14 #6: the reason shows once (it used to appear two or three times), with no traceback."""
    import ui.models

    monkeypatch.setenv("LESSON_MODEL", str(tmp_path / "no-such-model"))
    ui.models._load_cached_model.clear()
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=300).run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception
    shown = [e.value for e in [*at.error, *at.sidebar.error] if "could not be loaded" in e.value]
    assert len(shown) == 1, shown
    assert "no-such-model" in shown[0]


def test_each_page_title_carries_the_icon_of_its_navigation_entry():
    """Issue 10: the sidebar and the page showed different icons for the same page."""
    entries = re.findall(r'lesson_page\("(\w+)", "[^"]+", "([^"]+)"', (REPO / "streamlit_app.py").read_text())
    for page, icon in entries:
        if page == "home":  # the start page's title is the app's own name and icon
            continue
        source = (REPO / "pages" / f"{page}.py").read_text()
        title = re.search(r'st\.title\(f?"([^"]+)"', source)
        assert title is not None and title.group(1).startswith(icon), (page, icon, title and title.group(1))
