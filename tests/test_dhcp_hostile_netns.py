"""DHCP on tricky and hostile LANs (issue 9: 3, 4, 8, 14, 16, 17), each a namespace LAN with real servers.

The LAN: the router's dnsmasq (198.51.100.1, .10-.99) and an HA-like peer dnsmasq
(198.51.100.2, .150-.199), a scanner at .250 running ``python3 -m ipaudit scan``.
Rogues, crafted-offer senders and floods join per test and are stopped after it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ipaudit.lab import Lab

pytestmark = pytest.mark.netns

ROUTER, PEER, ROGUE = "198.51.100.1", "198.51.100.2", "198.51.100.66"
DHCP_ONLY = ["--no-arp", "--dhcp-timeout", "1.5"]

# Answers the first DISCOVER it hears with ``count`` broadcast OFFERs for its xid, each from a
# different server id (or one crafted offer with mask 255.0.255.0), then exits: a bounded sender.
CRAFTED_SENDER = """
import socket, struct, sys
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
count, mask, unicast = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "unicast"
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
sock.bind(("eth0", 0))
sock.settimeout(20)
mine = sock.getsockname()[4].hex(":")
print("ready", flush=True)
while True:
    request = Ether(sock.recv(2048))
    if request.haslayer(BOOTP) and request[UDP].dport == 67 and request[BOOTP].op == 1:
        break
chaddr = request[BOOTP].chaddr[:6]
offer = bytearray(bytes(
    Ether(src=mine, dst=chaddr.hex(":") if unicast else "ff:ff:ff:ff:ff:ff")
    / IP(src="198.51.100.99", dst="198.51.100.211" if unicast else "255.255.255.255")
    / UDP(sport=67, dport=68, chksum=0)
    / BOOTP(op=2, xid=request[BOOTP].xid, yiaddr="198.51.100.211", chaddr=chaddr)
    / DHCP(options=[("message-type", "offer"), ("server_id", "198.51.100.99"), ("subnet_mask", mask),
                    ("router", "198.51.100.99"), ("lease_time", 120), "end"])))
at = bytes(offer).index(bytes([54, 4, 198, 51, 100, 99])) + 2
for n in range(count):
    if count > 1:
        offer[at:at + 4] = struct.pack("!I", (198 << 24 | 18 << 16) + n)  # 198.18.0.0/15: forged ids
    sock.send(bytes(offer))
