"""Turning the values a DHCP server's files or API return into model records, one bad entry at a time.

The value rules (a MAC, an epoch, an address) live here once, for file and API
sources alike. Appliance APIs hand back strings: addresses, MACs, durations, epoch seconds. A
single malformed lease should not hide the other two hundred, so ``FactsBuilder``
skips an entry it cannot read and says so in a note instead of failing the source.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from netaddr import IPAddress, IPNetwork, IPRange

from ipaudit.model import DhcpFacts, DhcpRange, Lease, Reservation

_MAC_PART = re.compile(r"^[0-9a-f]{1,2}$")
_DURATION_PART = re.compile(r"(\d+)(ms|w|d|h|m|s)")


def parse_address(value: Any) -> IPAddress | None:
    """One IP address, or None when the text is not one (strict: no ``10`` or ``1.2.3.04``)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return IPAddress(str(ipaddress.ip_address(value.strip())))
    except ValueError:
        return None


def parse_subnet(address: Any, netmask: Any = None) -> IPNetwork | None:
    """``192.0.2.1/24``, or an address plus a dotted or numeric netmask, as its network."""
    if not isinstance(address, str) or not address.strip():
        return None
    text = address.strip()
    if "/" not in text:
        if netmask in (None, ""):
            return None
        text = f"{text}/{str(netmask).strip()}"
    try:
        return IPNetwork(str(ipaddress.ip_interface(text).network))
    except ValueError:
        return None


def normal_mac(value: Any) -> str | None:
    """A MAC as lower-case ``aa:bb:cc:dd:ee:ff``; None for anything else (client ids, DUIDs, blanks).

    Accepts ``AA-BB-..`` and the one-digit parts ``0:1a:..`` that dhcpd and dnsmasq
    configs allow. File and API sources share this one rule, so a MAC compares equal
    whichever way it was read.
    """
    if not isinstance(value, str):
        return None
    parts = value.strip().lower().replace("-", ":").split(":")
    if len(parts) != 6 or not all(_MAC_PART.match(part) for part in parts):
        return None
    return ":".join(part.zfill(2) for part in parts)


def text_or_none(value: Any) -> str | None:
    """A hostname-like string, with the placeholders vendors use for "none" dropped."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text if text and text not in ("*", "-", "?") else None


def duration_seconds(text: Any) -> int | None:
    """RouterOS-style durations (``1w2d3h4m5s``, ``9m52s``, ``500ms``) in whole seconds."""
    if not isinstance(text, str) or not text.strip():
        return None
    clean = text.strip()
    parts = _DURATION_PART.findall(clean)
    if not parts or "".join(f"{n}{u}" for n, u in parts) != clean:
        return None
    unit_seconds = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return int(sum(int(number) * unit_seconds[unit] for number, unit in parts))


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def from_epoch(seconds: Any) -> datetime | None:
    """Epoch seconds as an aware UTC datetime; 0, negatives and junk mean "no expiry known"."""
    try:
        value = int(seconds)
    except (TypeError, ValueError):
        return None
    if value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def after(seconds: int | None, now: datetime | None = None) -> datetime | None:
    if seconds is None:
        return None
    return (now or utc_now()) + timedelta(seconds=seconds)


class FactsBuilder:
    """Collects ranges, leases and reservations for one source; invalid entries become notes."""

    def __init__(self, source: str):
        self.source = source
        self.ranges: list[DhcpRange] = []
        self.leases: list[Lease] = []
        self.reservations: list[Reservation] = []
        self.notes: list[str] = []
        self.routers: list[IPAddress] = []

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def add_range(self, start: Any, end: Any, label: str, subnet: IPNetwork | None = None) -> DhcpRange | None:
        first, last = parse_address(start), parse_address(end)
        if first is None or last is None or first.version != last.version or last < first:
            self.note(f"{label}: skipped a range that is not an address range ({start!r} - {end!r})")
            return None
        dhcp_range = DhcpRange(addresses=IPRange(first, last), label=label, subnet=subnet)
        self.ranges.append(dhcp_range)
        return dhcp_range

    def add_router(self, ip: Any, what: str = "router") -> None:
        """The router (DHCP option 3) the server hands its clients; a bad value is a note, not a failure."""
        address = parse_address(ip)
        if address is None or address.version != 4 or int(address) == 0:
            if ip not in (None, ""):
                self.note(f"skipped a {what} that is not an IPv4 address ({ip!r})")
            return
        if address not in self.routers:
            self.routers.append(address)

    def add_lease(self, ip: Any, mac: Any = None, hostname: Any = None, expires: datetime | None = None,
                  what: str = "lease") -> None:
        address = parse_address(ip)
        if address is None:
            self.note(f"skipped a {what} with no valid IP address ({ip!r})")
            return
        self.leases.append(Lease(ip=address, mac=normal_mac(mac), hostname=text_or_none(hostname),
                                 expires=expires, source=self.source))

    def add_reservation(self, ip: Any, mac: Any = None, hostname: Any = None, what: str = "reservation") -> None:
        address = parse_address(ip)
        if address is None:
            self.note(f"skipped a {what} with no valid IP address ({ip!r})")
            return
        self.reservations.append(Reservation(ip=address, mac=normal_mac(mac), hostname=text_or_none(hostname),
                                             source=self.source))

    def facts(self) -> DhcpFacts:
        return DhcpFacts(source=self.source, ranges=tuple(self.ranges), leases=tuple(self.leases),
                         reservations=tuple(self.reservations), notes=tuple(self.notes), routers=tuple(self.routers))
