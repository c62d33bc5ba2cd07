"""The interface a scan runs on: its MAC, IPv4 addresses and networks, its gateways, and this
host's other MACs, read from the kernel (ioctls, rtnetlink, /proc/net/route) without sending a
packet or needing privileges."""

from __future__ import annotations

import fcntl
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

from netaddr import IPAddress, IPNetwork

from ipaudit.errors import IpauditError
from ipaudit.scan import netlink

SIOCGIFFLAGS, SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFHWADDR = 0x8913, 0x8915, 0x891B, 0x8927
IFF_UP = 0x1
PROC_ROUTE = Path("/proc/net/route")


class InterfaceError(IpauditError):
    """An interface that is missing, down or has no IPv4 address."""


@dataclass(frozen=True)
class InterfaceInfo:
    name: str
    mac: str
    ip: IPAddress
    network: IPNetwork  # the interface's address with its prefix, e.g. 198.51.100.250/24

    @property
    def subnet(self) -> IPNetwork:
        return self.network.cidr


def _ioctl(name: str, request: int) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        return fcntl.ioctl(probe.fileno(), request, struct.pack("256s", name.encode()[:15]))


def _ipv4(name: str) -> IPNetwork | None:
    try:
        address = socket.inet_ntoa(_ioctl(name, SIOCGIFADDR)[20:24])
        netmask = socket.inet_ntoa(_ioctl(name, SIOCGIFNETMASK)[20:24])
    except OSError:
        return None
    return IPNetwork(f"{address}/{netmask}")


def _is_up(name: str) -> bool:
    return bool(struct.unpack_from("H", _ioctl(name, SIOCGIFFLAGS), 16)[0] & IFF_UP)


def describe_interfaces() -> str:
    """``"eth0 (up, 198.51.100.250/24), wlan0 (down, no IPv4)"``: what the user could pick instead."""
    described = []
    for _, name in sorted(socket.if_nameindex(), key=lambda pair: pair[1]):
        if name == "lo":
            continue
        try:
            state = "up" if _is_up(name) else "down"
        except OSError:
            state = "unknown"
        network = _ipv4(name)
        described.append(f"{name} ({state}, {network if network else 'no IPv4'})")
    return ", ".join(described) or "none"


def interface_info(name: str) -> InterfaceInfo:
    """MAC, IPv4 address and network of ``name``; InterfaceError (listing the others) otherwise."""
    try:
        socket.if_nametoindex(name)
    except (OSError, UnicodeError):
        raise InterfaceError(f"no interface named {name!r}",
                             f"interfaces here: {describe_interfaces()}") from None
    if not _is_up(name):
        raise InterfaceError(f"interface {name} is down",
                             f"bring it up or pick another; interfaces here: {describe_interfaces()}")
    network = _ipv4(name)
    if network is None:
        raise InterfaceError(f"interface {name} has no IPv4 address",
                             f"ARP needs one to ask from; interfaces here: {describe_interfaces()}")
    hardware = _ioctl(name, SIOCGIFHWADDR)[18:24]
    return InterfaceInfo(name=name, mac=":".join(f"{b:02x}" for b in hardware), ip=network.ip,
                         network=network)


def default_route_interface(route_table: str | None = None) -> str:
    """The interface of the IPv4 default route, from /proc/net/route (``route_table`` for tests)."""
    if route_table is None:
        try:
            route_table = PROC_ROUTE.read_text()
        except OSError:
            route_table = ""
    best: tuple[int, str] | None = None
    for line in route_table.splitlines()[1:]:
        fields = line.split()
        # Iface Destination Gateway Flags RefCnt Use Metric Mask ...; RTF_UP is flag 0x1.
        if len(fields) >= 8 and fields[1] == "00000000" and fields[7] == "00000000" \
                and int(fields[3], 16) & 0x1:
            metric = int(fields[6])
            if best is None or metric < best[0]:
                best = (metric, fields[0])
    if best is None:
        raise InterfaceError("there is no IPv4 default route to take the interface from",
                             f"pass -i INTERFACE; interfaces here: {describe_interfaces()}")
    return best[1]


def interface_networks(name: str, primary: IPNetwork | None = None) -> tuple[IPNetwork, ...]:
    """Every IPv4 address of ``name`` with its prefix (``primary`` first): secondaries and /32 VIPs too."""
    try:
        found = [IPNetwork(f"{a.ip}/{a.prefixlen}") for a in netlink.local_ipv4_addresses() if a.interface == name]
    except OSError:
        found = []  # no rtnetlink (a locked-down sandbox): the primary address is still known
    ordered = ([primary] if primary is not None else []) + found
    # Keyed by text: netaddr's IPNetwork equality ignores the host part (.250/24 == .251/24).
    return tuple(IPNetwork(text) for text in dict.fromkeys(str(n) for n in ordered))


def local_addresses() -> tuple[IPNetwork, ...]:
    """Every IPv4 address of every interface of this host (its other NICs included)."""
    try:
        return tuple(IPNetwork(f"{a.ip}/{a.prefixlen}") for a in netlink.local_ipv4_addresses())
    except OSError:
        return ()


def local_macs(own_mac: str | None = None) -> frozenset[str]:
    """Every local interface's MAC: a reply from any of them is this host answering, never a conflict."""
    try:
        macs = set(netlink.local_macs())
    except OSError:
        macs = set()
    if own_mac:
        macs.add(own_mac.lower())
    return frozenset(macs)


def gateways(name: str, route_table: str | None = None) -> tuple[str, ...]:
    """The IPv4 gateways of routes through ``name`` (/proc/net/route), default route's first."""
    if route_table is None:
        try:
            route_table = PROC_ROUTE.read_text()
        except OSError:
            route_table = ""
    found: list[tuple[bool, str]] = []
    for line in route_table.splitlines()[1:]:
        fields = line.split()
        # Iface Destination Gateway Flags ...; RTF_UP 0x1, RTF_GATEWAY 0x2; addresses little-endian hex.
        if len(fields) >= 8 and fields[0] == name and int(fields[3], 16) & 0x3 == 0x3:
            gateway = socket.inet_ntoa(struct.pack("<I", int(fields[2], 16)))
            found.append((fields[1] != "00000000", gateway))
    return tuple(dict.fromkeys(gateway for _, gateway in sorted(found)))
