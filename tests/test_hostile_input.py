"""Hostile input, as an attacker would send it: every case runs as a real ``python -m ipaudit`` process
under a 1 GiB address-space limit and a wall-clock timeout. Each must exit 3 with exactly one line on
stderr, or complete correctly; no output may hold an escape sequence or another C0 control character.

To add a case, append a ``Case`` to ``CASES``: ``argv`` gets the ``World`` (tmp dir, local servers)
and returns the arguments; ``refused`` is False for input that must be handled and complete.
"""

from __future__ import annotations

import http.server
import os
import re
import resource
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

REPO = Path(__file__).resolve().parent.parent
MEMORY_LIMIT = 1 << 30
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # C0 and DEL, except \t and \n
SECRET = "hunter2-never-shown"


# --- local servers on 127.0.0.1 only ---------------------------------------------------------------

def _body_handler(make_body: Callable[[], bytes | None], content_type: str = "application/json"):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            body = make_body()
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            if body is None:  # endless: 400 MB streamed in chunks, never held in memory here
                self.send_header("Content-Length", str(400 * 1024 * 1024))
                self.end_headers()
                chunk = b"[" + b"0," * 32767 + b"0"
                try:
                    for _ in range(400 * 1024 * 1024 // len(chunk)):
                        self.wfile.write(chunk)
                except OSError:
                    pass
                return
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args) -> None:
            pass

    return Handler


def _undeclared_big_handler():
    """A 400 MB body with no Content-Length: only counting while streaming can stop it."""
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            chunk = b" " * 65536
            try:
                for _ in range(400 * 16):
                    self.wfile.write(chunk)
            except OSError:
                pass

        do_POST = do_GET

        def log_message(self, *args) -> None:
            pass

    return Handler


class Trickler:
    """A raw socket server that answers one byte at a time, forever: the headers never finish."""

    def __init__(self, interval: float = 0.5):
        self.interval = interval
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                continue
            threading.Thread(target=self._trickle, args=(connection,), daemon=True).start()

    def _trickle(self, connection: socket.socket) -> None:
        with connection:
            connection.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + b"X-Slow: " + b"a" * 10_000:
                if self.stop.wait(self.interval):
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    return

    def close(self) -> None:
        self.stop.set()
        self.listener.close()


@dataclass
class World:
    tmp: Path
    servers: dict[str, int] = field(default_factory=dict)

    def file(self, name: str, content: str | bytes) -> str:
        path = self.tmp / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return str(path)

    def url(self, server: str) -> str:
        return f"127.0.0.1:{self.servers[server]}"


def _alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    lines += ["kind: IPAddressPool", "metadata: {name: bomb}", f"spec: {{addresses: *a{levels - 1}}}"]
    return "\n".join(lines) + "\n"


DEEP_JSON = "[" * 100_000 + "]" * 100_000
DEEP_YAML = "".join(" " * i + "k:\n" for i in range(500))
LEGACY_BOMB = ("kind: ConfigMap\nmetadata: {name: config}\ndata:\n  config: |\n"
               + "".join("    " + line + "\n" for line in _alias_bomb().splitlines()[:-3])
               + "    address-pools: []\n")
INVENTORY_NAN = '{"hosts": [{"ip": "192.0.2.5", "macs": []}], "dhcp_servers": [{"lease_time": NaN}]}'
INVENTORY_INF = '{"hosts": [], "dhcp_servers": [], "subnet": Infinity}'
BINARY = bytes(range(256)) * 64
BLOG = ["--subnet", "192.0.2.0/24", "--dhcp-range", "192.0.2.2-192.0.2.120"]
ADGUARD_ENV = {"IPAUDIT_ADGUARD_USERNAME": "admin", "IPAUDIT_ADGUARD_PASSWORD": SECRET}
FAKE_KUBECTL = """#!/bin/sh
env > "$KUBECTL_ENV_DUMP"
case "$*" in
  *" ipaddresspools"*) cat "$KUBECTL_ANSWER_FILE" ;;
  *configmap*) ;;
  *) echo '{"kind": "List", "items": []}' ;;
esac
"""


