"""A class on two app replicas behind Debian's nginx with one PostgreSQL, in real browsers.

deploy.class_server.ClassServer (the launcher a host and the containers use too) starts a throwaway
PostgreSQL, two replicas and nginx, all on 127.0.0.1 and free ports. Students are browser
contexts talking to nginx only. The test checks that:

- nginx spreads new students over both replicas and keeps each on its own (the route cookie picks
  the replica, X-Lesson-Replica names it, and nginx's access log shows each websocket served by
  the replica its cookie named);
- every answer sent through either replica is in the shared database exactly once (read back
  through lessonkit.submissions, compared with what each student clicked and the answer key read
  from the quiz file), and the instructor view on either replica counts all of them;
- after one replica is killed mid-class, nothing already sent is lost, its students reconnect to
  the other replica on their own and can send more; the other students keep their sessions; a
  moved student who reloads finds their answers again (kept under the learner id nginx issued);
- nginx adds the security headers, Streamlit still renders (charts included) with no CSP error
  while the policy does block an injected inline script; a websocket from a foreign origin is
  refused by nginx, while the same request straight to a replica makes Streamlit try an outside
  IP-lookup service (caught here by a loopback stand-in proxy, so nothing leaves the machine).

Under CI=true nothing is skipped: missing nginx or PostgreSQL is a failure.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import socket
import threading
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect

from deploy.class_server import (
    ENV_DATABASE_PASSWORD_FILE,
    ENV_DATABASE_URL,
    ENV_INSTRUCTOR_PASSWORD_FILE,
    LAUNCHER_VARIABLES,
    REPLICA_HEADER,
    ROUTE_COOKIE,
    ClassServer,
    build_parser,
    learner_cookie,
    nginx_binary,
    postgres_bindir,
    replica_command,
    replica_secrets_from_env,
)
from lessonkit import submissions
from tests.conftest import HEAD_VIEW_INK

ON_CI = os.environ.get("CI", "").lower() == "true"
REPO = Path(__file__).resolve().parents[1]
QUIZ_FILE = REPO / "quizzes" / "section_7_quiz.toml"
PASSWORD = "a test passphrase for the instructor"
STUDENTS = ["Ada", "Ben", "Cleo", "Dev"]
TIMEOUT_MS = 60_000
COLD_START_MS = 150_000  # a replica's first page loads the model; both do it at once on 2 cores


# --------------------------------------------------------------------------- the class set-up


class OutboundTrap:
    """A loopback stand-in for an HTTP(S) proxy: records what the replicas tried to reach outside.

    The replicas get HTTP_PROXY/HTTPS_PROXY pointing here (test instrumentation only), so an
    attempt to reach an outside address is recorded and refused instead of leaving the machine.
    """

    def __init__(self) -> None:
        self.requests: list[str] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(2)
                try:
                    first_line = connection.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
                except OSError:
                    first_line = "(nothing read)"
                self.requests.append(first_line)
                connection.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    def close(self) -> None:
        self._server.close()


@pytest.fixture(scope="module")
def class_setup(tmp_path_factory):
    missing = [name for name, found in (("nginx", nginx_binary()), ("PostgreSQL", postgres_bindir())) if not found]
    if missing:
        message = f"{' and '.join(missing)} not installed: install Debian's packages (make system-deps)"
        if ON_CI:
            pytest.fail(message)
        pytest.skip(message)
    trap = OutboundTrap()
    proxy_env = {name: trap.url for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")}
    proxy_env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    started = time.monotonic()
    with ClassServer(replicas=2, instructor_password=PASSWORD, workdir=tmp_path_factory.mktemp("class"),
                     extra_env=proxy_env) as server:
        print(f"class set-up started in {time.monotonic() - started:.1f} s")
        yield server, trap
    trap.close()


def quiz_questions() -> list[dict]:
    """The three questions of the lesson's own quiz section, with their answer key, from the file."""
    questions = tomllib.loads(QUIZ_FILE.read_text(encoding="utf-8"))["questions"]
    assert len(questions) >= 3 and all(q["type"] == "single" for q in questions[:3])
    return questions[:3]


