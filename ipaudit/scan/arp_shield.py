"""Shield the sweep from an ARP flood in the kernel, so Python stops paying for every flood frame.

Once the tally shows a flood mid-sweep (a source sending far more frames than the scan's
requests could draw, or an address claimed by more MACs than any LAN has: the same tests
``arp_noise`` applies at the end), the sweep's socket gets a new classic BPF filter that
also drops the flood's frames: from a flooding Ethernet source, its claims on the addresses
it floods (all its frames when it floods no one address), and for a crowded address, every
claim from a MAC other than those already kept. Everything else still passes, so the real
holder of a flooded address and every other host keep answering.

A filter that drops a frame cannot count it, and PACKET_STATISTICS only counts what a filter
accepts. So a second socket carries the opposite filter (only the shielded frames) and a
receive buffer too small to hold them; it is never read, and its PACKET_STATISTICS, which
count a frame dropped for want of room too, give the number the kernel filtered out.
"""

from __future__ import annotations

import logging
import socket
import struct
from dataclasses import dataclass

from ipaudit.scan.arp_frames import FRAME_LENGTH, ip_text, mac_text
from ipaudit.scan.arp_noise import SOURCE_SLACK
from ipaudit.scan.rawsocket import attach_filter, open_raw_socket

log = logging.getLogger(__name__)

MAX_SOURCES = 32  # flooding Ethernet sources shielded
MAX_IPS_PER_SOURCE = 8  # more flooded addresses than this from one source: shield all its frames
MAX_CROWDED = 8  # crowded addresses shielded
ACCEPT = 0x40000
SOL_PACKET, PACKET_STATISTICS, PACKET_IGNORE_OUTGOING = 263, 6, 23

# Classic BPF opcodes (linux/filter.h) and offsets in an untagged Ethernet ARP frame.
LD_W, LD_H, LD_LEN, JEQ, JGE, RET = 0x20, 0x28, 0x80, 0x15, 0x35, 0x06
ETH_SOURCE, ETHERTYPE, SENDER_MAC, SENDER_IP = 6, 12, 22, 28


@dataclass(frozen=True)
class ShieldRules:
    """What the kernel drops: ``sources`` (Ethernet source, flooded IPs; none = every frame),
    and ``crowded`` (IP, the MACs kept for it: claims on the IP from other MACs are dropped)."""

    sources: tuple[tuple[bytes, tuple[int, ...]], ...] = ()
    crowded: tuple[tuple[int, tuple[bytes, ...]], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.sources or self.crowded)

    def describe(self) -> str:
        parts = [f"{mac_text(source)}" + (f" claiming {', '.join(ip_text(ip) for ip in ips)}" if ips else "")
                 for source, ips in self.sources]
        parts += [f"claims on {ip_text(ip)} from MACs other than the {len(kept)} kept" for ip, kept in self.crowded]
        return "; ".join(parts)


def _mac_test(offset: int, mac: bytes, skip: int) -> list[tuple[int, int, int, int]]:
    """Fall through when the 6 bytes at ``offset`` are ``mac``; otherwise skip ``skip`` more instructions."""
    high, low = struct.unpack("!IH", mac)
    return [(LD_W, 0, 0, offset), (JEQ, 0, skip + 2, high), (LD_H, 0, 0, offset + 4), (JEQ, 0, skip, low)]


