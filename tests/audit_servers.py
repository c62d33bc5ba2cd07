"""Real servers for the audit tests: Alertmanager, node_exporter and a json:// webhook receiver.

Each runs on 127.0.0.1 on a free port with its files in a temp dir, is started by this module
and stopped by its PID. Use the pytest fixtures (``alertmanager``, ``node_exporter``,
``json_webhook``; import them into a test module) or the context managers ``running_*`` directly.
Debian's prometheus-alertmanager and prometheus-node-exporter come from .ci/setup.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator
from urllib.error import URLError
from urllib.request import Request, urlopen

import pytest

ALERTMANAGER = "prometheus-alertmanager"
NODE_EXPORTER = "prometheus-node-exporter"
START_TIMEOUT = 30.0  # two shared cores: generous

# The smallest valid configuration: one receiver that sends nowhere; the tests read the API.
ALERTMANAGER_CONFIG = """\
route:
  receiver: nowhere
  group_wait: 1s
receivers:
  - name: nowhere
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urlopen(Request(url), timeout=timeout) as answer:
            return answer.status, answer.read()
    except URLError as problem:
        status = getattr(problem, "code", 0)
        return status, b""


def _need(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.fail(f"{program} is not installed: run .ci/setup (Debian package {program})")
    return path


class _Process:
    """A server process we started; stopped by its PID only."""

    def __init__(self, argv: list[str], log: Path):
        self.log = log
        self._log = open(log, "wb")
        self.process = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, url: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.log.name}: exited {self.process.returncode}: {self.log.read_text()[-800:]}")
            if http_get(url, timeout=2.0)[0] == 200:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.log.name}: not ready in {START_TIMEOUT} s: {self.log.read_text()[-800:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()


def _start_on_free_port(argv_for: Callable[[int], list[str]], log_stem: Path, ready_path: str
                        ) -> tuple[_Process, int]:
    """Start a server on a free 127.0.0.1 port and wait until ``ready_path`` answers; three tries,
    since another test may take the free port between the probe and the server's bind."""
    for attempt in range(3):
        port = free_port()
        server = _Process(argv_for(port), log_stem.with_name(f"{log_stem.name}-{attempt}.log"))
        try:
            server.wait_ready(f"http://127.0.0.1:{port}{ready_path}")
            return server, port
        except RuntimeError:
            server.stop()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@dataclass
class Alertmanager:
    """A running Alertmanager; ``url`` is its base URL (what ``[alerts] alertmanager`` takes)."""

    url: str
    pid: int

    def alerts(self, **filters: str) -> list[dict]:
        """``GET /api/v2/alerts`` (Alertmanager lists only alerts whose endsAt is still ahead)."""
        query = "&".join(f"{name}={value}" for name, value in filters.items())
        status, body = http_get(f"{self.url}/api/v2/alerts" + (f"?{query}" if query else ""))
        assert status == 200, f"GET /api/v2/alerts answered {status}"
        return json.loads(body)


@contextlib.contextmanager
def running_alertmanager(directory: Path) -> Iterator[Alertmanager]:
    program = _need(ALERTMANAGER)
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "alertmanager.yml"
    config.write_text(ALERTMANAGER_CONFIG)
    server, port = _start_on_free_port(
        lambda port: [program, f"--config.file={config}", f"--storage.path={directory / 'data'}",
                      f"--web.listen-address=127.0.0.1:{port}",
                      "--cluster.listen-address=",  # no gossip port: a lone instance, nothing on 0.0.0.0
                      "--log.level=warn"], directory / "alertmanager", "/-/ready")
    try:
        yield Alertmanager(f"http://127.0.0.1:{port}", server.pid)
    finally:
        server.stop()


@dataclass
class NodeExporter:
    """A running node_exporter with only the textfile collector, reading ``textfile_dir``."""

    url: str
    pid: int
    textfile_dir: Path

    def metrics(self) -> str:
        status, body = http_get(f"{self.url}/metrics")
        assert status == 200, f"GET /metrics answered {status}"
        return body.decode()


@contextlib.contextmanager
def running_node_exporter(directory: Path) -> Iterator[NodeExporter]:
    program = _need(NODE_EXPORTER)
    textfiles = directory / "textfile"
    textfiles.mkdir(parents=True, exist_ok=True)
    server, port = _start_on_free_port(
        lambda port: [program, f"--web.listen-address=127.0.0.1:{port}", "--collector.disable-defaults",
                      "--collector.textfile", f"--collector.textfile.directory={textfiles}", "--log.level=warn"],
        directory / "node-exporter", "/metrics")
    try:
        yield NodeExporter(f"http://127.0.0.1:{port}", server.pid, textfiles)
    finally:
        server.stop()


@dataclass(frozen=True)
class Received:
    """One POST the webhook accepted: its path, headers and JSON body."""

    path: str
    headers: dict[str, str]
    body: dict


@dataclass
class JsonWebhook:
    """A local HTTP receiver for Apprise's ``json://`` channel.

    ``apprise_url`` goes into ``[alerts] urls``. ``received`` lists accepted POSTs. ``fail(503)``
    makes it answer errors (a broken receiver) and ``stop()``/``start()`` closes and reopens the
    port (a receiver that is down); ``fail(None)`` heals it.
    """

    port: int
    path: str = "/ipaudit"
    received: list[Received] = field(default_factory=list)
    refused: int = 0
    status: int | None = None
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    @property
    def apprise_url(self) -> str:
        return f"json://127.0.0.1:{self.port}{self.path}"

    def fail(self, status: int | None = 503) -> None:
        self.status = status

    def start(self) -> None:
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with webhook._lock:
                    if webhook.status is not None:
                        webhook.refused += 1
                        self.send_response(webhook.status)
                    else:
                        webhook.received.append(Received(self.path, dict(self.headers), json.loads(raw or b"{}")))
                        self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="json-webhook", daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def messages(self) -> list[dict]:
        with self._lock:
            return [entry.body for entry in self.received]


@contextlib.contextmanager
def running_json_webhook() -> Iterator[JsonWebhook]:
    webhook = JsonWebhook(port=0)
    webhook.start()
    try:
        yield webhook
    finally:
        webhook.stop()


@pytest.fixture
def alertmanager(tmp_path) -> Iterator[Alertmanager]:
    with running_alertmanager(tmp_path / "alertmanager") as server:
        yield server


@pytest.fixture
def node_exporter(tmp_path) -> Iterator[NodeExporter]:
    with running_node_exporter(tmp_path / "node-exporter") as server:
        yield server


@pytest.fixture
def json_webhook() -> Iterator[JsonWebhook]:
    with running_json_webhook() as webhook:
        yield webhook