def option_text(question: dict, key: str) -> str:
    return next(option["text"] for option in question["options"] if option["key"] == key)


def wrong_key(question: dict) -> str:
    return next(option["key"] for option in question["options"] if option["key"] != question["answer"])


# --------------------------------------------------------------------------- quiz UI helpers
# The only functions that know the quiz and instructor pages' layout: adapt these when it changes.


def question_box(page: Page, question: dict):
    """The bordered container of one quiz question (the innermost element holding its prompt and Check)."""
    return (page.locator('[data-testid="stVerticalBlock"]')
            .filter(has_text=question["prompt"])
            .filter(has=page.get_by_role("button", name="Check"))
            .last)


def open_quiz(page: Page, base: str) -> None:
    page.goto(f"{base}/quiz")


def wait_for_quiz(page: Page, question: dict, timeout_ms: int = TIMEOUT_MS) -> None:
    expect(page.locator("h1").filter(has_text="Final quiz")).to_be_visible(timeout=timeout_ms)
    expect(question_box(page, question)).to_be_visible(timeout=timeout_ms)


def answer(page: Page, question: dict, key: str, timeout_ms: int = TIMEOUT_MS) -> None:
    """Choose one option of a single-choice question and press Check (see feedback)."""
    box = question_box(page, question)
    box.get_by_text(option_text(question, key), exact=True).click(timeout=timeout_ms)
    box.get_by_role("button", name="Check").click(timeout=timeout_ms)


def feedback(page: Page, question: dict, key: str):
    """The feedback line the page shows once the chosen option has been checked."""
    verdict = "Right." if key == question["answer"] else "Not quite."
    return page.get_by_text(re.compile(re.escape(verdict) + " Your answer")).filter(
        has_text=option_text(question, key))


def answer_after_reconnect(page: Page, question: dict, key: str, within_s: float = 90) -> None:
    """Answer on a page that has just reconnected to another replica, and wait for the feedback.

    The new replica reruns the page for a new session; a click that lands while it replaces the
    old elements is dropped, so the student (like a real one) tries again until it is checked.
    """
    deadline = time.monotonic() + within_s
    while not feedback(page, question, key).count():
        try:
            answer(page, question, key, timeout_ms=10_000)
            expect(feedback(page, question, key)).to_be_visible(timeout=10_000)
        except (AssertionError, PlaywrightTimeoutError):
            if time.monotonic() > deadline:
                raise


def send_answers(page: Page, name: str) -> None:
    """Send this session's unsent answers under a display name (typed only if the page asks for it)."""
    name_box = page.get_by_label("Display name")
    if name_box.count():
        name_box.fill(name)
        name_box.press("Enter")
    page.get_by_role("button", name="Send my answers to the class").click()


def sent_message(page: Page, count: int):
    return page.get_by_text(re.compile(rf"^{count} answer\(s\) stored for the class"))


def open_instructor(page: Page, base: str) -> None:
    """Open the instructor page and log in (see answers_stored)."""
    page.goto(f"{base}/instructor")
    page.get_by_label("Instructor password").fill(PASSWORD)
    page.get_by_role("button", name="Open").click()


def answers_stored(page: Page) -> int:
    """The instructor page's "Answers stored" number (on its answers tab, if it has tabs)."""
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Answers stored")
    answers_tab = page.get_by_role("tab", name=re.compile("Quiz answers"))
    expect(metric.or_(answers_tab).first).to_be_visible(timeout=TIMEOUT_MS)
    if answers_tab.count():
        answers_tab.click()
    expect(metric).to_be_visible(timeout=TIMEOUT_MS)
    return int(metric.locator('[data-testid="stMetricValue"]').inner_text().strip())


# --------------------------------------------------------------------------- browser and routing helpers

CSP_LISTENER = """
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation',
        e => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def new_context(browser, route: str | None = None, base: str = ""):
    """A browser context that records CSP violations; ``route`` pins it to a replica via nginx's cookie."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(CSP_LISTENER)
    if route is not None:
        context.add_cookies([{"name": ROUTE_COOKIE, "value": route, "url": base}])
    return context


