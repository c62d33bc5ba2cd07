"""What ARP traffic says about the LAN: the host table and the ARP findings, from plain observations.

An observation is "``mac`` claimed ``ip``" (an ARP reply, announcement or request
sender), with the frame's Ethernet source when known. The active sweep and passive
listening both reduce to observations, so both report findings the same way.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Iterable

from netaddr import IPAddress

from ipaudit.findings import Code, finding
from ipaudit.model import Finding, Host
from ipaudit.scan.vendor import vendor_of


#: How an observation's MAC claimed its IP (``ArpObservation.kind``).
REPLY = "reply"  # answered a request this scan sent, after it was sent
ANNOUNCEMENT = "announcement"  # gratuitous ARP / RFC 5227 announcement: sender IP == target IP
REQUEST_SENDER = "request-sender"  # asked someone else "who has ...? tell <ip>"


@dataclass(frozen=True)
class ArpObservation:
    """``mac`` (the ARP sender hardware address) claimed ``ip``; ``eth_source`` is the frame's source.

    The sweep yields one observation per (ip, mac, eth_source, kind) with ``count`` frames,
    ``first_seen``/``last_seen`` in seconds since the sweep started (None: unknown, e.g.
    passive mode), so a clean hand-over (old MAC silent after the new one announced)
    can be told from a split brain (both keep answering).
    """

    ip: str
    mac: str
    eth_source: str | None = None
    kind: str = REPLY
    count: int = 1
    first_seen: float | None = None
    last_seen: float | None = None


def _macs_by_ip(observations: Iterable[ArpObservation]) -> dict[str, list[str]]:
    macs: dict[str, list[str]] = {}
    for seen in observations:
        known = macs.setdefault(seen.ip, [])
        mac = seen.mac.lower()
        if mac not in known:
            known.append(mac)
    return macs


def _ip_order(ip: str) -> int:
    # inet_aton is ~20x cheaper than parsing an IPAddress, and a /16 sweep sorts thousands.
    return int.from_bytes(socket.inet_aton(ip), "big")


def hosts_from_observations(observations: Iterable[ArpObservation]) -> tuple[Host, ...]:
    """One Host per IP, with its distinct MACs in the order they were first seen, sorted by IP."""
    hosts = []
    keyed = sorted((_ip_order(ip), macs) for ip, macs in _macs_by_ip(observations).items())
    for number, macs in keyed:
        vendors = [v for v in (vendor_of(m) for m in macs) if v]
        hosts.append(Host(ip=IPAddress(number, 4), macs=tuple(macs),
                          vendor=" / ".join(dict.fromkeys(vendors)) or None))
    return tuple(hosts)


def duplicate_ip_findings(observations: Iterable[ArpObservation],
                          ignore_ips: Iterable[str] = ()) -> list[Finding]:
    """``duplicate-ip``: two or more distinct MACs claim one IP. One MAC repeating itself is fine."""
    ignored = set(ignore_ips)
    findings = []
    for ip, macs in sorted(_macs_by_ip(observations).items(), key=lambda item: _ip_order(item[0])):
        if len(macs) > 1 and ip not in ignored:
            findings.append(finding(
                Code.DUPLICATE_IP,
                f"{ip} is answered by {len(macs)} different MACs ({', '.join(macs)}): "
                "two devices hold the same address, so traffic to it goes to either one",
                addresses=(ip,), subject=(ip, *sorted(macs))))
    return findings


def self_conflict_findings(own_ip: str, own_mac: str, observations: Iterable[ArpObservation],
                           interface: str | None = None) -> list[Finding]:
    """``ip-conflict-with-self``: another MAC claims the scanner's own address."""
    others = [m for m in _macs_by_ip(o for o in observations if o.ip == str(own_ip)).get(str(own_ip), [])
              if m != own_mac.lower()]
    if not others:
        return []
    where = f" on {interface}" if interface else ""
    return [finding(
        Code.IP_CONFLICT_WITH_SELF,
        f"our own address {own_ip}{where} (MAC {own_mac.lower()}) is also claimed by "
        f"{', '.join(others)}: this machine's traffic is being split with another device",
        addresses=(str(own_ip),), subject=(str(own_ip), *sorted(others)))]


def sender_mismatch_findings(observations: Iterable[ArpObservation]) -> list[Finding]:
    """``arp-sender-mismatch`` (info): the Ethernet source differs from the ARP sender MAC."""
    pairs: dict[str, set[tuple[str, str]]] = {}
    for seen in observations:
        if seen.eth_source and seen.eth_source.lower() != seen.mac.lower():
            pairs.setdefault(seen.ip, set()).add((seen.eth_source.lower(), seen.mac.lower()))
    findings = []
    for ip in sorted(pairs, key=_ip_order):
        described = "; ".join(f"frame from {eth} says {ip} is at {mac}" for eth, mac in sorted(pairs[ip]))
        findings.append(finding(
            Code.ARP_SENDER_MISMATCH,
            f"{described}: likely proxy ARP (a router answering for another host), otherwise ARP spoofing",
            addresses=(ip,), subject=(ip, *(f"{eth}>{mac}" for eth, mac in sorted(pairs[ip])))))
    return findings


def arp_findings(observations: Iterable[ArpObservation], own_ip: str | None = None,
                 own_mac: str | None = None, interface: str | None = None) -> list[Finding]:
    """Every ARP finding: self-conflict, duplicates among the other IPs, sender mismatches."""
    observations = list(observations)
    findings = []
    if own_ip and own_mac:
        findings += self_conflict_findings(own_ip, own_mac, observations, interface)
    findings += duplicate_ip_findings(observations, ignore_ips=[str(own_ip)] if own_ip else ())
    findings += sender_mismatch_findings(observations)
    return findings
