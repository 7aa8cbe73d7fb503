"""A class set-up: N replicas of the lesson app behind Debian's nginx, one shared PostgreSQL.

One module for every way the set-up is started, so they cannot drift apart:

- ``python -m deploy.class_server up --replicas 2 --listen 127.0.0.1:8080 [--database-url URL]``
  starts everything on one host (without a URL: a throwaway PostgreSQL, deleted at exit);
- ``python -m deploy.class_server replica --port 8501 --address 0.0.0.0`` starts one replica
  (what ``up``, the container (deploy/compose.yaml) and the test run);
- ``python -m deploy.class_server proxy --listen 0.0.0.0:8080 --replica app1:8501 ...`` renders
  deploy/nginx.conf.template and runs nginx in the foreground (same);
- ``ClassServer`` and ``throwaway_postgres`` do the same from Python (tests/test_deploy_replicas.py).

A replica's secrets come from the environment (``LESSON_DATABASE_URL``, optional
``LESSON_DATABASE_PASSWORD_FILE``, ``LESSON_INSTRUCTOR_PASSWORD`` or ``..._FILE``) and are written to
a private folder passed with ``--secrets.files``, never into the repository's .streamlit/.
Every replica must get the same ``STREAMLIT_SERVER_COOKIE_SECRET`` (Streamlit signs its cookies
with it; a student moved to another replica keeps valid cookies).
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import glob
import hashlib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NGINX_TEMPLATE = Path(__file__).with_name("nginx.conf.template")
ROUTE_COOKIE = "lesson_replica"  # set by nginx; names the replica that serves this browser
REPLICA_HEADER = "X-Lesson-Replica"  # added by nginx to every answer: the replica that answered


def streamlit_inline_script_hashes() -> list[str]:
    """CSP sources for the inline scripts of the installed Streamlit's index.html ('sha256-...').

    Its page shell sets one global in an inline script; allowing exactly that script by its hash
    (recomputed for whatever Streamlit is installed) avoids 'unsafe-inline' for scripts.
    """
    import streamlit

    html = (Path(streamlit.__file__).parent / "static" / "index.html").read_text(encoding="utf-8")
    hashes = []
    for match in re.finditer(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", html, re.S):
        if "src=" not in match.group("attrs") and match.group("body").strip():
            digest = base64.b64encode(hashlib.sha256(match.group("body").encode("utf-8")).digest()).decode()
            hashes.append(f"'sha256-{digest}'")
    return hashes


def content_security_policy() -> str:
    """Allows what Streamlit's front end needs (checked in a real browser by the test).

    Inline styles from its CSS-in-JS, data:/blob: images and fonts, blob: workers; scripts from the
    app's own origin, its page shell's inline script (by hash) and blob: modules (Streamlit loads a
    component's JavaScript, here ui/charts/head_view.js, from a blob: URL the page's own code makes;
    markup cannot make one, so injected inline scripts stay blocked); fetches and the websocket only
    from the app's own origin;
    WebAssembly compilation (its protobuf code's 64-bit integer helper; this does not allow eval);
    no framing, plugins or foreign form targets.
    """
    return "; ".join([
        "default-src 'self'",
        " ".join(["script-src 'self' blob: 'wasm-unsafe-eval'", *streamlit_inline_script_hashes()]),
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "frame-src 'none'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ])

ENV_DATABASE_URL = "LESSON_DATABASE_URL"
ENV_DATABASE_PASSWORD_FILE = "LESSON_DATABASE_PASSWORD_FILE"
ENV_INSTRUCTOR_PASSWORD = "LESSON_INSTRUCTOR_PASSWORD"
ENV_INSTRUCTOR_PASSWORD_FILE = "LESSON_INSTRUCTOR_PASSWORD_FILE"
ENV_COOKIE_SECRET = "STREAMLIT_SERVER_COOKIE_SECRET"  # Streamlit's own variable for server.cookieSecret
LAUNCHER_VARIABLES = (ENV_DATABASE_URL, ENV_DATABASE_PASSWORD_FILE, ENV_INSTRUCTOR_PASSWORD,
                      ENV_INSTRUCTOR_PASSWORD_FILE, ENV_COOKIE_SECRET)


# --------------------------------------------------------------------------- small helpers


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def is_healthy(base_url: str, timeout: float = 2) -> bool:
    """True when a Streamlit server (directly or through nginx) answers its health check."""
    try:
        with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def _wait_until(predicate, what: str, timeout: float, processes: Sequence[subprocess.Popen] = (),
                log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"{what}: the process ended (exit {process.returncode}); see {log}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not ready after {timeout:.0f} s; see {log}")
        time.sleep(0.2)


def _private_file(path: Path, text: str) -> Path:
    """Write text to a file only its owner can read."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def _stop(*processes: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM to all at once, then wait; SIGKILL whatever is still running after ``timeout``."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + timeout
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


# --------------------------------------------------------------------------- PostgreSQL


def postgres_bindir() -> Path | None:
    """Folder of Debian's PostgreSQL server binaries (initdb, pg_ctl), newest version, or None."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def postgres_url(port: int, database: str = "class_quiz", password: str | None = None) -> str:
    """SQLAlchemy URL of a throwaway_postgres database (user postgres)."""
    from sqlalchemy.engine import URL

    return URL.create("postgresql+psycopg", username="postgres", password=password, host="127.0.0.1", port=port,
                      database=database).render_as_string(hide_password=False)


@contextlib.contextmanager
def throwaway_postgres(database: str = "class_quiz", max_connections: int = 120,
                       port: int | None = None, password: str | None = None) -> Iterator[str]:
    """A PostgreSQL server in a temporary folder on 127.0.0.1 and a free port; yields its SQLAlchemy URL.

    initdb + pg_ctl from Debian's postgresql, run as the ``postgres`` OS user when we are root
    (PostgreSQL refuses to run as root); stopped and deleted on exit. Without ``password`` every
    local connection is trusted; with one, it is required (scram-sha-256) and is in the URL.
    Raises RuntimeError when the binaries are missing.
    """
    import psycopg

    bindir = postgres_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found; install Debian's postgresql "
                           "(make system-deps)")
    prefix: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="lesson-pg-"))
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, log = folder / "data", folder / "server.log"
    port = port or free_port()
    authentication = ["-A", "trust"]
    if password is not None:
        password_file = folder / "password.txt"
        password_file.write_text(password, encoding="utf-8")
        if prefix:
            os.chown(password_file, user.pw_uid, user.pw_gid)
        authentication = ["-A", "scram-sha-256", f"--pwfile={password_file}"]

    def run(*command: str, timeout: int = 120) -> None:
        result = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{command[0]} failed:\n{result.stdout}\n{result.stderr}")

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", *authentication, "-E", "UTF8",
            "--no-sync", "--no-instructions")
        options = (f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                   f"-c max_connections={max_connections}")
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", password=password,
                             autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{database}"')
        yield postgres_url(port, database, password)
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- one replica


def streamlit_argv(port: int, address: str, secrets_file: Path) -> list[str]:
    """The command of one replica; the same for the test, a host and the container."""
    return [
        sys.executable, "-m", "streamlit", "run", "app_server.py",  # warms its caches at start-up
        "--server.port", str(port),
        "--server.address", address,
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--server.enableCORS", "true",
        "--server.enableXsrfProtection", "true",
        "--browser.gatherUsageStats", "false",
        "--secrets.files", str(secrets_file),
    ]


def _toml_string(value: str) -> str:
    """A TOML basic string: quote and backslash escaped, control characters (DEL too) as \\uXXXX."""
    escaped = []
    for character in value:
        if character in '"\\':
            escaped.append("\\" + character)
        elif ord(character) < 0x20 or ord(character) == 0x7F:
            escaped.append(f"\\u{ord(character):04x}")
        else:
            escaped.append(character)
    return '"' + "".join(escaped) + '"'


def _read_secret_file(path: str) -> str:
    return Path(path).read_text(encoding="utf-8").strip()


# Connection pool of each replica: at most pool_size + max_overflow = 15 connections, so 6 replicas
# stay under PostgreSQL's default max_connections (100, a few kept for superusers). pre_ping
# replaces a connection the database dropped (a restart) instead of failing a student's send.
REPLICA_POOL = {"pool_size": 5, "max_overflow": 10, "pool_timeout": 10, "pool_pre_ping": True}


def secrets_toml(database_url: str, instructor_password: str | None) -> str:
    """The replica's secrets: the shared database (``[connections.submissions]``) and the password."""
    lines = []
    if instructor_password:
        lines.append(f"instructor_password = {_toml_string(instructor_password)}")
    lines += ["", "[connections.submissions]", f"url = {_toml_string(database_url)}",
              "", "[connections.submissions.create_engine_kwargs]"]
    lines += [f"{key} = {str(value).lower() if isinstance(value, bool) else value}" for key, value in REPLICA_POOL.items()]
    return "\n".join(lines) + "\n"


def replica_secrets_from_env(env: Mapping[str, str]) -> str:
    """secrets.toml text from the ``LESSON_*`` variables (files win, as Docker secrets are files)."""
    url = env.get(ENV_DATABASE_URL, "").strip()
    if not url:
        raise SystemExit(f"{ENV_DATABASE_URL} is not set: give every replica the shared database's SQLAlchemy URL, "
                         "e.g. postgresql+psycopg://lesson@db:5432/class_quiz")
    if env.get(ENV_DATABASE_PASSWORD_FILE):
        from sqlalchemy.engine import make_url

        url = make_url(url).set(password=_read_secret_file(env[ENV_DATABASE_PASSWORD_FILE])).render_as_string(
            hide_password=False)
    password = env.get(ENV_INSTRUCTOR_PASSWORD) or None
    if env.get(ENV_INSTRUCTOR_PASSWORD_FILE):
        password = _read_secret_file(env[ENV_INSTRUCTOR_PASSWORD_FILE])
    return secrets_toml(url, password)


def replica_command(port: int, address: str) -> list[str]:
    """Arguments after ``python`` that start one replica (deploy/compose.yaml runs the same)."""
    return ["-m", "deploy.class_server", "replica", "--port", str(port), "--address", address]


def run_replica(port: int, address: str, runtime_dir: Path | None) -> None:
    """Write this replica's secrets to a private folder, then become ``streamlit run`` (same process id)."""
    text = replica_secrets_from_env(os.environ)
    if not os.environ.get(ENV_COOKIE_SECRET):
        print(f"warning: {ENV_COOKIE_SECRET} is not set; give every replica the same value", file=sys.stderr)
    folder = runtime_dir or Path(tempfile.mkdtemp(prefix="lesson-replica-"))
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    secrets_file = _private_file(folder / "secrets.toml", text)
    env = {k: v for k, v in os.environ.items()
           if k not in (ENV_DATABASE_URL, ENV_INSTRUCTOR_PASSWORD)}  # they are in the secrets file now
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("PYTHONUNBUFFERED", "1")
    os.chdir(REPO)
    argv = streamlit_argv(port, address, secrets_file)
    os.execve(argv[0], argv, env)


# --------------------------------------------------------------------------- nginx


@dataclass(frozen=True)
class Upstream:
    name: str  # r1, r2, ...: the value of the route cookie
    address: str  # ip:port as nginx reports it in $upstream_addr


def _resolve(address: str) -> str:
    """host:port -> ip:port (nginx resolves names once at start and reports the ip in $upstream_addr)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"replica address {address!r} is not host:port")
    return f"{socket.gethostbyname(host)}:{port}"


def learner_cookie() -> tuple[str, int]:
    """Name and lifetime (s) of the app's anonymous learner-id cookie, which nginx issues (see the template)."""
    from ui.learner_progress import COOKIE_MAX_AGE_S, COOKIE_NAME

    return COOKIE_NAME, COOKIE_MAX_AGE_S


def render_nginx_conf(listen: str, replica_addresses: Sequence[str], runtime_dir: Path) -> str:
    """deploy/nginx.conf.template with every {{placeholder}} filled in."""
    if not replica_addresses:
        raise ValueError("at least one replica is needed")
    upstreams = [Upstream(f"r{i}", _resolve(address)) for i, address in enumerate(replica_addresses, start=1)]
    if len({u.address for u in upstreams}) != len(upstreams):
        raise ValueError("two replicas have the same address")
    blocks = []
    for upstream in upstreams:
        backups = [f"        server {other.address} backup;" for other in upstreams if other is not upstream]
        blocks.append("\n".join([f"    upstream lesson_{upstream.name} {{",
                                 f"        server {upstream.address};", *backups, "    }"]))
    cookie_name, cookie_max_age = learner_cookie()
    values = {
        "learner_cookie": cookie_name,
        "learner_cookie_max_age": str(cookie_max_age),
        "listen": listen,
        "runtime_dir": str(runtime_dir),
        "content_security_policy": content_security_policy(),
        "new_student_servers": "\n".join(f"        server {u.address};" for u in upstreams),
        "replica_upstreams": "\n".join(blocks),
        "route_cookie_values": "\n".join(f"        {u.name} lesson_{u.name};" for u in upstreams),
        "replica_names_by_address": "\n".join(f"        {u.address} {u.name};" for u in upstreams),
    }
    text = NGINX_TEMPLATE.read_text(encoding="utf-8")
    missing = set(re.findall(r"\{\{(\w+)\}\}", text)) - set(values)
    if missing:
        raise ValueError(f"no value for {sorted(missing)} in {NGINX_TEMPLATE.name}")
    return re.sub(r"\{\{(\w+)\}\}", lambda match: values[match.group(1)], text)


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def prepare_nginx(listen: str, replica_addresses: Sequence[str], runtime_dir: Path) -> list[str]:
    """Write nginx.conf into runtime_dir, check it with ``nginx -t``; return the command that runs it."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx not found; install Debian's nginx (make system-deps)")
    runtime_dir.mkdir(parents=True, exist_ok=True)
    conf = runtime_dir / "nginx.conf"
    conf.write_text(render_nginx_conf(listen, replica_addresses, runtime_dir), encoding="utf-8")
    command = [binary, "-p", f"{runtime_dir}/", "-e", str(runtime_dir / "error.log"), "-c", str(conf)]
    check = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    if check.returncode != 0:
        raise RuntimeError(f"nginx rejected {conf}:\n{check.stderr}")
    return command


def run_proxy(listen: str, replica_addresses: Sequence[str], runtime_dir: Path) -> None:
    command = prepare_nginx(listen, replica_addresses, runtime_dir)
    os.execv(command[0], command)


# --------------------------------------------------------------------------- the whole class


@dataclass
class Replica:
    name: str  # the route cookie's value for this replica (r1, r2, ...)
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class ClassServer:
    """PostgreSQL (throwaway unless ``database_url`` is given), N replicas and nginx, all on 127.0.0.1.

    Use as a context manager; everything it started is stopped on exit. ``extra_env`` is added to
    the replicas' environment (the test uses it to watch for outside requests).
    """

    replicas: int = 2
    listen_host: str = "127.0.0.1"
    listen_port: int | None = None
    database_url: str | None = None
    instructor_password: str | None = None
    workdir: Path | None = None
    extra_env: Mapping[str, str] = field(default_factory=dict)
    start_timeout: float = 120

    def __post_init__(self) -> None:
        self.url = ""
        self.nodes: dict[str, Replica] = {}
        self._stack = contextlib.ExitStack()
        self._nginx: subprocess.Popen | None = None

    # ----------------------------------------------------------------- start / stop

    def __enter__(self) -> ClassServer:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def _start(self) -> None:
        root = self.workdir or Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="lesson-class-")))
        root.mkdir(parents=True, exist_ok=True)
        self.logs = root
        env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1", **self.extra_env)
        postgres_port = None
        if self.database_url is None:
            # as in deploy/compose.yaml: a password-protected database, the URL without the password
            # and the password in a file. The replicas start (about as slow as initdb) while
            # PostgreSQL is made; they connect only when the first answer is sent or read.
            postgres_port = free_port()
            self._db_password = secrets.token_hex(16)
            self.database_url = postgres_url(postgres_port, password=self._db_password)
            env[ENV_DATABASE_URL] = postgres_url(postgres_port)
            env[ENV_DATABASE_PASSWORD_FILE] = str(_private_file(root / "db_password.txt", self._db_password))
        else:
            env[ENV_DATABASE_URL] = self.database_url
        env[ENV_COOKIE_SECRET] = env.get(ENV_COOKIE_SECRET) or secrets.token_hex(32)
        if self.instructor_password:
            env[ENV_INSTRUCTOR_PASSWORD_FILE] = str(
                _private_file(root / "instructor_password.txt", self.instructor_password))
        self.replica_env = {name: env[name] for name in LAUNCHER_VARIABLES if name in env}
        # registered first, so replicas started before a failure are stopped too; answers are in the
        # database, so a replica still closing sessions after 5 s is killed
        self._stack.callback(lambda: _stop(*(node.process for node in self.nodes.values()), timeout=5))
        for index in range(1, self.replicas + 1):
            self._start_replica(f"r{index}", root, env)
        if postgres_port is not None:
            self._stack.enter_context(throwaway_postgres(port=postgres_port, password=self._db_password))
        # replicas start in parallel; wait for all of them
        for node in self.nodes.values():
            _wait_until(lambda n=node: is_healthy(n.url), f"replica {node.name}", self.start_timeout,
                        [node.process], node.log)
        port = self.listen_port or free_port(self.listen_host)
        proxy_dir = root / "nginx"
        command = prepare_nginx(f"{self.listen_host}:{port}", [f"127.0.0.1:{n.port}" for n in self.nodes.values()],
                                proxy_dir)
        nginx_log = proxy_dir / "stdout.log"
        handle = self._stack.enter_context(open(nginx_log, "w"))  # noqa: SIM115 - closed by the ExitStack
        self._nginx = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
        self._stack.callback(_stop, self._nginx)
        self.url = f"http://{'127.0.0.1' if self.listen_host == '0.0.0.0' else self.listen_host}:{port}"
        self.nginx_dir = proxy_dir
        _wait_until(lambda: is_healthy(self.url), "nginx", 30, [self._nginx], proxy_dir / "error.log")

    def _start_replica(self, name: str, root: Path, env: Mapping[str, str]) -> None:
        port = free_port()
        log = root / f"replica-{name}.log"
        handle = self._stack.enter_context(open(log, "w"))  # noqa: SIM115 - closed by the ExitStack
        process = subprocess.Popen(
            [sys.executable, *replica_command(port, "127.0.0.1"), "--runtime-dir", str(root / f"replica-{name}")],
            cwd=REPO, env=dict(env), stdout=handle, stderr=subprocess.STDOUT,
        )
        self.nodes[name] = Replica(name, port, process, log)

    def kill_replica(self, name: str) -> None:
        """Kill one replica at once (SIGKILL), as a crash would."""
        process = self.nodes[name].process
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=15)


# --------------------------------------------------------------------------- command line


def _parse_listen(value: str) -> str:
    host, _, port = value.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{value!r} is not [host:]port")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m deploy.class_server", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="PostgreSQL (unless --database-url), N replicas and nginx on this host")
    up.add_argument("--replicas", type=int, default=2)
    up.add_argument("--listen", type=_parse_listen, default="127.0.0.1:8080",
                    help="nginx's address (replicas always listen on 127.0.0.1)")
    up.add_argument("--database-url", help="shared database; default: a throwaway PostgreSQL deleted at exit")
    replica = commands.add_parser("replica", help="one app replica (secrets from LESSON_* variables)")
    replica.add_argument("--port", type=int, default=8501)
    replica.add_argument("--address", default="127.0.0.1")
    replica.add_argument("--runtime-dir", type=Path, help="private folder for its secrets.toml (default: a new temp dir)")
    proxy = commands.add_parser("proxy", help="render nginx.conf and run nginx in the foreground")
    proxy.add_argument("--listen", type=_parse_listen, default="0.0.0.0:8080")
    proxy.add_argument("--replica", action="append", required=True, help="host:port of a replica (repeat)")
    proxy.add_argument("--runtime-dir", type=Path, default=Path("/tmp/lesson-proxy"))
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)

    if args.command == "replica":
        run_replica(args.port, args.address, args.runtime_dir)
    elif args.command == "proxy":
        run_proxy(args.listen, args.replica, args.runtime_dir)
    else:
        host, _, port = args.listen.rpartition(":")
        # a stop from the service manager ends the `with` block like Ctrl-C does
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        with ClassServer(replicas=args.replicas, listen_host=host or "0.0.0.0", listen_port=int(port),
                         database_url=args.database_url,
                         instructor_password=os.environ.get(ENV_INSTRUCTOR_PASSWORD)) as server:
            print(f"class server on http://{args.listen} ({args.replicas} replicas; logs in {server.logs})",
                  flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)


if __name__ == "__main__":
    main()
