"""A Streamlit client without a browser: Streamlit's own websocket protocol, spoken from asyncio.

Many of these fit in one Python process (a few MiB and a little CPU each), so a benchmark can
simulate a class of students without starting one browser per student. It mirrors what the front
end of the installed Streamlit (1.67) does, read from its code and from a recorded Chromium session:

- HTTP first: the page itself, ``/_stcore/health`` (which sets the ``_streamlit_xsrf`` cookie) and
  ``/_stcore/host-config``, with one cookie jar per client (so a proxy's cookies, e.g. nginx's
  sticky ``lesson_replica``, are kept and sent back);
- the websocket ``/_stcore/stream`` with subprotocols ``["streamlit", <xsrf cookie>]``, the page's
  Origin and the jar's cookies; no client pings (browsers send none);
- a ``BackMsg.rerun_script`` per interaction: the first names the page by its path (``page_name``),
  later ones by ``page_script_hash``; a widget change sends the states of every widget the front
  end knows (initial values taken from the element protos as each widget component does, then the
  changed one); a page change sends only the main script's widgets (the sidebar) and no query
  string; the query string follows the server's ``page_info_changed``; the forward-message cache
  is kept and its hashes are sent (``cached_message_hashes``), so the server sends references to
  big elements as it would to a browser;
- a run is over at ``script_finished`` with any status but ``FINISHED_EARLY_FOR_RERUN`` (an
  ``st.rerun()`` inside the app continues the same interaction).

Fragments with ``run_every`` (``auto_rerun``) are re-run on their interval while the client is
idle, as the front end does. Not mirrored: static assets (JS/CSS/fonts, cached by a browser after
the first visit), heartbeats, widgets bound to query parameters, file uploads, chart selections.
"""
from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin, Subprotocol

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) streamlit-protocol-client (bench)"
XSRF_COOKIE = "_streamlit_xsrf"
FINISHED = ForwardMsg.ScriptFinishedStatus
MAIN, SIDEBAR = 0, 1  # root containers in a delta path

# Outcomes of one interaction (Run.outcome)
OK, EXCEPTION, TIMEOUT, DISCONNECT, PAGE_NOT_FOUND, COMPILE_ERROR, CLIENT_ERROR = (
    "ok", "exception", "timeout", "disconnect", "page not found", "compile error", "client error")


@dataclass
class Run:
    """One interaction: a BackMsg sent, the ForwardMsgs until its script_finished."""

    seconds: float
    outcome: str = OK
    exceptions: list[str] = field(default_factory=list)  # exception elements drawn (type: message)
    error_boxes: list[str] = field(default_factory=list)  # st.error alerts drawn (not counted as errors)
    messages: int = 0
    bytes: int = 0
    reruns_inside: int = 0  # runs that ended FINISHED_EARLY_FOR_RERUN (an st.rerun() in the app)

    @property
    def failed(self) -> bool:
        return self.outcome != OK


@dataclass
class Widget:
    id: str
    kind: str  # the element's oneof name: slider, selectbox, ...
    label: str
    element: Any  # the widget's proto (e.g. Slider)
    script_hash: str  # active_script_hash of the delta: the main script's or the page's

    @property
    def key(self) -> str | None:
        """The user key of a keyed widget ("$$ID-<hash>-<key>"), else None."""
        parts = self.id.split("-", 2)
        return parts[2] if len(parts) == 3 and parts[0] == "$$ID" and parts[2] != "None" else None


class ProtocolError(RuntimeError):
    pass


# --------------------------------------------------------------------------- widget values
# What each widget component of the front end puts into its WidgetState when it is drawn:
# getDefaultStateFromProto for a widget it does not know yet, getCurrStateFromProto when the
# server sets the value (set_value). Buttons, charts, tables, uploads and chat inputs create a
# state only on a user action, so they are not tracked.


def _has(message: Any, name: str) -> bool:
    try:
        return bool(message.HasField(name))
    except ValueError:  # a non-optional scalar: always "present"
        return True


