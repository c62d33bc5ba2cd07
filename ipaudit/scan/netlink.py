"""This host's IPv4 addresses and link MACs, read from the kernel over rtnetlink (no privileges).

The ioctls in ``interfaces`` only see an interface's primary address; a node's
secondary addresses and kube-vip / Cilium VIPs (``/32`` on the node's NIC) are
visible only to an ``RTM_GETADDR`` dump. ``/sys/class/net`` would serve for MACs, but
it shows whichever namespace sysfs was mounted in, whereas a netlink socket always
speaks for the caller's own network namespace.
"""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass

NETLINK_ROUTE = 0
RTM_GETLINK, RTM_NEWLINK, RTM_GETADDR, RTM_NEWADDR = 18, 16, 22, 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL = 1, 2, 3
IFLA_ADDRESS, IFLA_IFNAME = 1, 3

_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, seq, pid
_IFADDRMSG = struct.Struct("=BBBBI")  # family, prefixlen, flags, scope, index
_IFINFOMSG = struct.Struct("=BxHiII")  # family, type, index, flags, change
_ATTRIBUTE = struct.Struct("=HH")


@dataclass(frozen=True)
class LocalAddress:
    """One IPv4 address configured on this host: ``interface`` holds ``ip``/``prefixlen``."""

    interface: str
    ip: str
    prefixlen: int


def _align(length: int) -> int:
    return (length + 3) & ~3


def _attributes(data: bytes, offset: int, end: int) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    while offset + _ATTRIBUTE.size <= end:
        length, kind = _ATTRIBUTE.unpack_from(data, offset)
        if length < _ATTRIBUTE.size:
            break
        found.setdefault(kind & 0x3FFF, data[offset + _ATTRIBUTE.size:offset + length])
        offset += _align(length)
    return found


def _dump(request_type: int, body: bytes, answer_type: int) -> list[tuple[bytes, int, int]]:
    """Every answer message of one dump, as (buffer, body offset, message end)."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE) as sock:
        sock.bind((0, 0))
        sequence = 1
        sock.send(_HEADER.pack(_HEADER.size + len(body), request_type, NLM_F_REQUEST | NLM_F_DUMP,
                               sequence, 0) + body)
        messages: list = []
        while True:
            data = sock.recv(65536)
            offset = 0
            while offset + _HEADER.size <= len(data):
                length, kind, _, seq, _ = _HEADER.unpack_from(data, offset)
                if length < _HEADER.size:
                    return messages
                if kind == NLMSG_DONE:
                    return messages
                if kind == NLMSG_ERROR:
                    (code,) = struct.unpack_from("=i", data, offset + _HEADER.size)
                    raise OSError(-code, os.strerror(-code))
                if kind == answer_type and seq == sequence:
                    messages.append((data, offset + _HEADER.size, offset + length))
                offset += _align(length)


def link_names_and_macs() -> dict[int, tuple[str, str | None]]:
    """``{index: (name, mac)}`` for every link; ``mac`` is None where the link has no 6-byte address."""
    links = {}
    for data, start, end in _dump(RTM_GETLINK, _IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0), RTM_NEWLINK):
        _, _, index, _, _ = _IFINFOMSG.unpack_from(data, start)
        attributes = _attributes(data, start + _align(_IFINFOMSG.size), end)
        name = attributes.get(IFLA_IFNAME, b"").split(b"\0")[0].decode(errors="replace")
        hardware = attributes.get(IFLA_ADDRESS, b"")
        links[index] = (name, ":".join(f"{b:02x}" for b in hardware) if len(hardware) == 6 else None)
    return links


def local_ipv4_addresses() -> list[LocalAddress]:
    """Every IPv4 address of every interface, primary first on each (the kernel's order)."""
    names = {index: name for index, (name, _) in link_names_and_macs().items()}
    found = []
    for data, start, end in _dump(RTM_GETADDR, _IFADDRMSG.pack(socket.AF_INET, 0, 0, 0, 0), RTM_NEWADDR):
        family, prefixlen, _, _, index = _IFADDRMSG.unpack_from(data, start)
        if family != socket.AF_INET:
            continue
        attributes = _attributes(data, start + _align(_IFADDRMSG.size), end)
        # IFA_LOCAL is the address itself; IFA_ADDRESS is the peer on point-to-point links.
        raw = attributes.get(IFA_LOCAL) or attributes.get(IFA_ADDRESS)
        if raw is None or len(raw) != 4 or index not in names:
            continue
        found.append(LocalAddress(interface=names[index], ip=socket.inet_ntoa(raw), prefixlen=prefixlen))
    return found


def local_macs() -> frozenset[str]:
    """The MAC of every local interface but the all-zero ones (loopback): this host's own MACs."""
    return frozenset(mac for _, mac in link_names_and_macs().values() if mac and mac != "00:00:00:00:00:00")
