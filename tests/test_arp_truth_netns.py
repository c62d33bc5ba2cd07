"""The ARP sweep tells the truth under loss, lateness, stale replies, announcements, garbage and floods
(issue 9 items 2, 5, 6, 13, 15, 18), each on a namespace LAN with real kernels answering beside
userspace actors (tests/arp_actors.py) playing the devices a kernel will not.

Timing is never asserted here (benchmarks/scan_vs_arpscan measures it): a flood test asserts that
the scan ends, what it reports, and that memory stayed bounded in what it kept.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ipaudit.lab import Lab

pytestmark = pytest.mark.netns

ACTORS = str(Path(__file__).resolve().parent / "arp_actors.py")
NET = "198.51.100"
SCANNER_IP = f"{NET}.250"


def ipaudit(*args: str) -> list[str]:
    return [sys.executable, "-m", "ipaudit", *args]


def scan(lab, scanner, *args: str) -> tuple[int, dict, str]:
    done = lab.run(scanner, ipaudit("scan", "-i", "eth0", "--no-dhcp", "--format", "json", *args),
                   check=False, timeout=180)
    assert done.stdout.strip(), done.stderr
    return done.returncode, json.loads(done.stdout), done.stderr


def hosts(document) -> dict[str, set[str]]:
    return {h["ip"]: set(h["macs"]) for h in document["hosts"]}


def codes(document) -> list[str]:
    return [f["code"] for f in document["findings"]]


def actor(lab, host, scanner, role: str, *args: str):
    process = lab.spawn(host, [sys.executable, ACTORS, role, *args, "--scanner", scanner.mac],
                        stdout=__import__("subprocess").PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process


@pytest.fixture(scope="module")
def lan():
    """A router at .1, real hosts at .10-.13, an actor namespace with no address, the scanner at .250."""
    with Lab(prefix="ipaT") as lab:
        lab.add_host("router", f"{NET}.1/24")
        lab.add_hosts([(f"h{n}", f"{NET}.{n}/24", None, ()) for n in range(10, 14)])
        lab.add_hosts([("actor", "", None, ())])
        scanner = lab.add_host("scanner", f"{SCANNER_IP}/24")
        yield lab, scanner


def test_a_host_answering_1_1_s_late_is_found_like_arp_scan_would(lan):
    # Item 5: .14 is the last address asked; it answers every request 1.1 s late. A sweep that
    # stops 1.0 s after the first request (retry at 0.5 s + 0.5 s) never hears it.
    lab, scanner = lan
    late = actor(lab, lab.hosts["actor"], scanner, "late", f"{NET}.14", "1.1")
    try:
        status, document, _ = scan(lab, scanner, "--subnet", f"{NET}.0/28")
    finally:
        late.kill()
    assert hosts(document).get(f"{NET}.14") == {lab.hosts["actor"].mac}
    assert status == 0 and codes(document) == []


def test_replies_sent_before_the_scan_asked_are_ignored(lan):
    # Item 13: a previous run's replies ("this address is at a ghost MAC") reach the scanner before
    # it asks for .13; the real holder answers once asked. One device, no duplicate.
    lab, scanner = lan
    stale = actor(lab, lab.hosts["actor"], scanner, "stale", f"{NET}.13")
    try:
        status, document, _ = scan(lab, scanner, "--subnet", f"{NET}.0/28", "--rate", "100")
    finally:
        stale.kill()
    assert hosts(document)[f"{NET}.13"] == {lab.hosts["h13"].mac}
    assert status == 0 and "duplicate-ip" not in codes(document)


def test_announcements_during_the_sweep_claim_addresses_even_the_scanners(lan):
    # Item 6: a device announces the scanner's own address and a free pool address while the
    # sweep runs (gratuitous ARP requests, never answers to a request): both are claims.
    lab, scanner = lan
    announcer = actor(lab, lab.hosts["actor"], scanner, "announce", SCANNER_IP, f"{NET}.240")
    try:
        status, document, _ = scan(lab, scanner, "--subnet", f"{NET}.0/28")
    finally:
        announcer.kill()
    intruder = lab.hosts["actor"].mac
    assert hosts(document)[f"{NET}.240"] == {intruder}
    assert intruder in hosts(document)[SCANNER_IP]
    conflict = [f for f in document["findings"] if f["code"] == "ip-conflict-with-self"]
    assert len(conflict) == 1 and intruder in conflict[0]["message"]
    assert status == 2


def test_zero_broadcast_and_multicast_sender_macs_are_counted_as_malformed_not_devices(lan):
    # Item 18: .12's real holder answers, and so do three impossible MACs.
    lab, scanner = lan
    garbage = actor(lab, lab.hosts["actor"], scanner, "malformed", f"{NET}.12")
    try:
        status, document, _ = scan(lab, scanner, "--subnet", f"{NET}.0/28")
    finally:
        garbage.kill()
    assert hosts(document)[f"{NET}.12"] == {lab.hosts["h12"].mac}
    every_mac = set().union(*hosts(document).values())
    assert not {"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:fb"} & every_mac
    malformed = [f for f in document["findings"] if f["code"] == "arp-malformed"]
    assert len(malformed) == 1 and "duplicate-ip" not in codes(document)
    count = int(malformed[0]["message"].split()[0])
    assert count >= 3 and count % 3 == 0  # three per request for .12: the first and the confirmations
    assert status == 0  # info only


@pytest.mark.parametrize("style", ["random", "same"])
def test_an_arp_flood_during_the_sweep_is_reported_and_the_scan_still_ends(lan, style):
    # Item 15: replies claiming .11 pour in from the first request on (random MACs, or one MAC
    # repeating itself), bounded at 300k frames / 8 s. The scan still ends, keeps at most 16 MACs
    # for .11 and names the flood; the real hosts are all still found, .11's holder too: the
    # kernel filter that sheds the flood (scan/arp_shield.py) still lets the holder's answers in.
    lab, scanner = lan
    flooder = actor(lab, lab.hosts["actor"], scanner, "flood", f"{NET}.11", "300000", "8", style)
    try:
        status, document, _ = scan(lab, scanner, "--subnet", f"{NET}.0/28")
    finally:
        flooder.kill()
    found = hosts(document)
    assert {f"{NET}.{n}" for n in (1, 10, 12, 13)} <= set(found)
    assert len(found[f"{NET}.11"]) <= 16 and lab.hosts["h11"].mac in found[f"{NET}.11"]
    flood = [f for f in document["findings"] if f["code"] == "arp-flood"]
    assert len(flood) == 1, document["findings"]
    assert lab.hosts["actor"].mac in flood[0]["message"]  # the flooder's Ethernet source is named
    # Once the flood was plain the kernel dropped it unread, and counted what it dropped.
    assert "a kernel filter dropped" in flood[0]["message"], flood[0]["message"]
    assert int(flood[0]["message"].split("a kernel filter dropped ")[1].split()[0]) > 0
    if style == "random":
        assert "more" in flood[0]["message"] and f"{NET}.11" in flood[0]["addresses"]
    assert status == 2  # the flood's MACs claim .11 beside its holder


@pytest.fixture(scope="module")
def lossy_duplicates():
    """20 addresses, each held by two namespaces; the second holder drops half the ARP requests."""
    with Lab(prefix="ipaTd") as lab:
        firsts = lab.add_hosts([(f"a{n}", f"{NET}.{n}/24", None, ()) for n in range(1, 21)])
        seconds = lab.add_hosts([(f"b{n}", f"{NET}.{n}/24", None, ()) for n in range(1, 21)])
        for host in seconds:
            lab.drop_arp_requests(host, 50)
        scanner = lab.add_host("scanner", f"{SCANNER_IP}/24")
        yield lab, scanner, {f"{NET}.{n}": {a.mac, b.mac} for n, a, b in zip(range(1, 21), firsts, seconds)}


def test_confirmation_finds_duplicates_whose_second_holder_misses_half_the_requests(lossy_duplicates):
    # Item 2. A miss needs six drops in a row (1/64 per duplicate), so a run misses two or more of 20
    # about once in 25 runs: the ">= 19 of 20" target is measured by benchmarks/scan_vs_arpscan (case e,
    # repeated runs). Here, where a run must not fail by chance, at least 16 of 20: five or more misses
    # happen about once in 70,000 runs.
    lab, scanner, truth = lossy_duplicates
    _, document, _ = scan(lab, scanner, "--subnet", f"{NET}.0/27")
    found = hosts(document)
    both = [ip for ip, macs in truth.items() if found.get(ip) == macs]
    assert len(both) >= 16, f"only {len(both)} of 20 duplicates seen"
    assert codes(document).count("duplicate-ip") == len(both)
    # Without confirmation the lab really does hide them: one request each finds about half.
    _, unconfirmed, _ = scan(lab, scanner, "--subnet", f"{NET}.0/27", "--confirm", "0")
    seen_once = sum(hosts(unconfirmed).get(ip) == macs for ip, macs in truth.items())
    assert seen_once < 19 and seen_once < len(both), (seen_once, len(both))
