"""What the served page shell gets on its way out: a hint to Streamlit's front end of where the server is.

app_server.py mounts ``server_address`` at ``HINT_PATH`` and wraps the app in ``ServerAddressHint``.
"""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

HINT_PATH = "/lesson-server-address.js"


def _base_path() -> str:
    """server.baseUrlPath as "/lesson" (or "" at the root)."""
    import streamlit as st

    path = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{path}" if path else ""


async def server_address(request: Request) -> Response:
    # window.__streamlit.BACKEND_BASE_URL, read by Streamlit's front end as it starts: without it, a page
    # opened by its own URL (/head_explorer) first asks /head_explorer/_stcore/health, gets a 404 and
    # waits 100 ms before trying the server's root (measured: ~125 ms of every such page load).
    script = ("window.__streamlit = Object.assign({}, window.__streamlit, "
              f"{{BACKEND_BASE_URL: new URL({(_base_path() + '/')!r}, window.location.origin).href}});\n")
    return Response(script, media_type="text/javascript", headers={"Cache-Control": "max-age=3600"})


class ServerAddressHint:
    """Adds <script src=HINT_PATH> to the page shell Streamlit serves (any text/html response).

    An external script, so the class proxy's Content-Security-Policy (script-src 'self') allows it.
    If a later Streamlit stops reading the hint, pages connect as they did before, only slower.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        accept = dict(scope.get("headers") or []).get(b"accept", b"")
        if scope["type"] != "http" or scope["method"] != "GET" or b"text/html" not in accept:
            await self.app(scope, receive, send)  # scripts, styles, data: untouched (and still compressed)
            return
        # a page load: ask for the shell (2 KB) uncompressed, so it can be edited on its way out
        scope = dict(scope, headers=[(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"])
        start: dict = {}  # the response's start message, held back until its body is edited
        body: list[bytes] = []

        async def capture(message) -> None:
            if message["type"] == "http.response.start":
                if dict(message["headers"]).get(b"content-type", b"").startswith(b"text/html"):
                    start.update(message)
                else:
                    await send(message)
                return
            if not start:  # not a page shell: pass it on as it is
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            tag = f'<script src="{_base_path()}{HINT_PATH}"></script>'.encode()
            page = b"".join(body).replace(b"<head>", b"<head>" + tag, 1)
            kept = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            kept.append((b"content-length", str(len(page)).encode()))
            await send({"type": "http.response.start", "status": start["status"], "headers": kept})
            await send({"type": "http.response.body", "body": page})

        await self.app(scope, receive, capture)
