"""``ipaudit scan`` and the ARP sweep on a real namespace LAN, checked against ground truth.

The LAN (198.51.100.0/24): a router at .1 running dnsmasq, five hosts at .10-.14,
two hosts sharing .20 (a duplicate), 40 addresses .100-.139 spread over four
namespaces, and the scanner at .250 where ipaudit runs as a subprocess. A second,
tiny LAN has a twin of the scanner's address for the self-conflict.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest
from netaddr import IPAddress

from ipaudit.inventory import inventory_from_dict
from ipaudit.lab import Lab

pytestmark = pytest.mark.netns

FAST = ["--rate", "5000", "--timeout", "0.3"]
SINGLES = [f"198.51.100.{n}" for n in range(10, 15)]
SPREAD = [f"198.51.100.{n}" for n in range(100, 140)]


def ipaudit(*args: str) -> list[str]:
    return [sys.executable, "-m", "ipaudit", *args]


@pytest.fixture(scope="module")
def lan():
    with Lab(prefix="ipaL") as lab:
        router = lab.add_host("router", "198.51.100.1/24")
        lab.add_hosts([(f"h{n}", f"{ip}/24", None, ()) for n, ip in enumerate(SINGLES)])
        dup_a, dup_b = lab.add_hosts([("dupa", "198.51.100.20/24", None, ()), ("dupb", "198.51.100.20/24", None, ())])
        many = lab.add_hosts([(f"many{n}", "", None, ()) for n in range(4)])
        for n, host in enumerate(many):
            lab.add_addresses(host, [f"{ip}/24" for ip in SPREAD[n::4]])
        scanner = lab.add_host("scanner", "198.51.100.250/24")
        dnsmasq = lab.start_dnsmasq(router, "198.51.100.150,198.51.100.199", router="198.51.100.1")
        # The scanner is a live host too: a pool planned from the scan must avoid its address.
        truth = {"198.51.100.1": router.mac, "198.51.100.20": {dup_a.mac, dup_b.mac},
                 "198.51.100.250": scanner.mac}
        truth.update({ip: lab.hosts[f"h{n}"].mac for n, ip in enumerate(SINGLES)})
        truth.update({ip: many[n % 4].mac for n, ip in enumerate(SPREAD)})
        yield lab, scanner, truth, dnsmasq


def scan_json(lab, host, *args):
    done = lab.run(host, ipaudit("scan", "-i", "eth0", "--format", "json", *args), check=False)
    return done, json.loads(done.stdout) if done.stdout.strip() else None


def test_sweep_finds_every_live_host_and_the_duplicate_and_nothing_else(lan):
    lab, scanner, truth, _ = lan
    done, document = scan_json(lab, scanner, "--no-dhcp", *FAST)
    assert done.returncode == 2, done.stderr
    inventory = inventory_from_dict(document)
    found = {str(h.ip): set(h.macs) for h in inventory.hosts}
    assert set(found) == set(truth)
    assert found["198.51.100.20"] == truth["198.51.100.20"]
    assert all(found[ip] == {mac} for ip, mac in truth.items() if ip != "198.51.100.20")
    assert [(f.code, f.addresses) for f in inventory.findings] == [("duplicate-ip", ("198.51.100.20",))]
    assert str(inventory.subnet) == "198.51.100.0/24" and inventory.interface == "eth0"
    # No progress bar when stderr is not a terminal: the one summary line only.
    assert len(done.stderr.splitlines()) == 1 and "swept 198.51.100.0/24" in done.stderr


def test_clean_part_of_the_lan_exits_zero(lan):
    lab, scanner, _, _ = lan
    done, document = scan_json(lab, scanner, "--no-dhcp", "--subnet", "198.51.100.0/28", *FAST)
    assert done.returncode == 0, done.stderr
    assert [h["ip"] for h in document["hosts"]] == ["198.51.100.1", *SINGLES, "198.51.100.250"]
    assert document["findings"] == []


ORDER_SNIPPET = """
# Record, in arrival order, the scanner's ARP requests and DHCP DISCOVERs; print them when stdin closes.
import json, select, socket, sys
scanner = bytes.fromhex(sys.argv[1].replace(":", ""))
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
sock.bind(("eth0", 0))
print("ready", flush=True)
order = []
while True:
    ready, _, _ = select.select([sock, sys.stdin], [], [])
    if sys.stdin in ready:
        break
    frame = sock.recv(2048)
    if frame[6:12] != scanner:
        continue
    if frame[12:14] == b"\\x08\\x06" and frame[20:22] == b"\\x00\\x01":
        order.append("arp")
    elif frame[12:14] == b"\\x08\\x00" and frame[23] == 17 and frame[36:38] == (67).to_bytes(2, "big"):
        order.append("discover")