@dataclass(frozen=True)
class Case:
    id: str
    argv: Callable[[World], list[str]]
    refused: bool = True  # exit 3, one line; else it must complete (exit 0-2) with output
    says: str = ""  # words stderr (refused) or stdout (completed) must hold
    stdin: bytes | None = None
    env: dict[str, str] = field(default_factory=dict)
    seconds: float = 30.0  # wall clock allowed
    check: Callable[[subprocess.CompletedProcess, World], None] | None = None
    kubectl_answer: str = "{}"  # what the fake kubectl on PATH prints for each resource type
    marks: tuple = ()


def _kubectl_env_clean(done: subprocess.CompletedProcess, world: World) -> None:
    dumped = (world.tmp / "kubectl.env").read_text()
    assert "KUBECTL_ANSWER_FILE" in dumped  # the fake really ran and dumped its environment
    assert SECRET not in dumped and "IPAUDIT_" not in dumped


CASES: list[Case] = [
    # --- manifests: files and stdin --------------------------------------------------------------
    Case("yaml-alias-bomb", lambda w: ["check-pool", "--from", w.file("bomb.yaml", _alias_bomb())], says="alias"),
    Case("yaml-alias-bomb-stdin", lambda w: ["check-pool", "--from", "-"], says="alias",
         stdin=_alias_bomb().encode()),
    Case("yaml-self-alias", lambda w: ["check-pool", "--from", w.file("self.yaml", "a: &a [*a]\n")],
         says="refers to itself"),
    Case("legacy-configmap-alias-bomb", lambda w: ["check-pool", "--from", w.file("legacy.yaml", LEGACY_BOMB)],
         says="alias"),
    Case("json-deep-nesting", lambda w: ["check-pool", "--from", w.file("deep.json", DEEP_JSON)], says="nested"),
    Case("yaml-deep-nesting", lambda w: ["check-pool", "--from", w.file("deep.yaml", DEEP_YAML)], says="nested"),
    Case("manifest-binary", lambda w: ["check-pool", "--from", w.file("m.bin", BINARY)], says="binary"),
    Case("manifest-latin1", lambda w: ["check-pool", "--from", w.file("l1.yaml", "name: caf\xe9\n".encode("latin-1"))],
         says="UTF-8"),
    Case("manifest-dev-zero", lambda w: ["check-pool", "--from", "/dev/zero"], says="larger than"),
    Case("manifest-directory", lambda w: ["check-pool", "--from", str(w.tmp)], says="directory"),
    Case("stdin-endless", lambda w: ["check-pool", "--from", "-"], says="larger than",
         stdin=b"# padding\n" * (2 * 1024 * 1024)),
    Case("yaml-huge-integer", lambda w: ["check-pool", "--from", w.file("int.yaml", "a: " + "9" * 5000 + "\n")],
         says="cannot convert"),
    Case("yaml-bad-timestamp", lambda w: ["check-pool", "--from", w.file("ts.yaml", "a: 2024-13-45\n")],
         says="cannot convert"),
    Case("manifest-items-not-objects", lambda w: ["check-pool", "--from", w.file(
        "items.yaml", "kind: List\nitems: [1, [2], null]\n")], says="not a Kubernetes object"),
    # --- inventories -------------------------------------------------------------------------------
    Case("inventory-nan", lambda w: ["check-pool", "192.0.2.240", "--inventory", w.file("n.json", INVENTORY_NAN)],
         says="NaN"),
    Case("inventory-infinity", lambda w: ["check-pool", "192.0.2.240", "--inventory",
                                          w.file("i.json", INVENTORY_INF)], says="Infinity"),
    Case("inventory-binary", lambda w: ["check-pool", "192.0.2.240", "--inventory", w.file("i.bin", BINARY)],
         says="binary"),
    Case("inventory-deep", lambda w: ["check-pool", "192.0.2.240", "--inventory", w.file("d.json", DEEP_JSON)],
         says="nested"),
    Case("inventory-dev-zero", lambda w: ["check-pool", "192.0.2.240", "--inventory", "/dev/zero"],
         says="larger than"),
    Case("inventory-findings-not-list", lambda w: ["check-pool", "192.0.2.240", "--inventory", w.file(
        "f.json", '{"hosts": [], "dhcp_servers": [], "findings": 5}')], says="findings"),
    Case("inventory-bad-dns", lambda w: ["check-pool", "192.0.2.240", "--inventory", w.file(
        "dns.json", '{"hosts": [], "dhcp_servers": [{"dns": ["x"]}]}')], says="inventory"),
    Case("inventory-bad-subnet", lambda w: ["check-pool", "192.0.2.240", "--inventory", w.file(
        "s.json", '{"hosts": [], "dhcp_servers": [], "subnet": "x"}')], says="inventory"),
    Case("inventory-mask-not-contiguous", lambda w: ["check-pool", "192.0.2.240", "--inventory", w.file(
        "m.json", '{"hosts": [], "dhcp_servers": [{"offered_ip": "192.0.2.50", "subnet_mask": "255.0.255.0"}]}')],
         says="not a netmask"),
    Case("inventory-dhcp-server-ipv6", lambda w: ["check-pool", "192.0.2.240", "--inventory", w.file(
        "v6.json", '{"hosts": [], "dhcp_servers": [{"offered_ip": "2001:db8::5", "subnet_mask": "255.255.255.0"}]}')],
         says="IPv4"),
    # --- address edge cases ------------------------------------------------------------------------
    Case("ipv6-low-cidr-keeps-family", lambda w: ["check-pool", "::/120", "--subnet", "::/64"], refused=False,
         says="::ff", check=lambda done, w: assert_not_in(b"0.0.0.0", done.stdout)),
    Case("ipv6-everything", lambda w: ["check-pool", "::/0", "--subnet", "::/0"], refused=False),
    Case("recommend-ipv6-everything", lambda w: ["recommend", "--subnet", "::/0", "--size", "4"], refused=False),
    # --- credentials in source URIs ----------------------------------------------------------------
    Case("uri-password", lambda w: ["check-pool", "192.0.2.240", *BLOG, "--dhcp-source",
                                    f"pihole+https://admin:{SECRET}@router.lan"], says="IPAUDIT_PIHOLE_PASSWORD"),
    Case("uri-password-with-at", lambda w: ["check-pool", "192.0.2.240", *BLOG, "--dhcp-source",
                                            f"pihole+https://admin:{SECRET[:6]}@{SECRET[7:]}@router.lan"],
         says="password"),
    Case("uri-password-with-slash", lambda w: ["sources", "show",
                                               f"opnsense+https://key:{SECRET[:6]}/{SECRET[7:]}@fw.lan"],
         says="password"),
    Case("uri-unclosed-bracket", lambda w: ["sources", "show", "pihole+https://[::1"], says="invalid host"),
    Case("uri-bracket-not-ipv6", lambda w: ["sources", "show", "pihole+https://[zz]:80"], says="invalid host"),
    Case("uri-port-out-of-range", lambda w: ["sources", "show", "pihole+https://router:99999"], says="port"),
    # --- HTTP sources against local servers --------------------------------------------------------
    Case("http-huge-body", lambda w: ["sources", "show", f"adguard+http://{w.url('huge')}"],
         says="larger than", env=ADGUARD_ENV),
    Case("http-huge-undeclared-body", lambda w: ["sources", "show", f"adguard+http://{w.url('undeclared')}"],
         says="larger than", env=ADGUARD_ENV),
    Case("http-trickle", lambda w: ["sources", "show", f"adguard+http://{w.url('trickle')}", "--source-timeout", "2"],
         says="no answer within 2s", env=ADGUARD_ENV, seconds=8),
    Case("http-nan", lambda w: ["sources", "show", f"adguard+http://{w.url('nan')}"], says="NaN", env=ADGUARD_ENV),
    Case("http-deep", lambda w: ["sources", "show", f"adguard+http://{w.url('deep')}"], says="nested",
         env=ADGUARD_ENV),
    Case("http-binary", lambda w: ["sources", "show", f"adguard+http://{w.url('binary')}"], says="binary",
         env=ADGUARD_ENV),
    Case("k8s-api-nan", lambda w: ["check-pool", "--from", "k8s"], says="NaN",
         env={"IPAUDIT_K8S_API_URL": "http://{nan}", "IPAUDIT_K8S_SERVICEACCOUNT_DIR": "{serviceaccount}"}),
    Case("k8s-api-huge", lambda w: ["check-pool", "--from", "k8s"], says="larger than",
         env={"IPAUDIT_K8S_API_URL": "http://{huge}", "IPAUDIT_K8S_SERVICEACCOUNT_DIR": "{serviceaccount}"}),
    # --- kubectl -----------------------------------------------------------------------------------
    Case("kubectl-deep-output", lambda w: ["check-pool", "--from", "kubectl"], says="nested",
         kubectl_answer=DEEP_JSON, env={"IPAUDIT_PIHOLE_PASSWORD": SECRET}, check=_kubectl_env_clean),
    Case("kubectl-gets-no-ipaudit-secrets", lambda w: ["check-pool", "--from", "kubectl", *BLOG], refused=False,
         says="192.0.2.250",
         kubectl_answer='{"kind": "List", "items": [{"kind": "IPAddressPool", "metadata": {"name": "p"},'
                        ' "spec": {"addresses": ["192.0.2.250-192.0.2.254"]}}]}',
         env={"IPAUDIT_PIHOLE_PASSWORD": SECRET, "IPAUDIT_TOKEN": SECRET},
         check=_kubectl_env_clean),
    # --- objects the API server's schema refuses: manifest-rejected, never an internal error ---------
    *[Case(f"schema-{label}", (lambda text: lambda w: ["check-pool", "--from", w.file("shape.yaml", text),
                                                        "--subnet", "192.0.2.0/24"])(text),
           refused=False, says="manifest-rejected")
      for label, text in [
          ("metadata-number", "kind: IPAddressPool\nmetadata: 5\nspec: {addresses: [192.0.2.0/28]}\n"),
          ("spec-number", "kind: IPAddressPool\nmetadata: {name: p}\nspec: 5\n"),
          ("kube-vip-data-number", "kind: ConfigMap\nmetadata: {name: kubevip, namespace: kube-system}\ndata: 5\n"),
          ("pool-list-number", "kind: L2Advertisement\nmetadata: {name: l}\nspec: {ipAddressPools: 5}\n"),
          ("pool-list-nested", "kind: L2Advertisement\nmetadata: {name: l}\nspec: {ipAddressPools: [[1]]}\n"),
          ("cilium-block-number", "kind: CiliumLoadBalancerIPPool\nmetadata: {name: c}\nspec: {blocks: [5]}\n"),
          ("service-ingress-number", "kind: Service\nmetadata: {name: s}\nspec: {type: LoadBalancer}\n"
                                     "status: {loadBalancer: {ingress: 5}}\n"),
          ("labels-number", "kind: IPAddressPool\nmetadata: {name: p, labels: 5}\nspec: {addresses: [192.0.2.0/28]}\n"),
          ("selector-number", "kind: L2Advertisement\nmetadata: {name: l}\nspec: {ipAddressPoolSelectors: [7]}\n"),
      ]],
    # --- outside text with terminal escapes: the central sanitiser shows them as \xNN ------------
    # MetalLB refuses the pool (a /40 is no prefix), so the names reach the findings table.
    Case("manifest-name-with-escape", lambda w: ["check-pool", "--from", w.file(
        "esc.yaml", 'kind: IPAddressPool\nmetadata: {name: "p\\e[31m"}\nspec: {addresses: [192.0.2.0/40]}\n')],
         refused=False, says="p\\x1b[31m"),
    Case("manifest-name-with-control-chars", lambda w: ["check-pool", "--from", w.file(
        "bell.yaml", 'kind: IPAddressPool\nmetadata: {name: "p\\a\\rq"}\nspec: {addresses: [192.0.2.0/40]}\n')],
         refused=False, says="p\\x07\\x0dq"),
]


