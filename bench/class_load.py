"""A class of simulated students at once: time per interaction on one replica or N behind nginx (a measurement).

    python -m bench.class_load [--students 10 20 40] [--replicas N] [--url URL] [--stagger S]
                               [--think S] [--linger S] [--own-sentence] [--timeout S] [--json PATH]
                               [--client ws|browser]

Each student (default ``--client ws``) is a bench.streamlit_client: Streamlit's own websocket
protocol from asyncio, all students in this one process, so the server gets the CPU instead of
one headless browser per student. A student walks the core path as a learner does: open home
(/), then the formula page, the head explorer (its default sentence), moves the Layer slider twice
(a widget rerun with every widget's state), opens the not-explanation page (its live lab runs on
opening), then the gradient, rollout/flow, uses, summary and quiz pages (navigation clicks).
Time per interaction = from sending the BackMsg until the ForwardMsg script_finished of that run
(the connection itself, HTTP + websocket handshake, is its own row; a timeout counts as the
timeout, a disconnect is not timed). An error is an exception
element in a delta, a disconnect, a timeout, a page not found or a failed connection; after a
disconnect, a timeout or a failed connection the student stops. ``--linger S`` keeps each student
S seconds on the quiz page, whose live-poll fragment re-runs every 3 s (st.fragment(run_every)).
Every page's caches for the default inputs are warm (one uncounted walk first); ``--own-sentence``
has each student type a sentence of their own into the explorer first, so the model runs for each.

Without --url and --replicas it starts ``streamlit run app_server.py`` on a free loopback port
(as the tests do). ``--replicas N`` starts deploy.class_server.ClassServer: a throwaway PostgreSQL,
N replicas and nginx on loopback; each student first GETs the page through nginx (the sticky
``lesson_replica`` cookie and the learner cookie) and sends those cookies, with the page's Origin,
in its websocket handshake. Server memory (RSS, sampled every 0.5 s: the peak and the value at the
end of each round) and CPU seconds are read from /proc for every replica.

``--client browser`` is the old mode: one headless Chromium per student (explorer, two layer
changes, the lab); the browsers share the server's cores, so it measures the browsers as much as
the server.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from deploy.class_server import ROUTE_COOKIE  # nginx's sticky route

REPO = Path(__file__).resolve().parent.parent
SENTENCE = "The animal didn't cross the street because it was too tired."
EXPLORER_KIND, LAB_KIND = "explorer: layer change", "lab: open (not_explanation)"
OWN_SENTENCE_KIND = "explorer: type own sentence"  # with --own-sentence, right after the explorer opens
LAYER, TYPE = None, "<type>"  # PATH steps that are not page openings
TARGETS = {EXPLORER_KIND: 1.0, LAB_KIND: 3.0}  # p95 limits, seconds (issue 12)
# The core path after the first page: (kind, page to open), (kind, LAYER) for a layer change.
PATH: list[tuple[str, str | None]] = [
    ("open formula", "formula"),
    ("open head_explorer", "head_explorer"),
    (EXPLORER_KIND, None),
    (EXPLORER_KIND, None),
    (LAB_KIND, "not_explanation"),
    ("open gradient_attention", "gradient_attention"),
    ("open rollout_flow", "rollout_flow"),
    ("open uses", "uses"),
    ("open summary", "summary"),
    ("open quiz", "quiz"),
]
KIND_ORDER = ["connect (HTTP + websocket)", "open home", "open formula", "open head_explorer", OWN_SENTENCE_KIND,
              *dict.fromkeys(kind for kind, _ in PATH), "quiz: live-poll auto-rerun"]


def own_sentence(index: int) -> str:
    """A sentence of the same shape as the default, different for every student (no cache shared)."""
    animals = ["animal", "horse", "dog", "cat", "fox", "goat", "cow", "bird"]
    places = ["street", "road", "river", "bridge", "field", "yard", "track"]
    states = ["tired", "scared", "slow", "old", "weak", "sleepy", "lazy"]
    return (f"The {animals[index % 8]} number {index} didn't cross the {places[index % 7]} because it was "
            f"too {states[index % 7]}.")


def student_path(own: bool) -> list[tuple[str, str | None]]:
    if not own:
        return PATH
    at = PATH.index(("open head_explorer", "head_explorer")) + 1
    return [*PATH[:at], (OWN_SENTENCE_KIND, TYPE), *PATH[at:]]


# --------------------------------------------------------------------------- server processes


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _app_version() -> str:
    """The repository's commit, with "+changes" when app files differ from it (others edit the same tree)."""
    import subprocess

    def git(*command: str) -> str:
        return subprocess.run(["git", *command], cwd=REPO, capture_output=True, text=True).stdout.strip()

    changed = git("status", "--porcelain", "--", "lessonkit", "ui", "pages", "streamlit_app.py", "app_server.py")
    return git("rev-parse", "--short", "HEAD") + ("+changes" if changed else "")


