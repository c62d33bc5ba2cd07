"""The subnets of this machine's interfaces, read from the kernel without sending a packet.

IPv4 comes from the SIOCGIFADDR/SIOCGIFNETMASK ioctls, IPv6 from
/proc/net/if_inet6; neither needs scapy nor privileges.
"""

from __future__ import annotations

import fcntl
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

from netaddr import IPAddress, IPNetwork

from ipaudit.addressset import AddressSet

SIOCGIFADDR = 0x8915
SIOCGIFNETMASK = 0x891B
IF_INET6 = Path("/proc/net/if_inet6")


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
    found = []
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
