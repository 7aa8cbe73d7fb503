"""Shared fixtures: the model (loaded once per test session) and a real browser against a real server."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from ipaddress import ip_address
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from jaxtyping import install_import_hook

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# Array shapes written in type hints (jaxtyping) are checked at run time while the tests run, for
# the modules that declare them; installed before any of them is imported.
SHAPE_CHECKED_MODULES = [
    "lessonkit.analysis", "lessonkit.attribution", "lessonkit.faithfulness", "lessonkit.gradient_attention",
    "lessonkit.head_stats", "lessonkit.jain_wallace", "lessonkit.map_comparison", "lessonkit.neuron_view",
    "lessonkit.pronoun_links", "lessonkit.rollout", "lessonkit.visible_tokens",
]
install_import_hook(SHAPE_CHECKED_MODULES, "beartype.beartype")

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
# Ink on the head view's canvas (ui/charts/head_view.js): how many pixels are not transparent.
HEAD_VIEW_INK = """() => { const c = document.querySelector('[data-lk="head-view"] canvas');
  if (!c || !c.width) return 0; const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n += 1; return n; }"""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def loaded_model():
    from lessonkit.model import load_model

    return load_model()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def is_loopback_url(url: str) -> bool:
    """True for addresses on this machine (and for browser-internal schemes such as data: or blob:)."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https", "ws", "wss"}:
        return True
    host = (parts.hostname or "").strip("[]")
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


WARM_UP_ENDS = ("warm-up visited", "the pages could not be visited")  # ui/warm_up.py's last log line


@contextmanager
def running_streamlit(
    log_name: str = ".pytest-streamlit.log", extra_args: Sequence[str] = (), wait_for_warm_up: bool = True
) -> Iterator[str]:
    """Start `streamlit run app_server.py` (what `make run` serves) on a free loopback port, with
    ``extra_args`` (e.g. ``--secrets.files``); yield its base URL; stop it.

    By default it yields once the start-up warm-up has opened every page (ui/warm_up.py), so a
    test's first page is not racing the server's own visits; tests of a server still warming up
    pass ``wait_for_warm_up=False``."""
    port = _free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    with open(REPO / log_name, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app_server.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", *extra_args],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while not _healthy(base):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not start; see {log.name}")
                time.sleep(0.5)
            deadline = time.monotonic() + 300
            while wait_for_warm_up and not any(mark in (REPO / log_name).read_text() for mark in WARM_UP_ENDS):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not finish its warm-up; see {log.name}")
                time.sleep(0.5)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="session")
def streamlit_server():
    """Base URL of the app served on 127.0.0.1, started once per test session."""
    with running_streamlit() as base:
        yield base


@pytest.fixture(scope="session")
def chromium_browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (the README's test command does).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# Counts Streamlit's script runs in the page: the app root's data-test-script-state turns to
# "running" once per run, however short the run (a fixed sleep could miss it).
COUNT_RUNS_SCRIPT = """
window.__streamlitRuns = 0;
new MutationObserver(records => {
  for (const record of records) {
    if (record.target.getAttribute('data-test-script-state') === 'running') window.__streamlitRuns += 1;
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-test-script-state']});
"""


class RecordingPage:
    """A Playwright page plus every request it made that left the machine, and a count of script runs."""

    def __init__(self, page):
        self.page = page
        self.offsite_requests: list[str] = []
        self._runs_waited_for = 0
        page.on("request", self._record)
        page.add_init_script(COUNT_RUNS_SCRIPT)

    def _record(self, request) -> None:
        if not is_loopback_url(request.url):
            self.offsite_requests.append(request.url)

    def runs(self) -> int:
        from playwright.sync_api import Error as PlaywrightError

        for attempt in range(3):
            try:
                return int(self.page.evaluate("window.__streamlitRuns || 0"))
            except PlaywrightError as error:  # the page navigated meanwhile (the app reloads once to adopt an id)
                if "context was destroyed" not in str(error) or attempt == 2:
                    raise
                self.page.wait_for_load_state()
        raise AssertionError("unreachable")

    def wait_until_idle(self, timeout_ms: int = 120_000, start_within_ms: int = 3_000) -> None:
        """Wait for the run the last action started (if one starts within ``start_within_ms``) to finish.

        A new page load resets the count; either way we wait until a run newer than the last one
        waited for has started, then until the app reports it is not running.
        """
        self.page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
        if self.runs() < self._runs_waited_for:  # a new document: counting restarted
            self._runs_waited_for = 0
        from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

        with contextlib.suppress(PlaywrightTimeoutError):  # no run started: the action did not need one
            self.page.wait_for_function(
                f"() => (window.__streamlitRuns || 0) > {self._runs_waited_for}", timeout=start_within_ms
            )
        self.page.wait_for_selector(
            '[data-testid="stApp"]:not([data-test-script-state="running"])', timeout=timeout_ms
        )
        self.page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=timeout_ms)
        self._runs_waited_for = self.runs()


@pytest.fixture
def browser_page(chromium_browser):
    """A fresh browser page (1400 x 1000) recording requests; fails the test on any off-machine request."""
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})
    recording = RecordingPage(context.new_page())
    yield recording
    context.close()
    assert recording.offsite_requests == [], f"requests left the machine: {recording.offsite_requests[:5]}"


SCREENSHOT_DIR = REPO / "artifacts" / "screenshots"


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR


@pytest.fixture(scope="session", params=sorted(__import__("tests.model_folders").model_folders.OTHER_MODELS))
def other_model_dir(request, tmp_path_factory) -> Path:
    """A random BERT-family model folder of another shape (one per parameter), built once per session."""
    from tests.model_folders import build_model_folder

    return build_model_folder(tmp_path_factory.getbasetemp() / "models", request.param)