def _machine_busy_seconds() -> float:
    """CPU seconds all processes of this machine spent busy (not idle or waiting for I/O), from /proc/stat."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _server_pid(base: str) -> int | None:
    """The pid listening on the server's port (for its memory), from /proc/net/tcp."""
    port = int(base.rsplit(":", 1)[1])
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A":
            inodes.add(fields[9])
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(pid)
        except OSError:
            continue
    return None


class MemorySampler:
    """Peak RSS of each server process over a round, sampled in a thread every ``every`` seconds."""

    def __init__(self, pids: dict[str, int], every: float = 0.5) -> None:
        self.pids, self.every = pids, every
        self.peak = {name: 0.0 for name in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            for name, pid in self.pids.items():
                with contextlib.suppress(OSError):
                    self.peak[name] = max(self.peak[name], _rss_mib(pid))
            self._stop.wait(self.every)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


# --------------------------------------------------------------------------- results


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


@dataclass
class Round:
    students: int
    timings: dict[str, list[float]] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)  # {"student", "kind", "what", "detail"}
    not_reached: int = 0  # interactions skipped after a student stopped
    error_boxes: Counter = field(default_factory=Counter)  # st.error texts drawn (not errors of the run)
    replica_of_student: list[str] = field(default_factory=list)
    path_wall: float = 0.0  # until the last student finished the path
    wall: float = 0.0  # with --linger
    client_cpu: float = 0.0
    rss_end: dict[str, float] = field(default_factory=dict)
    rss_peak: dict[str, float] = field(default_factory=dict)
    rss_start: dict[str, float] = field(default_factory=dict)
    server_cpu: dict[str, float] = field(default_factory=dict)
    other_cpu: float = 0.0  # CPU seconds of everything else on the machine (another benchmark...) during the round
    load_average: tuple[float, float] = (0.0, 0.0)  # 1-min load average at the start and at the end

    def add(self, kind: str, seconds: float) -> None:
        self.timings.setdefault(kind, []).append(seconds)

    def stats(self) -> dict[str, dict[str, float]]:
        return {kind: {"n": len(values), "p50": statistics.median(values), "p95": _percentile(values, 95),
                       "max": max(values)}
                for kind, values in sorted(self.timings.items(), key=lambda item: _kind_rank(item[0]))}

    def meets_targets(self) -> bool:
        stats = self.stats()
        return not self.errors and all(kind in stats and stats[kind]["p95"] < limit for kind, limit in TARGETS.items())

    def as_json(self) -> dict:
        return {
            "students": self.students, "wall_s": round(self.wall, 2), "path_wall_s": round(self.path_wall, 2),
            "interactions": {kind: {k: round(v, 4) if isinstance(v, float) else v for k, v in s.items()}
                             for kind, s in self.stats().items()},
            "errors": len(self.errors), "errors_by_what": dict(Counter(e["what"] for e in self.errors)),
            "error_samples": self.errors[:20], "interactions_not_reached": self.not_reached,
            "error_boxes_shown": dict(self.error_boxes),
            "students_per_replica": dict(Counter(self.replica_of_student)),
            "rss_mib": {"start": _rounded(self.rss_start), "peak": _rounded(self.rss_peak), "end": _rounded(self.rss_end)},
            "server_cpu_s": _rounded(self.server_cpu), "client_cpu_s": round(self.client_cpu, 2),
            "other_processes_cpu_s": round(self.other_cpu, 1),
            "load_average_1min": {"start": self.load_average[0], "end": self.load_average[1]},
            "meets_targets": self.meets_targets(), "targets_p95_s": TARGETS,
        }


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {name: round(value, 1) for name, value in values.items()}


def _kind_rank(kind: str) -> int:
    return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)


# --------------------------------------------------------------------------- websocket students