def _button_content(option: Any) -> str:
    icon, content = option.content_icon, option.content or ""
    return f"{icon} {content}".strip() if icon else content


def _widget_value(kind: str, element: Any, current: bool) -> tuple[str, Any] | None:
    """(WidgetState field, value or None for "no value") for a tracked widget kind, else None."""
    if kind == "checkbox":
        return "bool_value", element.value if current else element.default
    if kind in ("radio", "selectbox"):
        if current:
            return "string_value", element.raw_value if _has(element, "raw_value") else None
        has_default = _has(element, "default") and len(element.options) > 0
        return "string_value", element.options[element.default] if has_default else None
    if kind == "multiselect":
        return "string_array_value", list(element.raw_values) if current else [
            element.options[i] for i in element.default]
    if kind == "slider":
        if element.type == element.Type.SELECT_SLIDER:
            if current and len(element.raw_value):
                return "string_array_value", list(element.raw_value)
            return "string_array_value", [element.options[int(i)] for i in element.default]
        return "double_array_value", list(element.value) if current else list(element.default)
    if kind in ("text_input", "text_area", "color_picker", "time_input"):
        name = "value" if current else "default"
        return "string_value", getattr(element, name) if _has(element, name) else None
    if kind in ("date_input", "date_time_input"):
        return "string_array_value", list(element.value if current else element.default)
    if kind == "number_input":
        as_int = element.data_type == element.DataType.INT
        number: Any = None
        if current and _has(element, "value"):
            number = element.value
        elif _has(element, "default"):
            number = element.default
        if number is None:
            return ("int_value" if as_int else "double_value"), None
        return ("int_value", int(number)) if as_int else ("double_value", float(number))
    if kind == "button_group":
        if current:
            return "string_array_value", list(element.raw_values)
        return "string_array_value", [_button_content(element.options[i]) for i in element.default
                                      if 0 <= i < len(element.options)]
    return None


def _state(widget_id: str, value_field: str, value: Any) -> WidgetState:
    state = WidgetState(id=widget_id)
    if value is None:
        return state  # the front end sends a widget without a value as its id alone
    if value_field in ("double_array_value", "string_array_value", "int_array_value"):
        getattr(state, value_field).data.extend(value)
    else:
        setattr(state, value_field, value)
    return state


# --------------------------------------------------------------------------- the client


