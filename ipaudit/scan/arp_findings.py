"""What ARP traffic says about the LAN: the host table and the ARP findings, from plain observations.

An observation is "``mac`` claimed ``ip``" (an ARP reply, announcement or request
sender), with the frame's Ethernet source when known, how often and when. The active
sweep and passive listening both reduce to observations, so both report findings the
same way. Two MACs on one IP is not always two devices: the scanner's own NICs, one
host's NICs answering for each other (ARP flux), a VIP handed over (mac-moved) and a
router answering for a block it routes (proxy ARP) are each told apart here
(``arp_meaning``), and only what is left is a ``duplicate-ip``.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Iterable

from netaddr import IPAddress

from ipaudit.findings import Code, finding
from ipaudit.model import Finding, Host, ProxiedBlock
from ipaudit.scan.vendor import vendor_of

#: How an observation's MAC claimed its IP (``ArpObservation.kind``).
REPLY = "reply"  # answered a request this scan sent, after it was sent
ANNOUNCEMENT = "announcement"  # gratuitous ARP / RFC 5227 announcement: sender IP == target IP
REQUEST_SENDER = "request-sender"  # asked someone else "who has ...? tell <ip>"


@dataclass(frozen=True)
class ArpObservation:
    """``mac`` (the ARP sender hardware address) claimed ``ip``; ``eth_source`` is the frame's source.

    ``count`` frames of ``kind`` said so, the first and last at ``first_seen`` / ``last_seen``
    (monotonic seconds; None when unknown, and then no ordering is concluded).
    """

    ip: str
    mac: str
    eth_source: str | None = None
    count: int = 1
    kind: str = REPLY
    first_seen: float | None = None
    last_seen: float | None = None


@dataclass(frozen=True)
class ThisHost:
    """The scanning host as the LAN sees it: its addresses there and every MAC it owns.

    ``addresses`` are kernel addresses (every one of ``-i``, and other local NICs' inside the
    swept subnets); ``vips`` are ``--self-vip`` addresses a userspace speaker here announces.
    A reply from any of ``macs`` is this host answering, never a conflict.
    """

    interface: str | None = None
    mac: str | None = None
    addresses: tuple[str, ...] = ()
    vips: tuple[str, ...] = ()
    macs: frozenset[str] = frozenset()

    @property
    def ips(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.addresses, *self.vips)))

    @property
    def all_macs(self) -> frozenset[str]:
        own = {self.mac.lower()} if self.mac else set()
        return frozenset({m.lower() for m in self.macs} | own)


@dataclass
class Claim:
    """Everything seen of one MAC claiming one IP in this scan."""

    mac: str
    count: int = 0
    first_seen: float | None = None
    last_seen: float | None = None
    #: When this MAC first announced (or asked from) the IP unprompted; None if it only replied.
    first_announced: float | None = None
    timed: bool = True

    def add(self, seen: ArpObservation) -> None:
        self.count += max(int(getattr(seen, "count", 1) or 1), 1)
        first, last = getattr(seen, "first_seen", None), getattr(seen, "last_seen", None)
        if first is None:
            self.timed = False
            return
        last = first if last is None else last
        self.first_seen = first if self.first_seen is None else min(self.first_seen, first)
        self.last_seen = last if self.last_seen is None else max(self.last_seen, last)
        if str(getattr(seen, "kind", REPLY) or REPLY) != REPLY:
            self.first_announced = first if self.first_announced is None else min(self.first_announced, first)


def claims_by_ip(observations: Iterable[ArpObservation]) -> dict[str, dict[str, Claim]]:
    """``{ip: {mac: Claim}}``, MACs in the order first seen."""
    claims: dict[str, dict[str, Claim]] = {}
    for seen in observations:
        mac = seen.mac.lower()
        per_ip = claims.setdefault(seen.ip, {})
        claim = per_ip.get(mac)
        if claim is None:
            claim = per_ip[mac] = Claim(mac)
        claim.add(seen)
    return claims


def _macs_by_ip(observations: Iterable[ArpObservation]) -> dict[str, list[str]]:
    return {ip: list(per_ip) for ip, per_ip in claims_by_ip(observations).items()}


def ip_order(ip: str) -> int:
    # inet_aton is ~20x cheaper than parsing an IPAddress, and a /16 sweep sorts thousands.
    return int.from_bytes(socket.inet_aton(ip), "big")


_ip_order = ip_order


def hosts_from_observations(observations: Iterable[ArpObservation]) -> tuple[Host, ...]:
    """One Host per IP, with its distinct MACs in the order they were first seen, sorted by IP."""
    hosts = []
    keyed = sorted((ip_order(ip), macs) for ip, macs in _macs_by_ip(observations).items())
    for number, macs in keyed:
        vendors = [v for v in (vendor_of(m) for m in macs) if v]
        hosts.append(Host(ip=IPAddress(number, 4), macs=tuple(macs),
                          vendor=" / ".join(dict.fromkeys(vendors)) or None))
    return tuple(hosts)


def duplicate_ip_findings(observations: Iterable[ArpObservation],
                          ignore_ips: Iterable[str] = ()) -> list[Finding]:
    """``duplicate-ip``: two or more distinct MACs claim one IP. One MAC repeating itself is fine."""
    return _duplicates(_macs_by_ip(observations), set(ignore_ips))


def _duplicates(macs_by_ip: dict[str, list[str]], ignored: set[str]) -> list[Finding]:
    findings = []
    for ip, macs in sorted(macs_by_ip.items(), key=lambda item: ip_order(item[0])):
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
    this_host = ThisHost(interface=interface, mac=own_mac, addresses=(str(own_ip),))
    return _self_conflicts(this_host, _macs_by_ip(observations))


def _self_conflicts(this_host: ThisHost, macs_by_ip: dict[str, list[str]]) -> list[Finding]:
    findings = []
    ours = this_host.all_macs
    where = f" on {this_host.interface}" if this_host.interface else ""
    own_mac = f" (MAC {this_host.mac.lower()})" if this_host.mac else ""
    for ip in sorted(this_host.ips, key=ip_order):
        others = [m for m in macs_by_ip.get(ip, ()) if m not in ours]
        if not others:
            continue
        if ip in this_host.vips and ip not in this_host.addresses:
            what = f"the VIP {ip} this host announces{where} (--self-vip{own_mac})"
            effect = "clients of the service reach that device instead of this node"
        else:
            what = f"our own address {ip}{where}{own_mac}"
            effect = "this machine's traffic is being split with another device"
        findings.append(finding(
            Code.IP_CONFLICT_WITH_SELF, f"{what} is also claimed by {', '.join(others)}: {effect}",
            addresses=(ip,), subject=(ip, *sorted(others))))
    return findings


def sender_mismatch_findings(observations: Iterable[ArpObservation]) -> list[Finding]:
    """``arp-sender-mismatch`` (info): the Ethernet source differs from the ARP sender MAC."""
    pairs: dict[str, set[tuple[str, str]]] = {}
    for seen in observations:
        if seen.eth_source and seen.eth_source.lower() != seen.mac.lower():
            pairs.setdefault(seen.ip, set()).add((seen.eth_source.lower(), seen.mac.lower()))
    findings = []
    for ip in sorted(pairs, key=ip_order):
        described = "; ".join(f"frame from {eth} says {ip} is at {mac}" for eth, mac in sorted(pairs[ip]))
        findings.append(finding(
            Code.ARP_SENDER_MISMATCH,
            f"{described}: real proxy ARP answers with the router's own MAC in both places, so this is "
            "a bridge or NAT rewriting frames, or ARP spoofing",
            addresses=(ip,), subject=(ip, *(f"{eth}>{mac}" for eth, mac in sorted(pairs[ip])))))
    return findings


@dataclass(frozen=True)
class ArpVerdict:
    """The ARP findings and the facts beside them: blocks answered by proxy ARP."""

    findings: tuple[Finding, ...]
    proxied: tuple[ProxiedBlock, ...] = ()


def interpret(observations: Iterable[ArpObservation], this_host: ThisHost | None = None,
              routers: Iterable[str] = ()) -> ArpVerdict:
    """Every ARP finding, each pair of MACs on one IP explained before it is called a duplicate.

    Order matters: the scanner's own addresses and MACs first, then hand-overs, proxy
    ARP and ARP flux, and ``duplicate-ip`` only for what none of them explains.
    ``routers`` are gateway IPs (routes, DHCP offers): their MACs may proxy.
    """
    from ipaudit.scan.arp_meaning import arp_flux, moved_macs, proxy_arp

    observations = list(observations)
    this_host = this_host or ThisHost()
    claims = claims_by_ip(observations)
    ours = this_host.all_macs
    own_ips = set(this_host.ips)
    macs_by_ip = {ip: list(per_ip) for ip, per_ip in claims.items()}
    findings = _self_conflicts(this_host, macs_by_ip)
    # Elsewhere, this host's own MACs answering (a second NIC, arp_ignore=0) are not a second device.
    others = {ip: {mac: claim for mac, claim in per_ip.items() if mac not in ours}
              for ip, per_ip in claims.items() if ip not in own_ips}
    moved, explained = moved_macs(others)
    findings += moved
    proxy_findings, proxied, proxied_ips = proxy_arp(others, routers)
    findings += proxy_findings
    flux, flux_ips = arp_flux({ip: list(per_ip) for ip, per_ip in others.items() if ip not in explained})
    findings += flux
    remaining = {ip: list(per_ip) for ip, per_ip in others.items()}
    findings += _duplicates(remaining, explained | flux_ips | proxied_ips)
    findings += sender_mismatch_findings(observations)
    return ArpVerdict(findings=tuple(findings), proxied=tuple(proxied))


def arp_findings(observations: Iterable[ArpObservation], own_ip: str | None = None,
                 own_mac: str | None = None, interface: str | None = None, *,
                 this_host: ThisHost | None = None, routers: Iterable[str] = ()) -> list[Finding]:
    """Every ARP finding (see ``interpret``); ``own_ip``/``own_mac`` are a one-address ``this_host``."""
    if this_host is None:
        this_host = ThisHost(interface=interface, mac=own_mac,
                             addresses=(str(own_ip),) if own_ip and own_mac else ())
    return list(interpret(observations, this_host, routers).findings)
