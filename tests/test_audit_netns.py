"""``ipaudit audit`` end to end on a namespace LAN, with every component real.

The LAN (198.51.100.0/24): a router at .1 running dnsmasq (.10-.100), a cluster node at
.11 that also answers for the VIP .240, and the scanner at .250, where the audit runs
as a subprocess next to a real Alertmanager, a real node_exporter reading the textfile
directory, and a webhook (a local HTTP server) that Apprise's ``json://`` posts to.
Later a "phone" at .50 also takes .240: the blog's phone, stealing the VIP.
The tests run in order; each scenario starts from the state the previous one left.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from ipaudit.lab import Lab

pytestmark = pytest.mark.netns

VIP = "198.51.100.240"
WEBHOOK_PORT, AM_PORT, NE_PORT = 18080, 19093, 19100

WEBHOOK = r"""
import http.server, sys
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with open(sys.argv[2], "ab") as log:
            log.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(200); self.end_headers()
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Hook).serve_forever()
"""

GET = r"""
import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())
"""


def ipaudit(*args: str) -> list[str]:
    return [sys.executable, "-m", "ipaudit", *args]


class World:
    def __init__(self, lab, scanner, phone, workdir):
        self.lab, self.scanner, self.phone, self.workdir = lab, scanner, phone, workdir
        self.config = os.path.join(workdir, "ipaudit.toml")
        self.hooks = os.path.join(workdir, "hooks.jsonl")
        self.webhook = None

    def start_webhook(self):
        self.webhook = self.lab.spawn(self.scanner, [sys.executable, "-c", WEBHOOK, str(WEBHOOK_PORT), self.hooks])
        self.wait_http(f"http://127.0.0.1:{WEBHOOK_PORT}/", any_status=True)

    def stop_webhook(self):
        self.webhook.kill()
        self.webhook.wait()

    def get(self, url: str) -> str:
        return self.lab.run(self.scanner, [sys.executable, "-c", GET, url]).stdout

    def wait_http(self, url: str, any_status: bool = False, timeout: float = 60.0):
        deadline = time.monotonic() + timeout
        while True:
            done = self.lab.run(self.scanner, [sys.executable, "-c", GET, url], check=False)
            if done.returncode == 0 or (any_status and "HTTP Error" in done.stderr):
                return
            assert time.monotonic() < deadline, f"{url} did not come up: {done.stderr[-300:]}"
            time.sleep(0.3)

    def audit(self, *args: str) -> subprocess.CompletedProcess:
        return self.lab.run(self.scanner, ipaudit("audit", "--config", self.config, *args), check=False,
                            timeout=180)

    def posts(self) -> list[dict]:
        if not os.path.exists(self.hooks):
            return []
        with open(self.hooks, encoding="utf-8") as lines:
            return [json.loads(line) for line in lines if line.strip()]

    def am_alerts(self) -> list[dict]:
        return json.loads(self.get(f"http://127.0.0.1:{AM_PORT}/api/v2/alerts?active=true&silenced=true"))


def config_text(workdir: str) -> str:
    return f"""
state_dir = "{workdir}/state"
realert_after = "24h"
interval = "5m"

[[lan]]
name = "lab"
interface = "eth0"
subnet = "198.51.100.0/24"
gateway = "198.51.100.1"
dhcp_ranges = ["198.51.100.10-198.51.100.100"]
allowed_dhcp = ["198.51.100.1"]
nodes = ["198.51.100.11"]
pools = ["198.51.100.240-198.51.100.245"]

[alerts]
urls = ["json://127.0.0.1:{WEBHOOK_PORT}/hook"]
alertmanager = "http://127.0.0.1:{AM_PORT}"