def csp_violations(page: Page) -> list[str]:
    return page.evaluate("window.__cspViolations || []")


def route_of(context) -> str | None:
    return next((c["value"] for c in context.cookies() if c["name"] == ROUTE_COOKIE), None)


def browser_websockets(server: ClassServer) -> list[tuple[str, str]]:
    """(replica that served it, route cookie sent) of every websocket opened with a route cookie.

    From nginx's access log, which records a websocket when it closes.
    """
    log = (server.nginx_dir / "access.log").read_text(encoding="utf-8")
    return [(served, cookie) for served, cookie in
            re.findall(r'"GET /_stcore/stream [^"]*" 101 replica=(\S*) tried=.* cookie=(\S+)$', log, re.M)
            if cookie != "-"]


def answers_in_database(url: str) -> dict[str, set[tuple[str, bool]]]:
    """Display name -> {(question id, correct)}, read through lessonkit.submissions."""
    engine = sa.create_engine(url)
    try:
        frame = submissions.fetch_answers(engine)
    finally:
        engine.dispose()
    rows = list(zip(frame["display_name"], frame["question_id"], frame["correct"]))
    # one row per student and question: nothing doubled by a resend, a reconnect or the failover
    assert len({(name, qid) for name, qid, _ in rows}) == len(rows), rows
    by_name: dict[str, set[tuple[str, bool]]] = {}
    for name, qid, correct in rows:
        by_name.setdefault(name, set()).add((qid, bool(correct)))
    return by_name


# --------------------------------------------------------------------------- tests without servers


def compose_file() -> dict:
    return yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text(encoding="utf-8"))


def test_compose_and_dockerfile_run_the_launcher_commands_the_test_runs():
    services = compose_file()["services"]
    replicas = {name: service for name, service in services.items() if service.get("command", [])[3:4] == ["replica"]}
    assert sorted(replicas) == ["app1", "app2"]
    for service in replicas.values():
        assert service["command"] == ["python", *replica_command(8501, "0.0.0.0")]
        # the variables the launcher reads, as the test's ClassServer sets them (checked below)
        assert set(service["environment"]) <= set(LAUNCHER_VARIABLES)
    proxy = build_parser().parse_args(services["proxy"]["command"][3:])
    assert services["proxy"]["command"][:3] == ["python", "-m", "deploy.class_server"]
    assert (proxy.command, sorted(proxy.replica)) == ("proxy", [f"{name}:8501" for name in sorted(replicas)])
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.M).group(1))
    assert cmd == ["python", *replica_command(8501, "0.0.0.0")]
    assert re.search(r"apt-get install .*\bnginx\b", dockerfile) and "bookworm" in dockerfile


def test_replica_secrets_are_read_from_files_and_survive_any_characters(tmp_path):
    password = 'pa"ss\\wörd\t] = 🔑\x7f'
    (tmp_path / "db.txt").write_text("s3:cr@t/x#\n", encoding="utf-8")
    (tmp_path / "instructor.txt").write_text(password + "\n", encoding="utf-8")
    text = replica_secrets_from_env({
        ENV_DATABASE_URL: "postgresql+psycopg://lesson@db:5432/class_quiz",
        ENV_DATABASE_PASSWORD_FILE: str(tmp_path / "db.txt"),
        ENV_INSTRUCTOR_PASSWORD_FILE: str(tmp_path / "instructor.txt"),
    })
    parsed = tomllib.loads(text)
    assert parsed["instructor_password"] == password
    url = sa.engine.make_url(parsed["connections"]["submissions"]["url"])
    assert (url.drivername, url.username, url.password, url.host, url.port, url.database) == (
        "postgresql+psycopg", "lesson", "s3:cr@t/x#", "db", 5432, "class_quiz")
    # each replica's pool: 15 connections at most, so six replicas fit PostgreSQL's default 100
    pool = parsed["connections"]["submissions"]["create_engine_kwargs"]
    assert pool == {"pool_size": 5, "max_overflow": 10, "pool_timeout": 10, "pool_pre_ping": True}
    with pytest.raises(SystemExit, match=ENV_DATABASE_URL):
        replica_secrets_from_env({})


