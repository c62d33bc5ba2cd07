"""What each load-balancer controller really accepts and hands out, parsed the way its own Go code does.

ipaudit's command line is forgiving (shorthand, spaces, lists); the controllers are
not. These modules mirror MetalLB, Cilium LB IPAM and kube-vip-cloud-provider rule by
rule, each rule citing the upstream file it follows, and return what the controller
would refuse as ``Rejection`` data instead of raising, so one bad entry becomes a
finding rather than an exit.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Iterable

from netaddr import IPAddress, IPRange, IPSet


@dataclass(frozen=True)
class Rejection:
    """One object a controller refuses or disables, worded for the ``manifest-rejected`` finding.

    ``entry`` is the exact text the user wrote; ``fix`` says how to write it so the
    controller takes it; ``effect`` says what the controller then does (MetalLB keeps
    its whole configuration unloaded, Cilium disables one pool, kube-vip leaves one
    scope's Services pending); ``upstream`` names the file and function followed.
    """

    controller: str  # metallb, cilium, kube-vip
    object: str  # "IPAddressPool metallb-system/main-pool"
    entry: str
    rule: str
    fix: str
    upstream: str
    effect: str = ""
    source: str = ""
    pool: str | None = None  # the pool this refusal takes out, when there is one

    @property
    def message(self) -> str:
        effect = f"; {self.effect}" if self.effect else ""
        return f"{self.controller} refuses {self.object} entry {self.entry!r}: {self.rule}{effect}; {self.fix}"


class EntryRefused(Exception):
    """Raised inside a controller's entry parser; the caller turns it into a ``Rejection``."""

    def __init__(self, rule: str, fix: str, upstream: str):
        super().__init__(rule)
        self.rule, self.fix, self.upstream = rule, fix, upstream


def go_parse_ip(text: str) -> IPAddress | None:
    """Go's ``net.ParseIP``: strict dotted quad (no leading zeros since Go 1.17) or IPv6, no zone, no spaces.

    Go returns IPv4-mapped IPv6 text (``::ffff:192.168.1.10``) as the IPv4 address,
    so it comes back here as IPv4, which is what MetalLB sees.
    """
    if not isinstance(text, str) or not text or "%" in text or text != text.strip():
        return None
    try:
        parsed = ipaddress.ip_address(text)
    except ValueError:
        return None
    if parsed.version == 6 and parsed.ipv4_mapped is not None:
        return IPAddress(str(parsed.ipv4_mapped))
    return IPAddress(str(parsed))


def netip_parse_addr(text: str) -> IPAddress | None:
    """Go's ``netip.ParseAddr`` (kube-vip, Cilium): like ``net.ParseIP`` but IPv4-mapped text stays IPv6."""
    if not isinstance(text, str) or not text or "%" in text or text != text.strip():
        return None
    try:
        return IPAddress(str(ipaddress.ip_address(text)))
    except ValueError:
        return None


def netip_parse_prefix(text: str) -> IPRange | None:
    """Go's ``netip.ParsePrefix`` then ``RangeOfPrefix``: ``addr/bits``, host bits allowed and masked off."""
    if not isinstance(text, str) or text.count("/") != 1:
        return None
    address_text, bits_text = text.split("/")
    address = netip_parse_addr(address_text)
    if address is None or not bits_text.isdigit() or (len(bits_text) > 1 and bits_text[0] == "0"):
        return None
    bits = int(bits_text)
    width = 32 if address.version == 4 else 128
    if bits > width:
        return None
    network = ipaddress.ip_network(f"{address}/{bits}", strict=False)
    return IPRange(str(network.network_address), str(network.broadcast_address))


def ranges_of(addresses: IPSet) -> tuple[IPRange, ...]:
    return tuple(addresses.iter_ipranges())


def without_ipv4_ends(addresses: IPSet) -> IPSet:
    """Every IPv4 address ending in .0 or .255 removed (IPv6 untouched), one /24 at a time."""
    result = IPSet(addresses)
    for address_range in list(addresses.iter_ipranges()):
        if address_range.version != 4:
            continue
        for block in range(address_range.first >> 8, (address_range.last >> 8) + 1):
            for last_octet in (0, 0xFF):
                value = (block << 8) | last_octet
                if address_range.first <= value <= address_range.last:
                    result.remove(IPAddress(value, 4))
    return result


def overlapping_pairs(items: Iterable[tuple[str, IPRange]]) -> list[tuple[str, str]]:
    """Pairs of labelled ranges that share an address, in input order (a sort-and-sweep, not all pairs)."""
    ordered = sorted(((r.version, r.first, r.last, label) for label, r in items))
    found: list[tuple[str, str]] = []
    reach: tuple[int, int, str] | None = None  # (version, last, label) of the range reaching furthest so far
    for version, first, last, label in ordered:
        if reach is not None and reach[0] == version and first <= reach[1]:
            found.append((reach[2], label))
        if reach is None or reach[0] != version or last > reach[1]:
            reach = (version, last, label)
    return found
