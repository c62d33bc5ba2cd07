"""The subnets and default routes of this machine's interfaces, read from the kernel without sending a packet.

IPv4 comes from the SIOCGIFADDR/SIOCGIFNETMASK ioctls, IPv6 from
/proc/net/if_inet6, default routes from /proc/net/route; none needs scapy nor privileges.
"""

from __future__ import annotations

import fcntl
import socket
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

from netaddr import IPAddress, IPNetwork

from ipaudit.addressset import AddressSet

SIOCGIFADDR = 0x8915
SIOCGIFNETMASK = 0x891B
IF_INET6 = Path("/proc/net/if_inet6")
IPV4_ROUTES = Path("/proc/net/route")
# linux/route.h: the route is up, and goes through a gateway (not a directly connected network).
RTF_UP, RTF_GATEWAY = 0x1, 0x2


@dataclass(frozen=True)
class InterfaceAddress:
    interface: str
    address: IPAddress
    network: IPNetwork


def _ipv4_addresses() -> list[InterfaceAddress]:
    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[:15])
            try:
                address = fcntl.ioctl(probe.fileno(), SIOCGIFADDR, request)[20:24]
                netmask = fcntl.ioctl(probe.fileno(), SIOCGIFNETMASK, request)[20:24]
            except OSError:
                continue  # no IPv4 address on this interface
            ip = IPAddress(socket.inet_ntoa(address))
            found.append(InterfaceAddress(name, ip, IPNetwork(f"{ip}/{socket.inet_ntoa(netmask)}").cidr))
    return found


def _ipv6_addresses() -> list[InterfaceAddress]:
    found: list[InterfaceAddress] = []
    try:
        lines = IF_INET6.read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        fields = line.split()
        if len(fields) < 6:
            continue
        hex_address, _, prefix_hex, scope_hex, _, name = fields[:6]
        if int(scope_hex, 16) != 0:  # only global scope: link-local fe80::/10 is no pool's home
            continue
        ip = IPAddress(int(hex_address, 16), 6)
        found.append(InterfaceAddress(name, ip, IPNetwork(f"{ip}/{int(prefix_hex, 16)}").cidr))
    return found


def interface_addresses() -> list[InterfaceAddress]:
    return [a for a in _ipv4_addresses() + _ipv6_addresses() if not a.address.is_loopback()]


def subnet_containing(addresses: AddressSet) -> InterfaceAddress | None:
    """The most specific local subnet that holds every one of ``addresses``, if any."""
    holding = [a for a in interface_addresses() if addresses.issubset(AddressSet([a.network]))]
    return max(holding, key=lambda a: a.network.prefixlen, default=None)


@dataclass(frozen=True)
class DefaultRoute:
    interface: str
    gateway: IPAddress
    metric: int


def default_routes(table: str) -> list[DefaultRoute]:
    """The IPv4 default routes in a /proc/net/route text, lowest metric first.

    Each line is ``Iface Destination Gateway Flags RefCnt Use Metric Mask ...``; the kernel prints each
    address's network-order bytes as one native integer in hex, so they are read back in host byte order.
    """
    routes = []
    for line in table.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8:
            continue
        try:
            destination, gateway, flags, metric, mask = (int(fields[i], 16) if i != 6 else int(fields[i])
                                                         for i in (1, 2, 3, 6, 7))
        except ValueError:
            continue
        if destination or mask or flags & (RTF_UP | RTF_GATEWAY) != RTF_UP | RTF_GATEWAY:
            continue
        address = IPAddress(int.from_bytes(gateway.to_bytes(4, sys.byteorder), "big"), 4)
        routes.append(DefaultRoute(fields[0], address, metric))
    return sorted(routes, key=lambda route: route.metric)


def default_gateway(subnet: IPNetwork, table: str | None = None,
                    addresses: list[InterfaceAddress] | None = None) -> DefaultRoute | None:
    """The default route's gateway through the interface that holds ``subnet``, if it lies in that subnet."""
    if subnet.version != 4:
        return None
    if table is None:
        try:
            table = IPV4_ROUTES.read_text()
        except OSError:
            return None
    holders = {a.interface for a in (interface_addresses() if addresses is None else addresses)
               if a.network == subnet}
    return next((route for route in default_routes(table)
                 if route.interface in holders and route.gateway in subnet), None)