async def _student(index: int, base: str, result: Round, delay: float, think: float, linger: float,
                   timeout: float, finished: list[float], round_start: float, own: bool) -> None:
    from bench.streamlit_client import CLIENT_ERROR, DISCONNECT, TIMEOUT, StreamlitClient

    def auto_rerun(run) -> None:
        result.add("quiz: live-poll auto-rerun", run.seconds)
        if run.failed:
            result.errors.append({"student": str(index), "kind": "quiz: live-poll auto-rerun", "what": run.outcome,
                                  "detail": "; ".join(run.exceptions)[:300]})

    await asyncio.sleep(delay)
    client = StreamlitClient(base, timeout=timeout, on_auto_rerun=auto_rerun)
    path = student_path(own)
    remaining = 1 + len(path)
    try:
        try:
            result.add("connect (HTTP + websocket)", await client.connect("/"))
        except Exception as error:
            result.errors.append({"student": str(index), "kind": "connect (HTTP + websocket)",
                                  "what": "connect failed", "detail": f"{type(error).__name__}: {error}"[:300]})
            result.not_reached += remaining
            return
        result.replica_of_student.append(client.cookie_value(ROUTE_COOKIE) or "-")
        steps: list[tuple[str, str | None]] = [("open home", ""), *path]
        for kind, page in steps:
            if page == "":
                run = await client.load()
            elif page == TYPE:
                run = await client.set_widget(client.widget(key="hx_text"), own_sentence(index))
            elif page is LAYER:
                layer = client.widget(label="Layer")
                current = client.value(layer)[0]
                maximum = layer.element.max
                run = await client.set_widget(layer, [current + 1 if current < maximum else current - 1])
            else:
                run = await client.goto(page)
            remaining -= 1
            if run.outcome not in (DISCONNECT, CLIENT_ERROR):  # a timeout counts at the timeout
                result.add(kind, run.seconds)
            result.error_boxes.update(run.error_boxes)
            if run.failed:
                result.errors.append({"student": str(index), "kind": kind, "what": run.outcome,
                                      "detail": "; ".join(run.exceptions)[:300]})
                if run.outcome in (DISCONNECT, TIMEOUT, CLIENT_ERROR):
                    result.not_reached += remaining
                    return
            if think:
                await asyncio.sleep(think)
        finished.append(time.perf_counter() - round_start)
        if linger:
            await asyncio.sleep(linger)
    except Exception as error:  # a bug in the student script is a result too, not a crash of the round
        result.errors.append({"student": str(index), "kind": "-", "what": "client error",
                              "detail": f"{type(error).__name__}: {error}"[:300]})
        result.not_reached += remaining
    finally:
        await client.close()


async def _ws_round(base: str, result: Round, stagger: float, think: float, linger: float, timeout: float,
                    own: bool = False, first_index: int = 0) -> None:
    n = result.students
    finished: list[float] = []
    start = time.perf_counter()
    await asyncio.gather(*(
        _student(first_index + i, base, result, stagger * i / n if n > 1 else 0.0, think, linger, timeout, finished,
                 start, own)
        for i in range(n)))
    result.wall = time.perf_counter() - start
    result.path_wall = max(finished, default=result.wall)


# --------------------------------------------------------------------------- browser students (old mode)


def _settle(page, timeout_ms: int = 300_000) -> None:
    page.wait_for_timeout(150)  # let the rerun start
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=timeout_ms)


def _browser_student(base: str, result: Round, lock: threading.Lock) -> None:
    from urllib.parse import quote

    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:  # Playwright's sync API is per thread: one browser per student
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        try:
            start = time.perf_counter()
            page.goto(f"{base}/head_explorer?text={quote(SENTENCE)}")
            page.wait_for_selector('[data-lk="head-view"] canvas', timeout=300_000)  # ui/charts/head_view.js
            _settle(page)
            record = [("open head_explorer", time.perf_counter() - start)]
            slider = page.locator('[data-testid="stSlider"]').filter(has_text="Layer").get_by_role("slider").first
            for _ in range(2):
                start = time.perf_counter()
                slider.focus()
                slider.press("ArrowRight")
                _settle(page)
                record.append((EXPLORER_KIND, time.perf_counter() - start))
            start = time.perf_counter()
            page.goto(f"{base}/not_explanation")
            page.wait_for_selector("h1", timeout=300_000)
            _settle(page)
            record.append((LAB_KIND, time.perf_counter() - start))
            with lock:
                for kind, seconds in record:
                    result.add(kind, seconds)
                if page.locator('[data-testid="stException"]').count():
                    result.errors.append({"student": "-", "kind": LAB_KIND, "what": "exception", "detail": ""})
        except Exception as error:  # a timeout is a result here, not a crash of the benchmark
            with lock:
                result.errors.append({"student": "-", "kind": "-", "what": type(error).__name__,
                                      "detail": str(error)[:200]})
        finally:
            browser.close()