def shield_program(rules: ShieldRules, shielded: int, other: int) -> list[tuple[int, int, int, int]]:
    """A filter returning ``shielded`` for the frames ``rules`` name and ``other`` for every other ARP
    frame (non-ARP: 0). The sweep's socket gets (0, ACCEPT); the counting socket (ACCEPT, 0)."""
    program = [(LD_H, 0, 0, ETHERTYPE), (JEQ, 1, 0, 0x0806), (RET, 0, 0, 0),
               (LD_LEN, 0, 0, 0), (JGE, 1, 0, FRAME_LENGTH), (RET, 0, 0, other)]  # short: the tally counts it
    for source, ips in rules.sources:
        body = [(RET, 0, 0, shielded)] if not ips else [(LD_W, 0, 0, SENDER_IP)] + [
            instruction for ip in ips for instruction in ((JEQ, 0, 1, ip), (RET, 0, 0, shielded))]
        program += _mac_test(ETH_SOURCE, source, len(body)) + body
    for ip, kept in rules.crowded:
        body = [instruction for mac in kept for instruction in _mac_test(SENDER_MAC, mac, 1) + [(RET, 0, 0, other)]]
        body.append((RET, 0, 0, shielded))
        program += [(LD_W, 0, 0, SENDER_IP), (JEQ, 0, len(body), ip)] + body
    program.append((RET, 0, 0, other))
    return program


def rules_from(tally, requests_sent: int, before: ShieldRules) -> ShieldRules:
    """The rules the tally calls for now (``arp_noise``'s flood tests), added to ``before``'s."""
    sources = dict(before.sources)
    crowded = dict(before.crowded)
    for ip in tally.crowded_ips():
        if ip not in crowded and len(crowded) < MAX_CROWDED:
            crowded[ip] = tuple(sorted(tally.kept_macs(ip)))
    for source in tally.sources_over(requests_sent + SOURCE_SLACK):
        if source in sources or len(sources) >= MAX_SOURCES:
            continue
        flooded = sorted(tally.ips_flooded_by(source, SOURCE_SLACK) | (tally.ips_claimed_by(source) & set(crowded)))
        if not flooded:
            # Nothing it floods counts as a claim yet (its replies so far came before we asked): shielding
            # the whole source now would hide the claim it makes once we do. Slower, never wrong.
            continue
        sources[source] = tuple(flooded) if len(flooded) <= MAX_IPS_PER_SOURCE else ()
    return ShieldRules(tuple(sorted(sources.items())), tuple(sorted(crowded.items())))


class FloodShield:
    """Watches the tally from the receiver thread and shields the sweep's socket once it floods."""

    def __init__(self, sock: socket.socket, interface: str, tally, requests_sent):
        self.sock, self.interface, self.tally, self.requests_sent = sock, interface, tally, requests_sent
        self.rules = ShieldRules()
        self.counter: socket.socket | None = None
        self.counted = 0
        self.counting = True  # False when the counting socket could not be opened
        self.next_check: float = 2 * SOURCE_SLACK

    def check(self) -> None:
        """Cheap unless the tally has grown by a quarter since the last look."""
        frames = self.tally.frames
        if frames < self.next_check:
            return
        self.next_check = frames + max(SOURCE_SLACK, frames // 4)
        rules = rules_from(self.tally, self.requests_sent(), self.rules)
        if rules == self.rules:
            return
        self._count(rules)
        try:
            attach_filter(self.sock, shield_program(rules, 0, ACCEPT))
        except OSError as problem:  # the sweep goes on unshielded: slower, never wrong
            log.warning("cannot filter the ARP flood on %s in the kernel: %s", self.interface, problem)
            self.next_check = float("inf")
            return
        self.rules = rules
        log.info("ARP flood on %s: the kernel now drops %s", self.interface, rules.describe())

    def _count(self, rules: ShieldRules) -> None:
        program = shield_program(rules, ACCEPT, 0)
        try:
            if self.counter is None:
                self.counter = open_raw_socket(self.interface, program)
                self.counter.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 0)  # the kernel's minimum
                try:
                    self.counter.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
                except OSError:
                    pass
            else:
                attach_filter(self.counter, program)
        except OSError as problem:  # RawSocketError included: shield anyway, count nothing more
            log.info("cannot count the frames shielded on %s: %s", self.interface, problem)
            self.counting = False

    def close(self) -> int:
        """Close the counting socket; return how many frames the shield dropped."""
        if self.counter is not None:
            try:
                received, drops = struct.unpack("II", self.counter.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
                self.counted += received  # the kernel adds the drops to the received count
            except OSError:
                self.counting = False
            self.counter.close()
            self.counter = None
        return self.counted
