"""The served app: streamlit_app.py, with the model and classifiers loaded at server start-up.

    streamlit run app_server.py        (what `make run`, the tests and deploy/ start)

Streamlit runs a page script only when a browser connects, so a plain `streamlit run
streamlit_app.py` makes its first visitor wait for the model and each page's first computations.
Here the st.App lifespan starts the warm-up as soon as the server is up (ui/warm_up.py: the loads
in a thread, then one visit of every page inside the server); it accepts connections at once, and
a page opened during the warm-up waits for the same single load.

The page shell also tells Streamlit's front end where the server is (ui/page_shell.py).
"""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import streamlit as st
from starlette.middleware import Middleware
from starlette.routing import Route

from ui.page_shell import HINT_PATH, ServerAddressHint, server_address


@asynccontextmanager
async def _warm_at_start(app):
    from ui.warm_up import warm_up_then_visit

    task = asyncio.create_task(warm_up_then_visit())  # the server accepts connections meanwhile
    yield
    task.cancel()


app = st.App("streamlit_app.py", lifespan=_warm_at_start, routes=[Route(HINT_PATH, server_address)],
             middleware=[Middleware(ServerAddressHint)])