"""


@pytest.fixture(scope="module")
def lan():
    with Lab(prefix="ipaH") as lab:
        router = lab.add_host("router", f"{ROUTER}/24")
        peer = lab.add_host("peer", f"{PEER}/24")
        scanner = lab.add_host("scanner", "198.51.100.250/24")
        lab.start_dnsmasq(router, "198.51.100.10,198.51.100.99", router=ROUTER)
        lab.start_dnsmasq(peer, "198.51.100.150,198.51.100.199", router=ROUTER)
        yield lab, scanner, router, peer


def scan(lab, host, *args, interface="eth0"):
    done = lab.run(host, [sys.executable, "-m", "ipaudit", "scan", "-i", interface, "--format", "json", *args],
                   check=False, timeout=180)
    return done, json.loads(done.stdout) if done.stdout.strip() else None


def codes(report) -> list[tuple[str, str]]:
    return sorted((f["code"], f["severity"]) for f in report["findings"])


def test_two_servers_both_allowed_are_info_and_quiet_json_is_cron_ready(lan):
    lab, scanner, _, peer = lan
    done, report = scan(lab, scanner, *DHCP_ONLY, "-q", "--allowed-dhcp", f"{ROUTER},{peer.mac.upper()}")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # -q: nothing on stderr unless there is a problem
    assert codes(report) == [("multiple-dhcp-servers", "info")]
    assert [s["server_id"] for s in report["dhcp_servers"]] == [ROUTER, PEER]  # sorted by value
    assert report["status"] == "ok" and report["exit_code"] == 0
    assert report["counts"] == {"critical": 0, "warning": 0, "info": 1}
    assert report["generated_at"].endswith("Z") and report["generated_at"][10] == "T"


def test_an_unallowed_second_server_is_critical(lan):
    lab, scanner, _, _ = lan
    done, report = scan(lab, scanner, *DHCP_ONLY, "--allowed-dhcp", ROUTER)
    assert done.returncode == 2
    assert codes(report) == [("multiple-dhcp-servers", "critical"), ("unauthorized-dhcp-server", "critical")]
    assert report["counts"]["critical"] == 2


def test_a_rogue_copying_the_real_server_id_is_spoofed(lan):
    lab, scanner, _, _ = lan
    rogue = lab.add_host("rogue", f"{ROGUE}/24")
    server = lab.start_dnsmasq(rogue, "198.51.100.100,198.51.100.120", router=ROGUE,
                               extra_args=[f"--dhcp-option=54,{ROUTER}"])
    try:
        done, report = scan(lab, scanner, *DHCP_ONLY, "--allowed-dhcp", f"{ROUTER},{PEER}")
        assert done.returncode == 2, done.stderr
        spoofed = [f for f in report["findings"] if f["code"] == "dhcp-server-spoofed"]
        assert len(spoofed) == 1 and spoofed[0]["severity"] == "critical"
        assert spoofed[0]["key"] == f"dhcp-server-spoofed|{ROUTER}|{rogue.mac}|{ROGUE}"
        assert (ROUTER, rogue.mac, ROGUE) in {(s["server_id"], s["mac"], s["source_ip"])
                                                for s in report["dhcp_servers"]}
        # Without an allow list the shared id from two MACs and IPs still gives it away.
        _, unlisted = scan(lab, scanner, *DHCP_ONLY)
        assert "dhcp-server-spoofed" in {code for code, _ in codes(unlisted)}
    finally:
        server.process.terminate()
        server.process.wait()


def test_an_offer_with_a_non_contiguous_mask_keeps_the_report(lan, tmp_path):
    lab, scanner, _, _ = lan
    crafter = lab.hosts.get("crafter") or lab.add_host("crafter", "198.51.100.99/24")
    sender = lab.spawn(crafter, [sys.executable, "-c", CRAFTED_SENDER, "1", "255.0.255.0", "broadcast"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert sender.stdout.readline().strip() == "ready"
    inventory = lab.path("mask.json")
    done, report = scan(lab, scanner, *DHCP_ONLY, "--allowed-dhcp", f"{ROUTER},{PEER}")
    assert sender.wait(timeout=20) == 0, sender.stderr.read()
    assert done.returncode == 2, done.stderr  # the crafted server is unauthorized: the rest of the verdict stands
    crafted = next(s for s in report["dhcp_servers"] if s["server_id"] == "198.51.100.99")
    assert crafted["subnet_mask"] is None and crafted["offered_ip"] == "198.51.100.211"
    malformed = [f for f in report["findings"] if f["code"] == "dhcp-packet-malformed"]
    assert len(malformed) == 1 and "255.0.255.0 is not a netmask" in malformed[0]["message"]
    # The JSON it wrote is an inventory check-pool reads.
    with open(inventory, "w") as handle:
        json.dump(report, handle)
    check = lab.run(scanner, [sys.executable, "-m", "ipaudit", "check-pool", "198.51.100.230-198.51.100.235",
                              "--inventory", inventory, "--format", "json"], check=False)
    assert check.returncode in (0, 1, 2) and json.loads(check.stdout)["status"], check.stderr


def test_ten_thousand_forged_offers_are_all_counted_and_the_real_server_survives(lan):
    lab, scanner, router, _ = lan
    crafter = lab.hosts.get("crafter") or lab.add_host("crafter", "198.51.100.99/24")
    sender = lab.spawn(crafter, [sys.executable, "-c", CRAFTED_SENDER, "10000", "255.255.255.0", "broadcast"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert sender.stdout.readline().strip() == "ready"
    done, report = scan(lab, scanner, "--no-arp", "--dhcp-timeout", "4", "--allowed-dhcp", f"{ROUTER},{PEER}")
    assert sender.wait(timeout=60) == 0, sender.stderr.read()
    ids = {s["server_id"] for s in report["dhcp_servers"]}
    assert {ROUTER, PEER} <= ids  # allowed servers are kept past the cap
    assert len(report["dhcp_servers"]) <= 66
    (multiple,) = [f for f in report["findings"] if f["code"] == "multiple-dhcp-servers"]
    assert multiple["severity"] == "critical"
    kept = len(report["dhcp_servers"]) - 2
    dropped = int(multiple["message"].split(", and ")[1].split(" more offer")[0])
    assert kept + dropped == 10000  # every forged offer counted: none lost in the kernel queue


def test_a_dhcp_server_on_the_scanning_host_itself_is_reported(lan):
    lab, scanner, _, _ = lan
    local = lab.start_dnsmasq(scanner, "198.51.100.200,198.51.100.209")
    try:
        done, report = scan(lab, scanner, *DHCP_ONLY, "--allowed-dhcp", f"{ROUTER},{PEER}")
    finally:
        local.process.terminate()
        local.process.wait()
    assert done.returncode == 1, done.stderr
    (on_host,) = [f for f in report["findings"] if f["code"] == "dhcp-server-on-this-host"]
    assert on_host["severity"] == "warning" and f"dnsmasq (pid {local.process.pid})" in on_host["message"]
    # Once it is gone the finding goes too.
    _, after = scan(lab, scanner, *DHCP_ONLY, "--allowed-dhcp", f"{ROUTER},{PEER}")
    assert "dhcp-server-on-this-host" not in {code for code, _ in codes(after)}


def test_a_macvlan_child_hears_an_offer_unicast_to_chaddr(lan):
    lab, _, _, _ = lan
    node = lab.add_host("node", "")
    child_mac = "02:00:5e:00:53:77"
    for command in (["ip", "link", "add", "mv0", "link", "eth0", "address", child_mac, "type", "macvlan",
                     "mode", "bridge"], ["ip", "addr", "add", "198.51.100.77/24", "dev", "mv0"],
                    ["ip", "link", "set", "mv0", "up"]):
        lab.run(node, command)
    crafter = lab.hosts.get("crafter") or lab.add_host("crafter", "198.51.100.99/24")

    def discover(*extra):
        sender = lab.spawn(crafter, [sys.executable, "-c", CRAFTED_SENDER, "1", "255.255.255.0", "unicast"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert sender.stdout.readline().strip() == "ready"
        _, report = scan(lab, node, *DHCP_ONLY, *extra, interface="mv0")
        sender.wait(timeout=20)
        return {s["server_id"] for s in report["dhcp_servers"]}

    assert "198.51.100.99" in discover()  # chaddr is mv0's own MAC, so the unicast reaches mv0
    # A probe MAC of our own choosing would miss it: the parent hands mv0 only frames for mv0's MAC.
    assert "198.51.100.99" not in discover("--client-mac", "02:00:5e:00:53:78")
