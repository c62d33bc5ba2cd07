"""Every ARP frame the sweep hears, reduced to bounded counts: pure, no sockets.

A LAN can send anything while we scan: a million identical replies, random-MAC
replies for one address, replies left over from a previous run, announcements,
garbage. ``ArpTally.add`` costs O(1) per frame and the tally's memory is bounded
whatever arrives: one counter per (IP, MAC, Ethernet source, kind), at most
``MAX_MACS_PER_IP`` MACs kept per IP (the rest are only counted, "and N more"),
at most ``MAX_OTHER_IPS`` addresses outside the sweep, at most ``MAX_SOURCES``
per-source frame counters. What was dropped is counted, so the report can say so.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass
from typing import Iterable

from ipaudit.scan.arp_findings import ANNOUNCEMENT, REPLY, REQUEST_SENDER, ArpObservation
from ipaudit.scan.arp_frames import ARP_REQUEST, ETHERTYPE_ARP, ZERO_MAC, FRAME_LENGTH, ip_text, mac_text

MAX_MACS_PER_IP = 16  # no real LAN has more holders of one address; more is a flood
MAX_CLAIMS_PER_IP = 64  # distinct (MAC, Ethernet source, kind) counters per IP
MAX_OTHER_IPS = 4096  # addresses outside the sweep that announcements may add
MAX_SOURCES = 4096  # Ethernet sources whose frames are counted one by one
MAX_EXTRA_MACS = 65536  # (IP, MAC) pairs over the per-IP cap, remembered to count them once
MAX_EXAMPLES = 5

# Ethernet header, then ARP for IPv4 over Ethernet: htype ptype hlen plen op sha spa tha tpa.
_FRAME = struct.Struct("!6s6sHHHBBH6sI6sI")


@dataclass(frozen=True)
class NoiseCounts:
    """What the tally heard besides the claims it kept, for the flood and malformed findings."""

    frames: int  # every ARP frame read from the socket, our own excluded
    not_ipv4_arp: int  # ARP for other protocols or hardware, or truncated
    malformed: int  # all-zero, broadcast or multicast sender (ARP or Ethernet) MAC
    malformed_examples: tuple[tuple[str, str], ...]  # (claimed IP, sender MAC)
    stale: int  # replies for an address this scan had not asked (yet)
    not_for_us: int  # replies addressed to another MAC
    probes: int  # RFC 5227 probes (sender IP 0.0.0.0): they claim nothing
    untracked: int  # claims dropped by the per-IP, other-IP or extra-MAC caps
    more_macs: tuple[tuple[str, int], ...]  # (IP, distinct MACs over the cap), by IP
    more_macs_saturated: bool  # the extra-MAC memory filled up: counts are lower bounds
    sources: tuple[tuple[str, int], ...]  # (Ethernet source, frames), busiest first, bounded
    distinct_sources: int  # Ethernet sources counted (a lower bound once MAX_SOURCES is hit)


class ArpTally:
    """Counts ARP frames into observations; ``asked`` (target -> time of its latest request) is
    shared with the sender, which fills it before each request leaves: a reply for an address
    not in it answers a request this scan never sent."""

    def __init__(self, own_mac: bytes, targets: set[int], asked: dict[int, float], started: float):
        self.own_mac, self.targets, self.asked, self.started = own_mac, targets, asked, started
        self.answered: set[int] = set()  # targets that replied to us: the retry schedule reads it
        self.newly_answered: deque[int] = deque()  # for the sender to plan confirmations; it pops them
        self.first_rtt: dict[int, float] = {}  # target -> seconds from its latest request to its first reply
        self._claims: dict[tuple[int, bytes, bytes, str], list] = {}  # -> [count, first, last]
        self._macs: dict[int, set[bytes]] = {}
        self._claims_per_ip: dict[int, int] = {}
        self._other_ips = 0
        self._extra: set[tuple[int, bytes]] = set()
        self._more_macs: dict[int, int] = {}
        self._sources: dict[bytes, int] = {}
        self._malformed_examples: list[tuple[str, str]] = []
        self.frames = self.not_ipv4_arp = self.malformed = self.stale = self.not_for_us = 0
        self.probes = self.untracked = self.other_source_frames = 0
        self.saturated = False

    def add(self, frame: bytes, now: float) -> None:
        """Account for one received frame that arrived at ``now`` (monotonic seconds)."""
        if len(frame) < FRAME_LENGTH:
            self.frames += 1
            self.not_ipv4_arp += 1
            return
        (_, source, ethertype, htype, ptype, hlen, plen, operation,
         sender_mac, sender_ip, target_mac, target_ip) = _FRAME.unpack_from(frame)
        if sender_mac == self.own_mac or source == self.own_mac:
            return  # our own request, looped back on kernels without PACKET_IGNORE_OUTGOING
        self.frames += 1
        sources = self._sources
        if source in sources:
            sources[source] += 1
        elif len(sources) < MAX_SOURCES:
            sources[source] = 1
        else:
            self.other_source_frames += 1
        if (ethertype != ETHERTYPE_ARP or htype != 1 or ptype != 0x0800 or hlen != 6 or plen != 4
                or operation not in (1, 2)):
            self.not_ipv4_arp += 1
            return
        if sender_mac[0] & 1 or source[0] & 1 or sender_mac == ZERO_MAC or source == ZERO_MAC:
            # Broadcast and multicast MACs have the group bit set; no device has them, or all zeros.
            self.malformed += 1
            if len(self._malformed_examples) < MAX_EXAMPLES:
                self._malformed_examples.append((ip_text(sender_ip), mac_text(sender_mac)))
            return
        if operation == ARP_REQUEST:
            if sender_ip == 0:
                self.probes += 1  # "is anyone using this?": a claim by nobody yet
                return
            kind = ANNOUNCEMENT if sender_ip == target_ip else REQUEST_SENDER
        elif sender_ip == target_ip:
            kind = ANNOUNCEMENT  # a gratuitous reply
        elif target_mac != self.own_mac:
            self.not_for_us += 1  # someone else's conversation, flooded to us
            return
        elif sender_ip not in self.asked:
            self.stale += 1  # a reply to a request this scan has not sent: a previous run's
            return
        else:
            kind = REPLY
            if sender_ip not in self.answered and sender_ip in self.targets:
                self.answered.add(sender_ip)
                self.newly_answered.append(sender_ip)
                self.first_rtt[sender_ip] = round(now - self.asked[sender_ip], 6)
        self._claim(sender_ip, sender_mac, source, kind, now)

    def _claim(self, ip: int, mac: bytes, source: bytes, kind: str, now: float) -> None:
        key = (ip, mac, source, kind)
        counted = self._claims.get(key)
        if counted is not None:
            counted[0] += 1
            counted[2] = now
            return
        macs = self._macs.get(ip)
        if macs is None:
            if ip not in self.targets:
                if self._other_ips >= MAX_OTHER_IPS:
                    self.untracked += 1
                    return
                self._other_ips += 1
            macs = self._macs[ip] = set()
        if mac not in macs and len(macs) >= MAX_MACS_PER_IP:
            self._count_extra(ip, mac)
            return
        if self._claims_per_ip.get(ip, 0) >= MAX_CLAIMS_PER_IP:
            self.untracked += 1
            return
        macs.add(mac)
        self._claims_per_ip[ip] = self._claims_per_ip.get(ip, 0) + 1
        self._claims[key] = [1, now, now]

    def _count_extra(self, ip: int, mac: bytes) -> None:
        self.untracked += 1
        pair = (ip, mac)
        if pair in self._extra:
            return
        if len(self._extra) >= MAX_EXTRA_MACS:
            self.saturated = True
            return
        self._extra.add(pair)
        self._more_macs[ip] = self._more_macs.get(ip, 0) + 1

    # What the flood shield (``arp_shield``) reads, now and then, from the receiver thread.
    def sources_over(self, frames: int) -> list[bytes]:
        """Ethernet sources that sent more than ``frames`` frames."""
        return [source for source, count in self._sources.items() if count > frames]

    def crowded_ips(self) -> list[int]:
        """Addresses claimed by more MACs than are kept."""
        return [ip for ip, more in self._more_macs.items() if more > 0]

    def kept_macs(self, ip: int) -> set[bytes]:
        return set(self._macs.get(ip, ()))

    def ips_flooded_by(self, source: bytes, frames: int) -> set[int]:
        """Addresses ``source`` repeated one claim on more than ``frames`` times."""
        return {ip for (ip, _, from_, _), (count, _, _) in self._claims.items() if from_ == source and count > frames}

    def ips_claimed_by(self, source: bytes) -> set[int]:
        return {ip for (ip, _, from_, _) in self._claims if from_ == source}

    def observations(self) -> tuple[ArpObservation, ...]:
        """One observation per (IP, MAC, Ethernet source, kind), in first-seen order."""
        def since(moment: float) -> float:
            return round(moment - self.started, 3)

        return tuple(ArpObservation(ip=ip_text(ip), mac=mac_text(mac), eth_source=mac_text(source), kind=kind,
                                    count=count, first_seen=since(first), last_seen=since(last))
                     for (ip, mac, source, kind), (count, first, last) in self._claims.items())

    def noise(self, keep_sources: Iterable[bytes] = ()) -> NoiseCounts:
        """The counts; ``sources`` holds the busiest and every one of ``keep_sources`` (shielded ones)."""
        ordered = sorted(self._sources.items(), key=lambda item: (-item[1], item[0]))
        kept = set(keep_sources)
        busiest = ordered[:MAX_EXAMPLES * 4] + [item for item in ordered[MAX_EXAMPLES * 4:] if item[0] in kept]
        return NoiseCounts(
            frames=self.frames, not_ipv4_arp=self.not_ipv4_arp, malformed=self.malformed,
            malformed_examples=tuple(self._malformed_examples), stale=self.stale, not_for_us=self.not_for_us,
            probes=self.probes, untracked=self.untracked,
            more_macs=tuple((ip_text(ip), n) for ip, n in sorted(self._more_macs.items())),
            more_macs_saturated=self.saturated,
            sources=tuple((mac_text(mac), n) for mac, n in busiest),
            distinct_sources=len(self._sources))