# --------------------------------------------------------------------------- tests on the running set-up


def test_security_headers_and_a_policy_streamlit_renders_under(class_setup, chromium_browser):
    server, _ = class_setup
    # the replicas got the variables deploy/compose.yaml gives its replicas (values differ)
    replica_environment = next(iter(compose_file()["services"].values()))["environment"]
    assert set(server.replica_env) == set(replica_environment)
    with urllib.request.urlopen(f"{server.url}/") as response:
        headers, html = response.headers, response.read().decode("utf-8")
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    policy = {part.split()[0]: part.split()[1:] for part in headers["Content-Security-Policy"].split("; ")}
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    # the page shell's inline script, as served, is allowed by exactly its hash
    inline = [body for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S) if "src=" not in attrs]
    assert inline, "expected Streamlit's page shell to carry an inline script"
    for body in inline:
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
        assert f"'sha256-{digest}'" in policy["script-src"]
    # the route cookie picks the replica; an unknown value counts as a new student (and is replaced)
    for sent in ("r1", "r2", "r9"):
        request = urllib.request.Request(f"{server.url}/_stcore/health", headers={"Cookie": f"{ROUTE_COOKIE}={sent}"})
        with urllib.request.urlopen(request) as response:
            served = response.headers[REPLICA_HEADER]
            routes = [c for c in response.headers.get_all("Set-Cookie") if c.startswith(f"{ROUTE_COOKIE}=")]
            assert routes == [f"{ROUTE_COOKIE}={served}; Path=/; HttpOnly; SameSite=Lax"]
        assert served == sent if sent != "r9" else served in ("r1", "r2")
    # a browser without the app's learner id gets a random one from nginx (the app's format), once
    learner, _ = learner_cookie()
    issued = []
    for cookie in ("", f"{learner}=0123456789abcdef0123456789abcdef", f"{learner}=not-an-id"):
        request = urllib.request.Request(f"{server.url}/_stcore/health", headers={"Cookie": cookie})
        with urllib.request.urlopen(request) as response:
            issued.append([c for c in response.headers.get_all("Set-Cookie") if c.startswith(f"{learner}=")])
    assert [len(cookies) for cookies in issued] == [1, 0, 1]
    ids = [re.fullmatch(rf"{learner}=([0-9a-f]{{32}}); Path=/; Max-Age=\d+; SameSite=Lax", cookies[0]).group(1)
           for cookies in (issued[0], issued[2])]
    assert ids[0] != ids[1]

    # the quiz on both replicas at once (this also loads each replica's model before the class)
    q1 = quiz_questions()[0]
    contexts = [new_context(chromium_browser, route, server.url) for route in ("r1", "r2")]
    try:
        pages = [context.new_page() for context in contexts]
        console: list[str] = []
        for page in pages:
            page.on("console", lambda message: console.append(message.text))
            open_quiz(page, server.url)
        for page, context, route in zip(pages, contexts, ("r1", "r2")):
            wait_for_quiz(page, q1, COLD_START_MS)
            assert page.locator('[data-testid="stException"]').count() == 0
            assert route_of(context) == route
            assert csp_violations(page) == []
            assert [c["name"] for c in context.cookies() if c["name"] == learner] == [learner]
        assert [text for text in console if "Content Security Policy" in text] == []
        # the policy is enforced, not only sent: an injected inline script does not run
        ran = pages[0].evaluate("""() => { const s = document.createElement('script');
            s.textContent = 'window.__injected = 1'; document.body.appendChild(s);
            return window.__injected === 1; }""")
        pages[0].wait_for_timeout(200)
        assert ran is False
        assert any(v.startswith("script-src") for v in csp_violations(pages[0]))
        # the head view's own JavaScript (a Streamlit component, loaded from a blob: URL) runs behind the proxy
        pages[1].goto(f"{server.url}/head_explorer?text=The+cat+sat+on+the+mat.&layer=1&head=1&view=lines")
        # (a locator wait: wait_for_function evaluates a string, which this policy rightly refuses)
        expect(pages[1].locator('[data-lk="head-view"]')).to_have_attribute("data-shown", re.compile(r"[1-9]"),
                                                                          timeout=COLD_START_MS)
        assert pages[1].evaluate(HEAD_VIEW_INK) > 0
        assert csp_violations(pages[1]) == []
    finally:
        for context in contexts:
            context.close()