def _browser_round(base: str, result: Round) -> None:
    lock = threading.Lock()
    threads = [threading.Thread(target=_browser_student, args=(base, result, lock)) for _ in range(result.students)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.wall = result.path_wall = time.perf_counter() - start


# --------------------------------------------------------------------------- rounds


def run_round(base: str, n: int, pids: dict[str, int], args: argparse.Namespace) -> Round:
    result = Round(n)
    result.rss_start = {name: _rss_mib(pid) for name, pid in pids.items()}
    cpu_before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
    client_cpu = time.process_time()
    machine_busy = _machine_busy_seconds()
    load_start = os.getloadavg()[0]
    with MemorySampler(pids) as sampler:
        if args.client == "browser":
            _browser_round(base, result)
        else:
            asyncio.run(_ws_round(base, result, args.stagger, args.think, args.linger, args.timeout,
                                  args.own_sentence, first_index=args.students_so_far))
            args.students_so_far += n
    result.client_cpu = time.process_time() - client_cpu
    result.server_cpu = {name: _cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
    result.other_cpu = (_machine_busy_seconds() - machine_busy) - result.client_cpu - sum(result.server_cpu.values())
    result.load_average = (round(load_start, 2), round(os.getloadavg()[0], 2))
    result.rss_end = {name: _rss_mib(pid) for name, pid in pids.items()}
    result.rss_peak = {name: max(sampler.peak[name], result.rss_end[name]) for name in pids}
    _print_round(result)
    return result


def _print_round(result: Round) -> None:
    rss = ", ".join(f"{name} {value:,.0f}" for name, value in result.rss_end.items())
    cpu = ", ".join(f"{name} {value:.0f}" for name, value in result.server_cpu.items())
    spread = dict(Counter(result.replica_of_student))
    print(f"\n{result.students} students: path {result.path_wall:.0f} s (wall {result.wall:.0f} s), "
          f"{len(result.errors)} errors, RSS MiB at the end: {rss}; server CPU s: {cpu}; "
          f"other processes' CPU s: {result.other_cpu:.0f}"
          + (f"; students per replica: {spread}" if len(spread) > 1 else ""), flush=True)
    for kind, s in result.stats().items():
        print(f"  {kind:<30} p50 {s['p50']:6.2f} s   p95 {s['p95']:6.2f} s   max {s['max']:6.2f} s   (n={s['n']})")
    for error in result.errors[:5]:
        print(f"  error: {error}")


def print_table(rounds: list[Round], title: str) -> None:
    """Rows: interaction kinds; columns: rounds (p50 / p95 in seconds)."""
    kinds = sorted({kind for r in rounds for kind in r.timings}, key=_kind_rank)
    width = 21
    print(f"\n{title}")
    print(f"{'students at once':<32}" + "".join(f"{r.students:>{width}}" for r in rounds))
    print(f"{'':<32}" + "".join(f"{'p50 / p95 s (n)':>{width}}" for _ in rounds))
    for kind in kinds:
        cells = []
        for r in rounds:
            s = r.stats().get(kind)
            cells.append(f"{s['p50']:.2f} / {s['p95']:.2f} ({s['n']})" if s else "-")
        print(f"{kind:<32}" + "".join(f"{c:>{width}}" for c in cells))
    rows = {
        "errors (not reached)": [f"{len(r.errors)} ({r.not_reached})" for r in rounds],
        "RSS MiB end (peak), sum": [f"{sum(r.rss_end.values()):,.0f} ({sum(r.rss_peak.values()):,.0f})" for r in rounds],
        "server CPU s": [f"{sum(r.server_cpu.values()):.1f}" for r in rounds],
        "other CPU s (nginx, db, others)": [f"{r.other_cpu:.1f}" for r in rounds],
        "path wall s": [f"{r.path_wall:.0f}" for r in rounds],
        "load avg 1 min start/end": [f"{r.load_average[0]:.1f}/{r.load_average[1]:.1f}" for r in rounds],
        "p95 targets met": ["yes" if r.meets_targets() else "no" for r in rounds],
    }
    if any(len(r.rss_end) > 1 for r in rounds):
        rows["RSS MiB end per replica"] = ["/".join(f"{v:,.0f}" for v in r.rss_end.values()) for r in rounds]
        rows["students per replica"] = ["/".join(str(c) for _, c in sorted(Counter(r.replica_of_student).items()))
                                        for r in rounds]
    for name, cells in rows.items():
        print(f"{name:<32}" + "".join(f"{c:>{width}}" for c in cells))
    held = [r.students for r in rounds if r.meets_targets()]
    print(f"targets: p95 < {TARGETS[EXPLORER_KIND]:g} s on '{EXPLORER_KIND}', < {TARGETS[LAB_KIND]:g} s on "
          f"'{LAB_KIND}', no errors; met up to: {max(held) if held else 'none'} of {[r.students for r in rounds]}")


# --------------------------------------------------------------------------- servers


@contextlib.contextmanager
def _servers(args: argparse.Namespace) -> Iterator[tuple[str, dict[str, int], str, list[str]]]:
    """(base URL, {name: pid} of the app processes, description, URL of each app process to warm up)."""
    if args.url:
        pid = _server_pid(args.url) if "127.0.0.1" in args.url or "localhost" in args.url else None
        yield args.url, ({"server": pid} if pid else {}), f"server at {args.url}", [args.url]
    elif args.replicas:
        import tempfile

        from deploy.class_server import ClassServer

        logs = Path(tempfile.mkdtemp(prefix="class-load-"))  # kept after the run: the replicas' logs
        with ClassServer(replicas=args.replicas, workdir=logs) as server:
            pids = {name: node.process.pid for name, node in server.nodes.items()}
            yield (server.url, pids, f"{args.replicas} replicas behind nginx (PostgreSQL, logs in {server.logs})",
                   [node.url for node in server.nodes.values()])  # straight to each replica, not through nginx
    else:
        from tests.conftest import running_streamlit

        with running_streamlit(".bench-class-load.log") as base:
            pid = _server_pid(base)
            yield base, ({"server": pid} if pid else {}), "one replica (streamlit run app_server.py, SQLite)", [base]


def _warm(base: str, timeout: float) -> Round:
    """One student walks the path before the rounds, not counted: a fresh server's first session
    switches it out of the legacy pages mode and waits for the start-up warm-up, and every page's
    caches for the default inputs are filled, so every round starts from the same warm server."""
    warm = Round(1)
    asyncio.run(_ws_round(base, warm, 0.0, 0.0, 0.0, max(timeout, 300.0)))
    if warm.errors:
        raise SystemExit(f"the warm-up walk failed: {warm.errors}")
    return warm


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, nargs="+", default=[10, 20, 40])
    parser.add_argument("--client", choices=["ws", "browser"], default="ws")
    parser.add_argument("--url", default=None, help="an already running server or proxy (else one is started)")
    parser.add_argument("--replicas", type=int, default=0, help="start N replicas behind nginx (deploy.class_server)")
    parser.add_argument("--stagger", type=float, default=0.0, help="spread the students' starts over S seconds")
    parser.add_argument("--think", type=float, default=0.0, help="seconds each student waits between interactions")
    parser.add_argument("--linger", type=float, default=0.0, help="seconds each student stays on the quiz page")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before an interaction is a timeout")
    parser.add_argument("--own-sentence", action="store_true",
                        help="each student types a sentence of their own into the explorer (no shared cache)")
    parser.add_argument("--json", type=Path, default=None, help="write the numbers here")
    args = parser.parse_args(argv if argv is not None else [])
    args.students_so_far = 0  # own sentences stay new across rounds
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    rounds: list[Round] = []
    version = _app_version()
    with _servers(args) as (base, pids, description, app_urls):
        print(f"{description}: {base}; app at {version}", flush=True)
        first_visits = {}
        for url in app_urls:
            warm = _warm(url, args.timeout)
            first_visits[url] = {kind: round(values[0], 2) for kind, values in warm.timings.items()}
            print(f"warm-up walk on {url} (one student, not counted), s: {first_visits[url]}", flush=True)
        print(f"RSS MiB after it: {', '.join(f'{n} {_rss_mib(p):,.0f}' for n, p in pids.items())}", flush=True)
        for n in args.students:
            rounds.append(run_round(base, n, pids, args))
    title = (f"{description}, client {args.client}, stagger {args.stagger:g} s, think {args.think:g} s, "
             f"linger {args.linger:g} s{', own sentences' if args.own_sentence else ''}, {os.cpu_count()} CPUs")
    print_table(rounds, title)
    if args.json:
        args.json.write_text(json.dumps({
            "setup": description, "app_version": version, "client": args.client, "warm_up_walk_s": first_visits, "stagger_s": args.stagger, "think_s": args.think,
            "linger_s": args.linger, "timeout_s": args.timeout, "cpus": os.cpu_count(),
            "path": ["open home", *(kind for kind, _ in student_path(args.own_sentence))],
            "own_sentence": args.own_sentence,
            "rounds": [r.as_json() for r in rounds],
        }, indent=1) + "\n", encoding="utf-8")
        print(f"numbers written to {args.json}")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
