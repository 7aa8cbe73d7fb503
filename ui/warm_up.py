"""Loading what every page needs before the first student arrives (run by app_server.py at start-up).

Everything goes through the same st.cache_resource loaders and shared caches the pages use, so a
page opened while the warm-up is still running waits for the one load in progress instead of
starting another. Then every page is visited once (``visit_every_page``).
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from ui.learner_progress import COOKIE_NAME as LEARNER_COOKIE

log = logging.getLogger("lesson.warm_up")
PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"
FIRST_SENTENCE = "The animal didn't cross the street because it was too tired."  # the pages' first probe


def warm_up() -> float:
    """Load the model, the classifier head and the BiLSTMs, analyse the first probe, compile the
    max-flow code and run the lab's default sentence; seconds taken."""
    # Outside a session the cache decorators warn that no script is running; that is expected here.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    start = time.perf_counter()
    from ui import models

    try:
        loaded = models._load_cached_model(models.configured_model_setting())
    except Exception:
        log.exception("warm-up: the model could not be loaded; pages will say why")
        return time.perf_counter() - start
    try:
        import numpy as np

        from lessonkit.analysis import analyse_sentence
        from lessonkit.attention_flow import attention_flow
        from lessonkit.transformer_classifier import head_mismatch

        key = (loaded.facts.source, FIRST_SENTENCE, None)  # the key ui.models.analyse uses
        models._sentence_cache().get_or_compute(key, lambda: analyse_sentence(loaded, FIRST_SENTENCE))
        attention_flow(np.full((2, 3, 3), 1 / 3))  # compiles (or loads) the max-flow code once per process
        head = models._shipped_head(models._file_key(models.HEAD_FILE))
        if head_mismatch(head, loaded.facts) is not None:
            head = models._quick_head(loaded, loaded.facts.source)
        for name in models.BILSTM_FILES:
            models.get_bilstm(name, show_error=False)  # on the shipped MiniLM's embeddings, whatever the model
        # The lab's default sentence with the transformer (last layer, every head): the page opens on the
        # BiLSTM, which the page visits below compute; a class switching over at once reads one result.
        from ui import jain_wallace_lab as lab

        lab.run_transformer_lab(loaded, head, lab.DEFAULT_TEXT, loaded.facts.n_layers - 1,
                                tuple(range(loaded.facts.n_heads)))
    except Exception:  # a missing or damaged file: the page that needs it says which
        log.exception("warm-up: something optional could not be loaded")
    seconds = time.perf_counter() - start
    log.warning("warm-up done in %.1f s", seconds)  # warning: shown at Streamlit's default log level
    return seconds


# ---------------------------------------------------------------------------- every page, once
# After the loads above, the server opens each of its pages once in a session of its own, inside
# the running Streamlit (no browser, no socket): whatever a page computes on its first visit (its
# default sentence's gradients, the fine-tuned model, the results files, first imports) is done
# before a student asks for it. The visits carry one fixed learner id, so they share one progress row.
WARM_UP_LEARNER = "0" * 32
PAGE_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class _VisitContext:
    """What st.context sees in a warm-up visit (ClientContext of streamlit.runtime.session_manager)."""

    headers: tuple[tuple[str, str], ...] = ()
    cookies: Mapping[str, str] = field(default_factory=lambda: {LEARNER_COOKIE: WARM_UP_LEARNER})
    remote_ip: str | None = "127.0.0.1"


class _PageVisitor:
    """A SessionClient that only listens for the end of its run and for exceptions drawn."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.finished = asyncio.Event()
        self.exceptions: list[str] = []
        self.client_context = _VisitContext()

    def write_forward_msg(self, msg) -> None:  # called on Streamlit's threads
        if msg.HasField("delta") and msg.delta.HasField("new_element"):
            element = msg.delta.new_element
            if element.HasField("exception"):
                self.exceptions.append(f"{element.exception.type}: {element.exception.message}")
        if msg.HasField("script_finished") and msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
            self._loop.call_soon_threadsafe(self.finished.set)


def page_paths(pages_dir: Path = PAGES_DIR) -> list[str]:
    """Every page's URL path (streamlit_app.py names each page after its file)."""
    return sorted(p.stem for p in pages_dir.glob("*.py"))


async def visit_every_page(paths: list[str] | None = None) -> dict[str, tuple[float, list[str]]]:
    """Run each page once in a new session of the running server: {path: (seconds, exceptions)}.

    Must run on Streamlit's event loop (the Runtime's session calls are not thread-safe).
    """
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ClientState_pb2 import ClientState
    from streamlit.runtime import Runtime

    runtime = Runtime.instance()
    visited: dict[str, tuple[float, list[str]]] = {}
    for path in page_paths() if paths is None else paths:
        visitor = _PageVisitor(asyncio.get_running_loop())
        session = runtime.connect_session(client=visitor, user_info={})
        start = time.perf_counter()
        try:
            runtime.handle_backmsg(session, BackMsg(rerun_script=ClientState(page_name=path, query_string="")))
            await asyncio.wait_for(visitor.finished.wait(), PAGE_TIMEOUT_S)
            visited[path] = (time.perf_counter() - start, visitor.exceptions)
        except TimeoutError:
            visited[path] = (time.perf_counter() - start, [f"no end of run within {PAGE_TIMEOUT_S:.0f} s"])
        finally:
            runtime.close_session(session)
    for path, (_, exceptions) in visited.items():
        if exceptions:
            log.error("warm-up visit of /%s showed: %s", path, "; ".join(exceptions))
    log.warning("warm-up visited %d pages in %.1f s (%s)", len(visited), sum(s for s, _ in visited.values()),
                ", ".join(f"{p} {s:.1f} s" for p, (s, _) in visited.items()))
    return visited


async def warm_up_then_visit() -> None:
    """What app_server.py runs at start-up: the loads in a thread, then every page once."""
    await asyncio.to_thread(warm_up)
    try:
        await visit_every_page()
    except Exception:  # the server must come up even if a visit cannot be made
        log.exception("warm-up: the pages could not be visited; first visitors will wait for them")