def test_a_foreign_origin_websocket_is_refused_by_nginx_before_streamlit_looks_outside(class_setup):
    server, trap = class_setup
    proxy_ws = server.url.replace("http://", "ws://") + "/_stcore/stream"
    host = server.url.removeprefix("http://")
    # the app's own origin is let through (Streamlit upgrades the connection)
    with ws_connect(proxy_ws, origin=f"http://{host}", subprotocols=["streamlit"], open_timeout=10):
        pass
    before = list(trap.requests)
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(proxy_ws, origin="http://evil.example", subprotocols=["streamlit"], open_timeout=10)
    assert refused.value.response.status_code == 403
    assert refused.value.response.headers["Server"] == "nginx"
    time.sleep(1.5)
    assert trap.requests == before, "a refused websocket made a replica try an outside address"

    # what nginx shields the replicas from: the same request straight to a replica makes Streamlit
    # try to learn its external IP from an outside service before refusing (the stand-in gets it)
    direct = server.nodes["r2"].url.replace("http://", "ws://") + "/_stcore/stream"
    with pytest.raises(InvalidStatus) as direct_refused:
        ws_connect(direct, origin="http://evil.example", subprotocols=["streamlit"], open_timeout=10)
    assert direct_refused.value.response.status_code == 403
    deadline = time.monotonic() + 5
    while not any("checkip.amazonaws.com" in line for line in trap.requests[len(before):]):
        assert time.monotonic() < deadline, f"no outside lookup seen: {trap.requests}"
        time.sleep(0.1)