print(json.dumps(order))
"""


def test_full_scan_runs_dhcp_beside_the_sweep_and_reports_the_server(lan):
    lab, scanner, truth, dnsmasq = lan
    recorder = lab.spawn(lab.hosts["router"], [sys.executable, "-c", ORDER_SNIPPET, scanner.mac],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert recorder.stdout.readline().strip() == "ready"
    done = lab.run(scanner, ipaudit("scan", "-i", "eth0", "--rate", "2000", "--timeout", "0.3",
                                    "--dhcp-timeout", "1", "--allowed-dhcp", "198.51.100.1"), check=False)
    order, _ = recorder.communicate(timeout=10)  # closing its stdin ends the recording
    assert done.returncode == 2, done.stderr  # the duplicate
    assert "duplicate-ip" in done.stdout and "unauthorized-dhcp-server" not in done.stdout
    # The server table stacks each cell: the id over its MAC, the offer over its subnet.
    servers = done.stdout.split("dhcp server", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    assert len(servers) == 2, servers
    assert servers[0].startswith("198.51.100.1 ")
    assert servers[1].split()[:2] == [truth["198.51.100.1"], "in"] and "198.51.100.0/24" in servers[1]
    # One DISCOVER, sent while the sweep was still asking: DHCP runs beside the sweep, not after
    # it. (How much wall time that saves is measured in benchmarks/scan_overlap.py.)
    order = json.loads(order)
    assert order.count("discover") == 1 and order.count("arp") > 250
    assert "arp" in order[order.index("discover"):]
    assert dnsmasq.leases() == []  # discovery never requests, so no lease was granted


def test_probe_pool_sees_the_duplicate_inside_the_pool_and_the_dhcp_offer(lan):
    lab, scanner, truth, _ = lan
    snippet = ("import json; from netaddr import IPSet, IPRange; from ipaudit.scan.live import probe_pool; "
               "from ipaudit.inventory import inventory_to_dict; "
               "print(json.dumps(inventory_to_dict(probe_pool('eth0', IPSet(IPRange('198.51.100.18', "
               "'198.51.100.22')), dhcp_timeout=1, rate=2000))))")
    inventory = inventory_from_dict(json.loads(lab.run(scanner, [sys.executable, "-c", snippet]).stdout))
    assert [(str(h.ip), set(h.macs)) for h in inventory.hosts] == [
        ("198.51.100.20", truth["198.51.100.20"]), ("198.51.100.250", {truth["198.51.100.250"]})]
    assert [f.code for f in inventory.findings] == ["duplicate-ip"]
    assert [str(s.server_id) for s in inventory.dhcp_servers] == ["198.51.100.1"]
    assert IPAddress("198.51.100.150") <= inventory.dhcp_servers[0].offered_ip <= IPAddress("198.51.100.199")


def test_missing_interface_is_exit_3_with_one_line_naming_the_real_ones(lan):
    lab, scanner, _, _ = lan
    done = lab.run(scanner, ipaudit("scan", "-i", "eth9", "--no-dhcp"), check=False)
    assert done.returncode == 3 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "ipaudit: error: no interface named 'eth9': interfaces here: eth0 (up, 198.51.100.250/24)"]


def test_down_or_addressless_interface_and_too_wide_subnet_are_exit_3(lan):
    lab, scanner, _, _ = lan
    wide = lab.run(scanner, ipaudit("scan", "-i", "eth0", "--subnet", "198.18.0.0/15"), check=False)
    assert wide.returncode == 3 and "wider than /16" in wide.stderr and "--force" in wide.stderr
    loopback = lab.run(scanner, ipaudit("scan", "-i", "lo", "--no-dhcp"), check=False)
    # lo in a fresh namespace is up with 127.0.0.1/8: refused as too wide, before any socket.
    assert loopback.returncode == 3 and "127.0.0.0/8" in loopback.stderr
    # A veth pair inside the scanner's own namespace: one end down, one up without an address.
    lab.run(scanner, ["ip", "link", "add", "off0", "type", "veth", "peer", "name", "bare0"])
    lab.run(scanner, ["ip", "link", "set", "bare0", "up"])
    down = lab.run(scanner, ipaudit("scan", "-i", "off0", "--no-dhcp"), check=False)
    bare = lab.run(scanner, ipaudit("scan", "-i", "bare0", "--no-dhcp"), check=False)
    assert down.returncode == bare.returncode == 3
    assert down.stderr.startswith("ipaudit: error: interface off0 is down")
    assert bare.stderr.startswith("ipaudit: error: interface bare0 has no IPv4 address")
    for result in (wide, loopback, down, bare):
        assert len(result.stderr.splitlines()) == 1 and result.stdout == ""
    assert "eth0 (up, 198.51.100.250/24)" in down.stderr and "bare0 (up, no IPv4)" in down.stderr


def test_passive_mode_reports_a_duplicate_from_other_hosts_requests(lan, wait_until_listening):
    lab, scanner, truth, _ = lan
    listener = lab.spawn(scanner, ipaudit("scan", "-i", "eth0", "--passive", "2", "--format", "json"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until_listening(listener)
    # Both holders of .20 ask for the router: their broadcast requests reach every port.
    for holder in ("dupa", "dupb"):
        lab.run(holder, ["arp-scan", "-I", "eth0", "-q", "-x", "--retry=1", "198.51.100.1"])
    stdout, stderr = listener.communicate(timeout=15)
    assert listener.returncode == 2, stderr
    inventory = inventory_from_dict(json.loads(stdout))
    assert ("duplicate-ip", ("198.51.100.20",)) in [(f.code, f.addresses) for f in inventory.findings]
    assert {str(h.ip): set(h.macs) for h in inventory.hosts}["198.51.100.20"] == truth["198.51.100.20"]


def _unprivileged(argv: list[str]) -> list[str]:
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    if subprocess.run([*nobody, sys.executable, "-c", "import ipaudit.cli.main"], capture_output=True).returncode == 0:
        return [*nobody, *argv]
    # The interpreter lives where nobody cannot read it (e.g. under /root): stay root but
    # without CAP_NET_RAW, which is exactly the privilege a raw socket checks.
    return ["setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw", *argv]


def test_without_raw_socket_privilege_exit_3_with_the_hint(lan):
    lab, scanner, _, _ = lan
    done = lab.run(scanner, _unprivileged(ipaudit("scan", "-i", "eth0", "--no-dhcp")), check=False)
    assert done.returncode == 3, done.stderr
    assert done.stderr.strip().splitlines() == [
        "ipaudit: error: raw sockets need root or CAP_NET_RAW: run with sudo, or setcap cap_net_raw+ep "
        "on the interpreter"]


def test_ctrl_c_ends_cleanly(lan, wait_until_listening):
    lab, scanner, _, _ = lan
    process = lab.spawn(scanner, ipaudit("scan", "-i", "eth0", "--rate", "50"),
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until_listening(process)  # mid-scan: its sockets are open, the sweep takes ~10 s
    # `ip netns exec` execs ipaudit in place, so this PID is ipaudit itself.
    os.kill(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 130
    assert stderr.strip().splitlines()[-1] == "ipaudit: interrupted" and "Traceback" not in stderr


def test_someone_else_holding_our_address_is_a_self_conflict():
    with Lab(prefix="ipaL") as lab:
        twin = lab.add_host("twin", "198.51.100.250/24")
        other = lab.add_host("other", "198.51.100.7/24")
        scanner = lab.add_host("scanner", "198.51.100.250/24")
        done, document = scan_json(lab, scanner, "--no-dhcp", "--subnet", "198.51.100.0/28", *FAST)
    assert done.returncode == 2, done.stderr
    codes = [(f["code"], f["severity"], f["addresses"]) for f in document["findings"]]
    assert codes == [("ip-conflict-with-self", "critical", ["198.51.100.250"])]
    assert twin.mac in document["findings"][0]["message"]
    # Both claimants of our address are listed: ours first, then the twin.
    assert [(h["ip"], h["macs"]) for h in document["hosts"]] == [
        ("198.51.100.7", [other.mac]), ("198.51.100.250", [scanner.mac, twin.mac])]


def test_interface_going_down_mid_sweep_is_exit_3_with_one_line(wait_until_listening):
    with Lab(prefix="ipaL") as lab:
        lab.add_host("other", "198.51.100.7/24")
        scanner = lab.add_host("scanner", "198.51.100.250/24")
        process = lab.spawn(scanner, ipaudit("scan", "-i", "eth0", "--no-dhcp", "--rate", "50"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_until_listening(process)
        # Mid-sweep: requests are going out (before that, "interface eth0 is down" would be right).
        def sent() -> int:
            return int(lab.run(scanner, ["cat", "/sys/class/net/eth0/statistics/tx_packets"]).stdout)

        before = sent()
        while sent() < before + 3 and process.poll() is None:
            pass
        lab.run(scanner, ["ip", "link", "set", "eth0", "down"])
        stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 3 and stdout == ""
    # Whichever notices first, the sender or the receiver, names the interface and the cause.
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and re.fullmatch(r"ipaudit: error: (sending|listening) on eth0 failed: "
                                            r"Network is down", lines[0]), lines


NET_RAW_ONLY = 1 << 13  # CAP_NET_RAW


def capabilities_of_every_thread(pid: int) -> dict[str, dict[str, int]]:
    """CapEff/CapPrm/CapInh/CapBnd/CapAmb and NoNewPrivs of each thread of ``pid`` (empty once it exited)."""
    found = {}
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return {}
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except FileNotFoundError:
            continue
        found[task] = {key: int(fields[key].strip(), 16 if key.startswith("Cap") else 10)
                       for key in ("CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb", "NoNewPrivs")}
    return found


def capabilities_mid_scan(process, wait_until_listening, threads: int) -> dict[str, dict[str, int]]:
    """Every thread's sets once the scan has opened its sockets, dropped, and runs ``threads`` threads.

    Polls while the scan runs; if it never drops, this returns the last sets seen before it exited.
    """
    wait_until_listening(process)
    seen: dict = {}
    while process.poll() is None:
        now = capabilities_of_every_thread(process.pid)
        if now:
            seen = now
        if len(seen) >= threads and all(caps["CapEff"] == NET_RAW_ONLY for caps in seen.values()):
            break
    return seen


@pytest.mark.parametrize("mode, threads, status", [(["--passive", "1.5"], 1, 0),
                                                   (["--dhcp-timeout", "1.5", "--rate", "2000"], 3, 2)],
                         ids=["passive", "sweep-and-dhcp"])
def test_scan_as_root_keeps_only_cap_net_raw_once_its_sockets_are_open(lan, wait_until_listening, mode, threads,
                                                                       status):
    lab, scanner, _, _ = lan
    process = lab.spawn(scanner, ipaudit("scan", "-i", "eth0", "--format", "json", *mode),
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Passive: the main thread only. Active: main, the ARP receiver and the DHCP discovery thread.
    seen = capabilities_mid_scan(process, wait_until_listening, threads)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == status, stderr  # the scan still works (active: the duplicate on .20)
    assert json.loads(stdout)["interface"] == "eth0"
    assert len(seen) >= threads and all(
        caps == {"CapEff": NET_RAW_ONLY, "CapPrm": NET_RAW_ONLY, "CapInh": 0, "CapBnd": NET_RAW_ONLY,
                 "CapAmb": 0, "NoNewPrivs": 1} for caps in seen.values()), seen


def test_json_written_into_a_users_directory_after_the_capability_drop(lan, tmp_path):
    """`sudo ipaudit scan -o scan.json` in a user's home: the file is claimed before the scan drops
    CAP_DAC_OVERRIDE, so the report still lands there, and a stale report there is replaced."""
    lab, scanner, truth, dnsmasq = lan
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, 4242, 4242)
    home.chmod(0o755)
    report = home / "scan.json"
    report.write_text('{"stale": true}\n')
    done = lab.run(scanner, ipaudit("scan", "-i", "eth0", "--no-dhcp", "--format", "json", "-o", str(report)),
                   check=False)
    assert done.returncode == 2, done.stderr
    document = json.loads(report.read_text())
    assert "stale" not in document and {h["ip"] for h in document["hosts"]} >= {"198.51.100.1", "198.51.100.20"}