[metrics]
textfile = "{workdir}/textfile/ipaudit.prom"
"""


@pytest.fixture(scope="module")
def world():
    for tool in ("prometheus-alertmanager", "prometheus-node-exporter", "promtool", "dnsmasq"):
        assert shutil.which(tool), f"{tool} is missing: .ci/setup installs it"
    with Lab(prefix="ipaAudit") as lab:
        router = lab.add_host("router", "198.51.100.1/24")
        lab.add_host("node", "198.51.100.11/24", extra_addresses=[f"{VIP}/24"])
        phone = lab.add_host("phone", "198.51.100.50/24")
        scanner = lab.add_host("scanner", "198.51.100.250/24")
        lab.start_dnsmasq(router, "198.51.100.10,198.51.100.100", router="198.51.100.1")
        workdir = lab.path("audit")
        os.makedirs(os.path.join(workdir, "textfile"))
        world = World(lab, scanner, phone, workdir)
        with open(world.config, "w", encoding="utf-8") as config:
            config.write(config_text(workdir))
        lab.spawn(scanner, ["prometheus-alertmanager", f"--web.listen-address=127.0.0.1:{AM_PORT}",
                            f"--storage.path={workdir}/am", "--cluster.listen-address=",
                            f"--config.file={_am_config(workdir)}"],
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        lab.spawn(scanner, ["prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{NE_PORT}",
                            f"--collector.textfile.directory={workdir}/textfile", "--collector.disable-defaults",
                            "--collector.textfile"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        world.start_webhook()
        world.wait_http(f"http://127.0.0.1:{AM_PORT}/-/ready")
        world.wait_http(f"http://127.0.0.1:{NE_PORT}/metrics")
        yield world


def _am_config(workdir: str) -> str:
    path = os.path.join(workdir, "alertmanager.yml")
    with open(path, "w", encoding="utf-8") as config:
        config.write("route:\n  receiver: none\nreceivers:\n  - name: none\n")
    return path


def test_1_vip_on_its_node_is_quiet(world):
    first = world.audit()
    assert first.returncode == 0, first.stderr
    # The first run learns the stations; the next one has nothing to say.
    assert "conflict" not in first.stdout
    again = world.audit()
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")
    assert world.posts() == []


def test_2_phone_takes_the_vip_and_one_alert_goes_out(world):
    world.lab.add_addresses(world.phone, [f"{VIP}/24"])
    done = world.audit("--format", "json")
    assert done.returncode == 2, done.stderr
    report = json.loads(done.stdout)
    started = [e for e in report["events"] if e["kind"] == "conflict-started"]
    assert [(e["code"], e["address"]) for e in started] == [("vip-claimed-by-foreign-device", VIP)]
    assert [o["code"] for o in report["open"]] == ["vip-claimed-by-foreign-device"]
    posts = world.posts()
    assert len(posts) == 1 and "vip-claimed-by-foreign-device" in posts[0]["title"]
    alerts = world.am_alerts()
    assert [(a["labels"]["alertname"], a["labels"]["address"]) for a in alerts] == \
        [("vip-claimed-by-foreign-device", VIP)]


def test_3_next_run_sends_nothing_new(world):
    done = world.audit()
    assert (done.returncode, done.stdout) == (2, "")
    assert len(world.posts()) == 1


def test_4_phone_leaves_and_resolved_goes_out_once(world):
    world.lab.run(world.phone, ["ip", "addr", "del", f"{VIP}/24", "dev", "eth0"])
    world.lab.run(world.scanner, ["ip", "neigh", "flush", "all"])
    done = world.audit()
    assert done.returncode == 0, done.stderr
    assert "conflict-resolved vip-claimed-by-foreign-device" in done.stdout
    posts = world.posts()
    assert len(posts) == 2 and "resolved" in posts[1]["title"]
    assert world.am_alerts() == []  # endsAt = now: the alert has ended
    assert world.audit().stdout == ""
    assert len(world.posts()) == 2


def test_5_webhook_down_keeps_the_alert_and_delivers_it_once_later(world):
    world.stop_webhook()
    world.lab.add_addresses(world.phone, [f"{VIP}/24"])
    done = world.audit()
    assert done.returncode == 2
    assert "could not deliver" in done.stderr and len(world.posts()) == 2
    world.start_webhook()
    done = world.audit()
    assert done.returncode == 2 and done.stdout == ""
    posts = world.posts()
    assert len(posts) == 3 and "vip-claimed-by-foreign-device" in posts[2]["title"]
    world.audit()
    assert len(world.posts()) == 3


def test_6_ten_audits_at_once_leave_one_state_and_no_duplicate(world):
    world.lab.run(world.phone, ["ip", "addr", "del", f"{VIP}/24", "dev", "eth0"])
    runs = [world.lab.spawn(world.scanner, ipaudit("audit", "--config", world.config, "--wait", "300"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(10)]
    outputs = [run.communicate(timeout=400) for run in runs]
    assert [run.returncode for run in runs] == [0] * 10, [err for _, err in outputs]
    assert sum("conflict-resolved" in out for out, _ in outputs) == 1
    posts = world.posts()
    assert len(posts) == 4 and "resolved" in posts[3]["title"]
    history = world.lab.run(world.scanner, ipaudit("history", "--config", world.config, "--format", "json"))
    kinds = [e["kind"] for e in json.loads(history.stdout)["events"] if e["key"].startswith("vip-claimed")]
    assert kinds == ["conflict-started", "conflict-resolved"] * 2


def test_7_kill_9_mid_run_leaves_a_state_the_next_run_reads(world):
    run = world.lab.spawn(world.scanner, ipaudit("audit", "--config", world.config),
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # mid-sweep: the lock is held and state.db is open
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    done = world.audit("--wait", "60")
    assert done.returncode == 0, done.stderr
    assert "unusable" not in done.stderr
    assert len(world.posts()) == 4


def test_8_node_exporter_serves_the_findings_and_promtool_accepts_them(world):
    metrics = world.get(f"http://127.0.0.1:{NE_PORT}/metrics")
    assert 'ipaudit_hosts{lan="lab"}' in metrics
    assert "ipaudit_last_success_timestamp_seconds" in metrics
    assert 'ipaudit_findings{code="vip-live-on-node",lan="lab",severity="info"} 1' in metrics
    textfile = os.path.join(world.workdir, "textfile", "ipaudit.prom")
    with open(textfile, encoding="utf-8") as text:
        checked = subprocess.run(["promtool", "check", "metrics"], stdin=text, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