def test_class_on_two_replicas_keeps_every_answer_when_one_replica_dies(class_setup, chromium_browser):
    server, trap = class_setup
    q1, q2 = quiz_questions()[:2]
    questions = {q1["id"]: q1, q2["id"]: q2}
    # what each student chooses: q1 before the failure, q2 after; a mix of right and wrong
    plan = {name: {q1["id"]: q1["answer"] if i % 2 == 0 else wrong_key(q1),
                   q2["id"]: q2["answer"] if i < 2 else wrong_key(q2)}
            for i, name in enumerate(STUDENTS)}
    outside_attempts_before = len(trap.requests)
    started = time.monotonic()

    def lap(what: str) -> None:
        print(f"{what}: {time.monotonic() - started:.1f} s")

    contexts = {name: new_context(chromium_browser) for name in STUDENTS}
    pages = {name: context.new_page() for name, context in contexts.items()}
    instructor = new_context(chromium_browser)
    try:
        # new students arrive one after another: nginx alternates them over the two replicas
        for name in STUDENTS:
            open_quiz(pages[name], server.url)
        home = {name: route_of(contexts[name]) for name in STUDENTS}
        assert sorted(home.values()) == ["r1", "r1", "r2", "r2"], home
        for name in STUDENTS:
            wait_for_quiz(pages[name], q1, COLD_START_MS)  # cold when this test runs alone
            lap(f"quiz page of {name} shown")

        # every student answers q1 and sends it (all four at once, as in a room)
        for name in STUDENTS:
            answer(pages[name], q1, plan[name][q1["id"]])
        for name in STUDENTS:
            expect(feedback(pages[name], q1, plan[name][q1["id"]])).to_be_visible(timeout=TIMEOUT_MS)
            send_answers(pages[name], name)
        for name in STUDENTS:
            expect(sent_message(pages[name], 1)).to_be_visible(timeout=TIMEOUT_MS)
        lap("4 answers sent")

        # the instructor on either replica sees every answer (the route cookie picks the replica)
        instructors = {replica: new_context(chromium_browser, replica, server.url) for replica in ("r1", "r2")}
        views = {replica: context.new_page() for replica, context in instructors.items()}
        for view in views.values():
            open_instructor(view, server.url)
        assert {replica: answers_stored(view) for replica, view in views.items()} == {
            "r1": len(STUDENTS), "r2": len(STUDENTS)}
        assert {replica: route_of(context) for replica, context in instructors.items()} == {"r1": "r1", "r2": "r2"}
        for context in instructors.values():
            context.close()
        lap("instructor checked on both replicas")

        # one replica dies mid-class: what was sent is in the shared database
        server.kill_replica("r1")
        moved = [name for name in STUDENTS if home[name] == "r1"]
        stayed = [name for name in STUDENTS if home[name] == "r2"]
        assert {name: len(rows) for name, rows in answers_in_database(server.database_url).items()} == {
            name: 1 for name in STUDENTS}

        # its students reconnect on their own: nginx sends them to r2 and re-points their cookie
        for name in moved:
            deadline = time.monotonic() + 30
            while route_of(contexts[name]) != "r2":
                assert time.monotonic() < deadline, f"{name} was not moved to r2"
                pages[name].wait_for_timeout(250)
            wait_for_quiz(pages[name], q2)
        lap("students of the dead replica reconnected")
        # the others kept their sessions on r2: their checked answer is still on the page
        for name in stayed:
            assert route_of(contexts[name]) == "r2"
            expect(feedback(pages[name], q1, plan[name][q1["id"]])).to_be_visible()

        for name in stayed:
            answer(pages[name], q2, plan[name][q2["id"]])
        for name in moved:
            answer_after_reconnect(pages[name], q2, plan[name][q2["id"]])
        for name in STUDENTS:
            expect(feedback(pages[name], q2, plan[name][q2["id"]])).to_be_visible(timeout=TIMEOUT_MS)
            send_answers(pages[name], name)
        for name in STUDENTS:
            expect(sent_message(pages[name], 1)).to_be_visible(timeout=TIMEOUT_MS)
        lap("4 more answers sent")
        # a moved student who reloads gets all their progress back on r2: the app keeps it in the
        # database under the learner id that nginx issued as a cookie
        reloaded = moved[0]
        pages[reloaded].reload()
        wait_for_quiz(pages[reloaded], q1)
        for question in (q1, q2):
            expect(feedback(pages[reloaded], question, plan[reloaded][question["id"]])).to_be_visible(
                timeout=TIMEOUT_MS)
        assert route_of(contexts[reloaded]) == "r2"

        # nothing lost, nothing doubled: exactly what each student chose, graded by the quiz file's key
        expected = {name: {(qid, key == questions[qid]["answer"]) for qid, key in plan[name].items()}
                    for name in STUDENTS}
        assert answers_in_database(server.database_url) == expected
        page = instructor.new_page()
        open_instructor(page, server.url)
        assert answers_stored(page) == 2 * len(STUDENTS)
        assert route_of(instructor) == "r2"
        # the instructor's chart (Vega) and every student page rendered without a CSP violation
        expect(page.locator('[data-testid="stVegaLiteChart"] svg.marks').first).to_be_attached(timeout=TIMEOUT_MS)
        assert {name: csp_violations(pages[name]) for name in STUDENTS} == {name: [] for name in STUDENTS}
        assert csp_violations(page) == []
        # no replica tried to reach an outside address during the class
        assert trap.requests[outside_attempts_before:] == []
        lap("checked")
    finally:
        for context in [*contexts.values(), instructor]:
            context.close()
    # every websocket went to the replica its cookie named, except (during the failover) a reconnect
    # that still carried r1 and was served by the backup r2. r1 served exactly four: the warm-up
    # page pinned to it, its two students and the instructor page pinned to it.
    deadline = time.monotonic() + 10
    streams = browser_websockets(server)
    while sum(served == "r1" for served, _ in streams) < 4 and time.monotonic() < deadline:
        time.sleep(0.2)
        streams = browser_websockets(server)
    assert set(streams) <= {("r1", "r1"), ("r2", "r2"), ("r2", "r1")}, streams
    assert sum(served == "r1" for served, _ in streams) == 4, streams
