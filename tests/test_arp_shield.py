"""The flood shield's kernel filter, run by the kernel itself: a BPF program attached to a Unix
datagram socket pair (no privileges needed) sees each frame as a packet socket would, so what it
drops here is what the sweep's socket would no longer read. And the rules it derives from a tally."""

from __future__ import annotations

import socket

import pytest

from ipaudit.scan.arp_frames import build_reply, build_request, ip_int, mac_bytes
from ipaudit.scan.arp_noise import SOURCE_SLACK, Shielded, noise_findings
from ipaudit.scan.arp_shield import ACCEPT, ShieldRules, rules_from, shield_program
from ipaudit.scan.arp_tally import MAX_MACS_PER_IP, ArpTally
from ipaudit.scan.rawsocket import attach_filter

US = mac_bytes("02:1a:00:00:00:fa")
FLOODER, HOLDER, OTHER = (mac_bytes(f"02:1a:00:00:00:{n:02x}") for n in (0xf1, 0x0a, 0x0b))
ME, X, Y = ip_int("198.51.100.250"), ip_int("198.51.100.20"), ip_int("198.51.100.21")


def passes(program, frames: list[bytes]) -> list[bool]:
    """Which frames the kernel lets through ``program``."""
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with left, right:
        attach_filter(right, program)
        right.setblocking(False)
        seen = []
        for frame in frames:
            left.send(frame)
            try:
                seen.append(right.recv(2048) == frame)
            except BlockingIOError:
                seen.append(False)
        return seen


def claim(mac: bytes, ip: int, source: bytes | None = None) -> bytes:
    return build_reply(mac, ip, US, ME, eth_source=source or mac)


RULES = ShieldRules(sources=((FLOODER, (X,)),), crowded=((Y, (HOLDER,)),))


def test_the_sweep_socket_drops_the_flood_and_nothing_else():
    frames = [
        claim(FLOODER, X),                   # the flooder on its flooded address: dropped
        claim(FLOODER, ip_int("198.51.100.30")),  # the flooder's other claims: still read
        claim(HOLDER, X),                    # the flooded address's real holder: read
        claim(HOLDER, Y),                    # a kept MAC of the crowded address: read
        claim(OTHER, Y),                     # any other MAC claiming it: dropped
        claim(OTHER, Y, source=HOLDER),      # even through a kept Ethernet source
        build_request(OTHER, ip_int("198.51.100.40"), ME),  # an ordinary request: read
        b"\x00" * 12 + b"\x08\x00" + b"\x00" * 40,  # not ARP: dropped, as before the shield
        claim(FLOODER, X)[:30],              # a truncated ARP frame: read (the tally counts it)
    ]
    assert passes(shield_program(RULES, 0, ACCEPT), frames) == [
        False, True, True, True, False, False, True, False, True]
    # The counting socket's filter is the exact opposite for ARP frames.
    assert passes(shield_program(RULES, ACCEPT, 0), frames) == [True, False, False, False, True, True,
                                                                False, False, False]


def test_a_source_flooding_no_single_address_is_dropped_whole():
    program = shield_program(ShieldRules(sources=((FLOODER, ()),)), 0, ACCEPT)
    assert passes(program, [claim(FLOODER, X), claim(FLOODER, Y), claim(HOLDER, X)]) == [False, False, True]


def test_the_largest_program_fits_the_kernel_and_its_jumps():
    macs = tuple(mac_bytes(f"02:00:00:00:01:{n:02x}") for n in range(MAX_MACS_PER_IP))
    rules = ShieldRules(sources=tuple((mac_bytes(f"02:00:00:00:00:{n:02x}"), tuple(range(1, 9))) for n in range(32)),
                        crowded=tuple((ip, macs) for ip in range(1, 9)))
    program = shield_program(rules, 0, ACCEPT)
    assert all(jt < 256 and jf < 256 for _, jt, jf, _ in program)
    assert passes(program, [claim(macs[3], 5), claim(OTHER, 5)]) == [True, False]


def flooded_tally() -> ArpTally:
    counts = ArpTally(US, {X, Y}, {X: 1.0, Y: 1.0}, started=1.0)
    counts.add(claim(HOLDER, X), 1.1)
    for _ in range(3 * SOURCE_SLACK):
        counts.add(claim(FLOODER, X), 1.2)  # one MAC, one address, again and again
    for n in range(MAX_MACS_PER_IP + 5):  # random MACs on Y, all from one Ethernet source
        counts.add(claim(mac_bytes(f"02:99:00:00:00:{n:02x}"), Y, source=OTHER), 1.3)
    return counts


def test_rules_name_the_flooding_source_its_address_and_the_crowded_address():
    counts = flooded_tally()
    rules = rules_from(counts, requests_sent=10, before=ShieldRules())
    assert rules.sources == ((FLOODER, (X,)),)  # OTHER sent 21 frames: no flood by itself
    assert [ip for ip, _ in rules.crowded] == [Y] and len(rules.crowded[0][1]) == MAX_MACS_PER_IP
    # A busy but honest LAN (as many frames as requests) is never shielded.
    assert not rules_from(counts, requests_sent=10 * SOURCE_SLACK, before=ShieldRules()).sources
    # Rules only grow: once shielded, a source stays shielded.
    assert rules_from(counts, requests_sent=10 * SOURCE_SLACK, before=rules).sources == rules.sources


def test_a_source_flooding_before_we_asked_is_not_shielded_until_its_claim_is_seen():
    # Its replies for X arrive before X was asked: stale, no claim recorded. Shielding the whole
    # source then would hide its claim on X once X is asked (a duplicate-ip): wait for the claim.
    asked: dict[int, float] = {}
    counts = ArpTally(US, {X}, asked, started=1.0)
    for _ in range(3 * SOURCE_SLACK):
        counts.add(claim(FLOODER, X), 1.1)
    assert counts.stale == 3 * SOURCE_SLACK
    assert not rules_from(counts, requests_sent=0, before=ShieldRules()).sources
    asked[X] = 1.2
    for _ in range(3 * SOURCE_SLACK):
        counts.add(claim(FLOODER, X), 1.3)
    assert rules_from(counts, requests_sent=1, before=ShieldRules()).sources == ((FLOODER, (X,)),)
    assert {(o.ip, o.mac) for o in counts.observations()} == {("198.51.100.20", "02:1a:00:00:00:f1")}


def test_a_shielded_source_stays_a_flood_in_the_finding_after_more_requests_went_out():
    counts = flooded_tally()
    noise = counts.noise([FLOODER])
    shielded = Shielded(frames=500_000, sources=("02:1a:00:00:00:f1",), addresses=("198.51.100.21",))
    # By the end the scan sent many requests: the flooder's counted frames alone no longer exceed them.
    (flood,) = [f for f in noise_findings(noise, 5000, 0, shielded) if f.code == "arp-flood"]
    assert "02:1a:00:00:00:f1" in flood.message and "500000 more frames" in flood.message
    assert "at least 5 more" in flood.message  # the crowded count stopped growing once shielded
