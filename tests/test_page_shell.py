"""The page shell's server-address hint (ui/page_shell.py): added to pages, nothing else touched,
and in a real browser a page opened by its own URL connects without probing that URL first."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from ui.page_shell import HINT_PATH, ServerAddressHint, server_address

SHELL = b"<!DOCTYPE html><html><head><title>x</title></head><body></body></html>"


def run(coroutine):
    """asyncio.run on a thread of its own (Playwright's sync API may own this thread's event loop)."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def serve(app, path: str = "/head_explorer", accept: bytes = b"text/html,application/xhtml+xml"):
    """Run one GET through ServerAddressHint(app); returns (headers the app saw, status, headers, body)."""
    seen: dict = {}
    sent: list[dict] = []

    async def inner(scope, receive, send):
        seen.update(dict(scope["headers"]))
        await app(send)

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path,
             "headers": [(b"accept", accept), (b"accept-encoding", b"gzip, br")]}
    run(ServerAddressHint(inner)(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return seen, start["status"], dict(start["headers"]), body


def responder(content_type: bytes, chunks: list[bytes], status: int = 200):
    async def app(send):
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", content_type), (b"content-length", str(sum(map(len, chunks))).encode())]})
        for index, chunk in enumerate(chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": index < len(chunks) - 1})
    return app


def test_a_page_gets_the_hint_first_in_its_head_and_a_correct_length():
    seen, status, headers, body = serve(responder(b"text/html; charset=utf-8", [SHELL[:20], SHELL[20:]]))
    assert b"accept-encoding" not in seen  # asked for uncompressed, so it can be edited
    expected = SHELL.replace(b"<head>", b'<head><script src="/lesson-server-address.js"></script>')
    assert status == 200 and body == expected
    assert headers[b"content-length"] == str(len(expected)).encode()


@pytest.mark.parametrize("accept, content_type", [(b"*/*", b"text/html"), (b"text/html", b"application/json")])
def test_everything_else_passes_untouched(accept, content_type):
    seen, status, headers, body = serve(responder(content_type, [b"{}", b"[1]"], status=404), accept=accept)
    assert body == b"{}[1]" and status == 404 and headers[b"content-length"] == b"5"
    if accept == b"*/*":  # scripts and styles keep their compression
        assert seen[b"accept-encoding"] == b"gzip, br"


@pytest.mark.parametrize("base, expected", [("", "'/'"), ("lesson", "'/lesson/'"), ("/a/b/", "'/a/b/'")])
def test_the_hint_names_the_servers_base_path(base, expected):
    from streamlit import config

    before = config.get_option("server.baseUrlPath")
    config.set_option("server.baseUrlPath", base)
    try:
        response = run(server_address(None))  # type: ignore[arg-type]
    finally:
        config.set_option("server.baseUrlPath", before)
    assert response.body.decode() == (
        "window.__streamlit = Object.assign({}, window.__streamlit, "
        f"{{BACKEND_BASE_URL: new URL({expected}, window.location.origin).href}});\n")
    assert response.media_type == "text/javascript"


def test_a_page_opened_by_its_url_connects_without_probing_that_url(streamlit_server, browser_page):
    page = browser_page.page
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{streamlit_server}/head_explorer")
    page.get_by_role("heading", name="What heads look at").wait_for(timeout=180_000)
    browser_page.wait_until_idle()
    assert f"{streamlit_server}{HINT_PATH}" in requested
    assert page.evaluate("window.__streamlit.BACKEND_BASE_URL") == f"{streamlit_server}/"
    assert [url for url in requested if "/head_explorer/_stcore/" in url] == []
    assert f"{streamlit_server}/_stcore/host-config" in requested