class StreamlitClient:
    """One simulated browser tab. ``await client.open("/")`` (or ``connect`` then ``load``),
    ``await client.goto("formula")``, ``await client.set_widget(client.widget(label="Layer"), [4])``,
    ``await client.close()``; each interaction returns a Run."""

    def __init__(self, base_url: str, *, timeout: float = 120.0, locale: str = "en-US",
                 on_auto_rerun: Callable[[Run], None] | None = None) -> None:
        parts = urlsplit(base_url.rstrip("/"))
        self.base = f"{parts.scheme}://{parts.netloc}"
        self.origin = self.base
        self.timeout = timeout
        self.locale = locale
        self.on_auto_rerun = on_auto_rerun
        self.cookies = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies),
                                                   urllib.request.ProxyHandler({}))
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task | None = None
        self._auto: dict[str, asyncio.Task] = {}
        self._lock = asyncio.Lock()  # one interaction at a time, as in one tab
        # front-end state
        self.path = "/"
        self.query_string = ""
        self.page_script_hash = ""
        self.main_script_hash = ""
        self.pages: dict[str, str] = {}  # url_pathname -> page_script_hash
        self.widgets: dict[str, Widget] = {}  # what the front end shows now
        self.states: dict[str, WidgetState] = {}  # the front end's widget manager
        self._cache: dict[str, tuple[bytes, int, str]] = {}  # hash -> (message, run count, fragment)
        self._run_count = 0
        self._max_cached_age = 2
        self._received_new_session = False
        # the interaction in flight
        self._pending: asyncio.Future[Run] | None = None
        self._current: Run | None = None
        self._run_widgets: set[str] = set()
        self._run_fragment = ""
        self.closed_reason: str | None = None
        self.connect_seconds = 0.0

    # ----------------------------------------------------------------- connecting

    def _get(self, path: str) -> int:
        request = urllib.request.Request(self.base + path, headers={"User-Agent": USER_AGENT})
        with self._opener.open(request, timeout=self.timeout) as response:
            response.read()
            return int(response.status)

    def cookie_value(self, name: str) -> str | None:
        return next((cookie.value for cookie in self.cookies if cookie.name == name), None)

    def _cookie_header(self) -> str:
        request = urllib.request.Request(self.base + "/_stcore/stream")
        self.cookies.add_cookie_header(request)
        return request.get_header("Cookie") or ""

    async def connect(self, path: str = "/") -> float:
        """The page's HTTP requests, then the websocket; seconds taken. No script runs yet."""
        start = time.perf_counter()
        self.path, _, self.query_string = path.partition("?")
        for url in (path, "/_stcore/health", "/_stcore/host-config"):
            await asyncio.to_thread(self._get, url)
        headers = {"Cookie": self._cookie_header(), "Cache-Control": "no-cache", "Pragma": "no-cache",
                   "Accept-Language": f"{self.locale},en;q=0.9"}
        token = self.cookie_value(XSRF_COOKIE) or "PLACEHOLDER_AUTH_TOKEN"
        ws_url = self.base.replace("http", "ws", 1) + "/_stcore/stream"
        self._ws = await connect(
            ws_url, origin=Origin(self.origin), subprotocols=[Subprotocol("streamlit"), Subprotocol(token)],
            additional_headers=headers,
            user_agent_header=USER_AGENT, proxy=None, open_timeout=self.timeout, ping_interval=None,
            max_size=None, max_queue=None)
        self._reader = asyncio.create_task(self._read())
        self.connect_seconds = time.perf_counter() - start
        return self.connect_seconds

    async def close(self) -> None:
        for task in self._auto.values():
            task.cancel()
        self._auto.clear()
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), 10)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader

    # ----------------------------------------------------------------- interactions

    async def open(self, path: str = "/") -> Run:
        """Open a URL in a new tab: connect, then the first rerun, which names the page by its path."""
        await self.connect(path)
        return await self.load()

    async def load(self) -> Run:
        """The first rerun after connecting: the page named by its path, no widget states yet."""
        return await self._rerun(page_name=self.path.strip("/"), page_script_hash="",
                                 query_string=self.query_string, states=[])

    async def goto(self, url_pathname: str) -> Run:
        """Click a page in the navigation."""
        target = self.pages.get(url_pathname.strip("/"))
        if target is None:
            raise ProtocolError(f"no page {url_pathname!r} in the navigation: {sorted(self.pages)}")
        self._stop_auto_reruns()
        kept = [self.states[w.id] for w in self.widgets.values()
                if w.script_hash == self.main_script_hash and w.id in self.states]
        self.path, self.query_string = "/" + url_pathname.strip("/"), ""
        return await self._rerun(page_name="", page_script_hash=target, query_string="", states=kept)

    def widget(self, *, label: str | None = None, key: str | None = None) -> Widget:
        for widget in self.widgets.values():
            if (key is not None and widget.key == key) or (label is not None and widget.label == label):
                return widget
        raise ProtocolError(f"no widget with label={label!r} key={key!r}; shown: "
                            f"{[(w.kind, w.label, w.key) for w in self.widgets.values()]}")

    def value(self, widget: Widget) -> Any:
        state = self.states[widget.id]
        kind = state.WhichOneof("value")
        if kind is None:
            return None
        value = getattr(state, kind)
        return list(value.data) if hasattr(value, "data") else value

    async def set_widget(self, widget: Widget, value: Any) -> Run:
        """The learner changes one widget: its new state, then a rerun with every widget's state."""
        described = _widget_value(widget.kind, widget.element, current=False)
        if described is None:
            raise ProtocolError(f"setting a {widget.kind} is not supported")
        self.states[widget.id] = _state(widget.id, described[0], value)
        return await self._rerun(page_name="", page_script_hash=self.page_script_hash,
                                 query_string=self.query_string, states=list(self.states.values()))

    async def _rerun(self, *, page_name: str, page_script_hash: str, query_string: str,
                     states: list[WidgetState], fragment_id: str = "", auto: bool = False) -> Run:
        async with self._lock:
            if self._ws is None or self.closed_reason is not None:
                return Run(0.0, DISCONNECT, exceptions=[self.closed_reason or "not connected"])
            client_state = ClientState(
                query_string=query_string, page_script_hash=page_script_hash, page_name=page_name,
                fragment_id=fragment_id, is_auto_rerun=auto, widget_states=WidgetStates(widgets=states),
                cached_message_hashes=list(self._cache))
            info = client_state.context_info
            info.timezone, info.timezone_offset, info.locale = "UTC", 0, self.locale
            info.url, info.is_embedded, info.color_scheme = self.base + self.path, False, "light"
            message = BackMsg(rerun_script=client_state)
            loop = asyncio.get_running_loop()
            self._pending = loop.create_future()
            self._received_new_session = False
            start = time.perf_counter()
            self._current = Run(0.0)
            try:
                await self._ws.send(message.SerializeToString())
                run = await asyncio.wait_for(asyncio.shield(self._pending), self.timeout)
            except TimeoutError:
                run = self._current
                run.outcome = TIMEOUT
            except ConnectionClosed as error:
                run = self._current
                run.outcome, self.closed_reason = DISCONNECT, f"closed: {error}"
            run.seconds = time.perf_counter() - start
            self._pending, self._current = None, None
            return run

    # ----------------------------------------------------------------- auto reruns (st.fragment(run_every=...))

    def _stop_auto_reruns(self) -> None:
        for task in self._auto.values():
            task.cancel()
        self._auto.clear()

    async def _auto_rerun(self, fragment_id: str, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            run = await self._rerun(page_name="", page_script_hash=self.page_script_hash,
                                    query_string=self.query_string, states=list(self.states.values()),
                                    fragment_id=fragment_id, auto=True)
            if self.on_auto_rerun is not None:
                self.on_auto_rerun(run)
            if run.outcome in (DISCONNECT, TIMEOUT, CLIENT_ERROR):
                return

    # ----------------------------------------------------------------- receiving

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for raw in self._ws:
                data = raw if isinstance(raw, bytes) else raw.encode()
                message = ForwardMsg()
                message.ParseFromString(data)
                if self._current is not None:
                    self._current.messages += 1
                    self._current.bytes += len(data)
                self._handle(self._resolve(message, data))
            self.closed_reason = self.closed_reason or "closed by the server"
        except ConnectionClosed as error:
            self.closed_reason = f"closed: {error}"
        except Exception as error:  # a bug here must end the interaction, not hang it
            self.closed_reason = f"{CLIENT_ERROR}: {type(error).__name__}: {error}"
        if self._pending is not None and not self._pending.done():
            run = self._current or Run(0.0)
            run.outcome = CLIENT_ERROR if self.closed_reason.startswith(CLIENT_ERROR) else DISCONNECT
            run.exceptions.append(self.closed_reason or "")
            self._pending.set_result(run)

    def _resolve(self, message: ForwardMsg, data: bytes) -> ForwardMsg:
        """The forward-message cache: keep big cacheable messages, replace references by them."""
        kind = message.WhichOneof("type")
        if kind != "ref_hash":
            if message.metadata.cacheable and message.hash and message.hash not in self._cache:
                fragment = message.delta.fragment_id if kind == "delta" else ""
                self._cache[message.hash] = (data, self._run_count, fragment)
            elif message.hash in self._cache:
                data_, _, fragment = self._cache[message.hash]
                self._cache[message.hash] = (data_, self._run_count, fragment)
            return message
        cached = self._cache.get(message.ref_hash)
        if cached is None:
            raise ProtocolError(f"cached ForwardMsg miss: {message.ref_hash}")
        self._cache[message.ref_hash] = (cached[0], self._run_count, cached[2])
        resolved = ForwardMsg()
        resolved.ParseFromString(cached[0])
        resolved.metadata.CopyFrom(message.metadata)
        return resolved

    def _age_cache(self, fragment_ids: list[str]) -> None:
        self._run_count += 1
        for key, (_, count, fragment) in list(self._cache.items()):
            if fragment_ids and (not fragment or fragment not in fragment_ids):
                continue
            if self._run_count - count > self._max_cached_age:
                del self._cache[key]

    def _handle(self, message: ForwardMsg) -> None:
        kind = message.WhichOneof("type")
        if kind == "new_session":
            session = message.new_session
            self._received_new_session = True
            self._max_cached_age = session.config.max_cached_message_age or self._max_cached_age
            self.main_script_hash = session.main_script_hash
            if session.page_script_hash:
                self.page_script_hash = session.page_script_hash
            self._run_widgets = set()
            self._run_fragment = ""
            for page in session.app_pages:
                self.pages.setdefault(page.url_pathname, page.page_script_hash)
        elif kind == "navigation":
            self.pages = {page.url_pathname: page.page_script_hash for page in message.navigation.app_pages}
            if message.navigation.page_script_hash:
                self.page_script_hash = message.navigation.page_script_hash
        elif kind == "page_info_changed":
            self.query_string = message.page_info_changed.query_string
        elif kind == "page_not_found":
            if self._current is not None:
                self._current.outcome = PAGE_NOT_FOUND
        elif kind == "delta":
            self._delta(message)
        elif kind == "auto_rerun":
            fragment, interval = message.auto_rerun.fragment_id, message.auto_rerun.interval
            if fragment not in self._auto and interval > 0:
                self._auto[fragment] = asyncio.create_task(self._auto_rerun(fragment, interval))
        elif kind == "stop_auto_rerun":
            self._stop_auto_reruns()
        elif kind == "script_finished":
            self._finished(message.script_finished)

    def _delta(self, message: ForwardMsg) -> None:
        delta = message.delta
        if delta.fragment_id:
            self._run_fragment = delta.fragment_id
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        if kind is None:
            return
        if kind == "exception" and self._current is not None:
            self._current.exceptions.append(f"{element.exception.type}: {element.exception.message}"[:300])
            return
        if kind == "alert" and element.alert.format == element.alert.ERROR and self._current is not None:
            self._current.error_boxes.append(element.alert.body[:200])
            return
        proto = getattr(element, kind)
        widget_id = proto.id if "id" in proto.DESCRIPTOR.fields_by_name else ""
        if not widget_id:
            return
        described = _widget_value(kind, proto, current=False)
        if described is None:
            return  # created only by a user action (buttons, charts...)
        widget = Widget(widget_id, kind, getattr(proto, "label", ""), proto, message.metadata.active_script_hash)
        self.widgets[widget_id] = widget
        self._run_widgets.add(widget_id)
        if widget_id not in self.states:
            self.states[widget_id] = _state(widget_id, *described)
        if getattr(proto, "set_value", False):
            current = _widget_value(kind, proto, current=True)
            assert current is not None
            self.states[widget_id] = _state(widget_id, *current)

    def _finished(self, status: int) -> None:
        run = self._current
        if status == FINISHED.FINISHED_EARLY_FOR_RERUN:
            if run is not None:
                run.reruns_inside += 1
            return  # the app called st.rerun(): the same interaction goes on
        if status in (FINISHED.FINISHED_SUCCESSFULLY, FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY):
            if status == FINISHED.FINISHED_SUCCESSFULLY:
                # the front end drops the widgets the last full run did not draw
                self.widgets = {k: w for k, w in self.widgets.items() if k in self._run_widgets}
                self.states = {k: s for k, s in self.states.items() if k in self._run_widgets}
            if self._received_new_session:
                self._age_cache([self._run_fragment] if status == FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
                                and self._run_fragment else [])
        elif run is not None:
            run.outcome = COMPILE_ERROR
        if run is not None and run.exceptions and run.outcome == OK:
            run.outcome = EXCEPTION
        if self._pending is not None and not self._pending.done() and run is not None:
            self._pending.set_result(run)
