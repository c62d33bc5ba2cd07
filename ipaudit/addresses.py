"""Address specs: the one place where typed address text becomes netaddr ranges, and back.

A spec is a comma-separated list of items; each item is a single IP, a full
range (``a-b`` or ``a - b``, as Kea writes), the last-octet shorthand
``192.168.1.240-245`` (which MetalLB itself rejects, so ipaudit always writes
full forms back), or a CIDR. IPv4 and IPv6 may be mixed across items, never
inside one range.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from netaddr import AddrFormatError, IPAddress, IPNetwork, IPRange, IPSet

from ipaudit.errors import SpecError


@dataclass(frozen=True)
class AddressSpec:
    """A parsed spec: its ranges in the order typed, and any CIDR written with host bits."""

    text: str
    ranges: tuple[IPRange, ...]
    cidrs_with_host_bits: tuple[str, ...] = ()

    def ipset(self) -> IPSet:
        return IPSet(self.ranges)


def _parse_ip(text: str, whole: str) -> IPAddress:
    try:
        # Fast path for the common dotted quad (scan inventories hold tens of thousands);
        # inet_pton is as strict as netaddr: no "10", no "1.2.3", no "010.1.1.1".
        return IPAddress(int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big"), 4)
    except (OSError, TypeError, ValueError):
        pass
    try:
        # netaddr >= 1.0 parses like inet_pton: no "10", no "1.2.3", no "010.1.1.1".
        return IPAddress(text)
    except (AddrFormatError, ValueError, TypeError):
        raise SpecError(f"invalid IP address {text!r} in {whole!r}") from None


def _parse_cidr(item: str, whole: str) -> tuple[IPRange, bool]:
    address, _, prefix = item.partition("/")
    ip = _parse_ip(address.strip(), whole)
    prefix = prefix.strip()
    max_len = 32 if ip.version == 4 else 128
    if not prefix.isdigit() or int(prefix) > max_len:
        raise SpecError(f"invalid prefix length {prefix!r} in {whole!r}")
    prefix_len = int(prefix)
    network = IPNetwork(f"{ip}/{prefix_len}")
    has_host_bits = network.ip != network.network
    # netaddr guesses the family of a bare integer (anything below 2**32 is IPv4), so ``::/120``
    # would become 0.0.0.0-0.0.0.255 and ``::/0`` would not parse at all: always pass the version.
    return _range(network.first, network.last, ip.version), has_host_bits


def _range(first: int, last: int, version: int) -> IPRange:
    return IPRange(IPAddress(first, version), IPAddress(last, version))


def _expand_shorthand(start: IPAddress, end_text: str, whole: str) -> IPAddress:
    """``192.168.1.240-245``: the end names only the last octet (IPv4 only)."""
    if start.version != 4 or not end_text.isdigit() or int(end_text) > 255:
        raise SpecError(f"invalid range end {end_text!r} in {whole!r}")
    return IPAddress((int(start) & 0xFFFFFF00) | int(end_text), 4)


def _parse_range(item: str, whole: str) -> IPRange:
    start_text, _, end_text = (part.strip() for part in item.partition("-"))
    if not start_text or not end_text:
        raise SpecError(f"incomplete range {item!r} in {whole!r}")
    start = _parse_ip(start_text, whole)
    if "." in end_text or ":" in end_text:
        end = _parse_ip(end_text, whole)
    else:
        end = _expand_shorthand(start, end_text, whole)
    if start.version != end.version:
        raise SpecError(f"range {item!r} mixes IPv4 and IPv6")
    if end < start:
        raise SpecError(f"reversed range {item!r}: {start} is after {end}")
    return IPRange(start, end)


def _parse_item(item: str, whole: str) -> tuple[IPRange, bool]:
    if "/" in item:
        return _parse_cidr(item, whole)
    # IPv6 addresses contain no '-', so a dash always separates a range.
    if "-" in item:
        return _parse_range(item, whole), False
    ip = _parse_ip(item, whole)
    return IPRange(ip, ip), False


def parse_spec(text: str) -> AddressSpec:
    """Parse a spec, raising SpecError with a one-line message naming the bad text."""
    if text is None or not str(text).strip():
        raise SpecError("empty address spec")
    whole = str(text).strip()
    ranges: list[IPRange] = []
    host_bits: list[str] = []
    for raw in whole.split(","):
        item = raw.strip()
        if not item:
            raise SpecError(f"empty item in address list {whole!r}")
        address_range, has_host_bits = _parse_item(item, whole)
        ranges.append(address_range)
        if has_host_bits:
            host_bits.append(item)
    return AddressSpec(whole, tuple(ranges), tuple(host_bits))


def parse_ip(text: str) -> IPAddress:
    """Parse exactly one IP address."""
    whole = str(text).strip()
    if not whole:
        raise SpecError("empty IP address")
    return _parse_ip(whole, whole)


def parse_network(text: str) -> IPNetwork:
    """Parse a subnet in CIDR form; host bits are dropped (``192.168.1.5/24`` is the /24)."""
    whole = str(text).strip()
    if "/" not in whole:
        raise SpecError(f"subnet {whole!r} needs a prefix length, like 192.168.1.0/24")
    address_range, _ = _parse_cidr(whole, whole)
    return IPNetwork(address_range.cidrs()[0])


def format_range(address_range: IPRange) -> str:
    """The full form MetalLB accepts: ``a-b``, or ``a`` for one address."""
    if address_range.first == address_range.last:
        return str(IPAddress(address_range.first, address_range.version))
    return f"{IPAddress(address_range.first, address_range.version)}-{IPAddress(address_range.last, address_range.version)}"


def format_set(addresses) -> list[str]:
    """A set as its contiguous full-form ranges, in address order."""
    return [format_range(r) for r in addresses.iter_ipranges()]


def describe_set(addresses, limit: int = 6) -> str:
    """A short human rendering for messages: the first ``limit`` ranges, then a count."""
    parts = format_set(addresses)
    shown = ", ".join(parts[:limit])
    if len(parts) > limit:
        shown += f" and {len(parts) - limit} more ranges"
    return shown