def assert_not_in(needle: bytes, haystack: bytes) -> None:
    assert needle not in haystack, haystack


# --- the runner --------------------------------------------------------------------------------------

def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.fixture(scope="module")
def servers():
    """Every local server the cases name, on 127.0.0.1, for the whole module."""
    made: dict[str, int] = {}
    running = []
    bodies = {
        "huge": _body_handler(lambda: None),
        "undeclared": _undeclared_big_handler(),
        "nan": _body_handler(lambda: b'{"enabled": true, "v4": {"range_start": NaN}, "leases": [], "items": NaN}'),
        "deep": _body_handler(lambda: DEEP_JSON.encode()),
        "binary": _body_handler(lambda: BINARY, content_type="application/octet-stream"),
    }
    for name, handler in bodies.items():
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        running.append(server)
        made[name] = server.server_address[1]
    trickler = Trickler()
    made["trickle"] = trickler.port
    yield made
    for server in running:
        server.shutdown()
        server.server_close()
    trickler.close()


def _environment(case: Case, world: World) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("IPAUDIT_")}
    env.update(PYTHONPATH=str(REPO), XDG_CONFIG_HOME=str(world.tmp / "config"), NO_COLOR="1",
               KUBECTL_ENV_DUMP=str(world.tmp / "kubectl.env"),
               KUBECTL_ANSWER_FILE=world.file("kubectl-answer.json", case.kubectl_answer))
    bin_dir = world.tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "kubectl").write_text(FAKE_KUBECTL)
    (bin_dir / "kubectl").chmod(0o755)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    account = world.tmp / "serviceaccount"
    account.mkdir(exist_ok=True)
    (account / "token").write_text(SECRET + "\n")
    places = {name: world.url(name) for name in world.servers} | {"serviceaccount": str(account)}
    env.update({name: value.format(**places) for name, value in case.env.items()})
    return env


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in CASES])
def test_hostile_input(case: Case, tmp_path: Path, servers) -> None:
    world = World(tmp_path, servers)
    argv = case.argv(world)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "ipaudit", *argv], input=case.stdin or b"",
                          capture_output=True, env=_environment(case, world), cwd=tmp_path,
                          preexec_fn=_limit_memory, timeout=case.seconds + 30)
    elapsed = time.monotonic() - started
    stdout, stderr = done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
    assert elapsed < case.seconds, f"took {elapsed:.1f}s"
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    for stream in (stdout, stderr):
        assert "\x1b" not in stream and not CONTROL.search(stream), repr(stream[:300])
        assert SECRET not in stream and SECRET[:6] not in stream and SECRET[7:] not in stream
    if case.refused:
        assert done.returncode == 3, stderr
        assert stdout == ""
        assert stderr.count("\n") == 1 and stderr.startswith("ipaudit: error: "), stderr
        assert case.says in stderr, stderr
    else:
        assert done.returncode in (0, 1, 2), stderr
        assert case.says in stdout, stdout
    if case.check:
        case.check(done, world)


def test_table_covers_every_family() -> None:
    ids = " ".join(c.id for c in CASES)
    for family in ("yaml-alias", "deep", "inventory-nan", "http-trickle", "http-huge", "uri-password", "kubectl",
                   "ipv6"):
        assert family in ids
