"""What kind of link an interface is (``macvlan``, ``veth``, ``bridge``...), asked of the kernel over rtnetlink.

sysfs does not say that a device is a macvlan child, and ``ip -d link`` is a
subprocess; one RTM_GETLINK request answers it without privileges.
"""

from __future__ import annotations

import os
import socket
import struct

RTM_GETLINK, RTM_NEWLINK, NLMSG_ERROR = 18, 16, 2
NLM_F_REQUEST = 1
IFLA_IFNAME, IFLA_LINKINFO, IFLA_INFO_KIND = 3, 18, 1
NLMSG_HEADER = struct.Struct("=IHHII")
IFINFOMSG = struct.Struct("=BxHiII")
RTATTR = struct.Struct("=HH")


def _align(length: int) -> int:
    return (length + 3) & ~3


def _attributes(data: bytes, offset: int, end: int):
    while offset + RTATTR.size <= end:
        length, kind = RTATTR.unpack_from(data, offset)
        if length < RTATTR.size:
            return
        yield kind & 0x3FFF, data[offset + RTATTR.size: offset + length]
        offset += _align(length)


def link_kind(interface: str) -> str | None:
    """``"macvlan"`` for a macvlan child, None for a plain NIC (or when the kernel will not say)."""
    name = interface.encode() + b"\0"
    attribute = RTATTR.pack(RTATTR.size + len(name), IFLA_IFNAME) + name
    attribute += b"\0" * (_align(len(attribute)) - len(attribute))
    body = IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0) + attribute
    request = NLMSG_HEADER.pack(NLMSG_HEADER.size + len(body), RTM_GETLINK, NLM_F_REQUEST, 1, os.getpid()) + body
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as sock:
            sock.settimeout(2.0)
            sock.send(request)
            answer = sock.recv(65536)
    except OSError:
        return None
    if len(answer) < NLMSG_HEADER.size:
        return None
    length, kind, _, _, _ = NLMSG_HEADER.unpack_from(answer)
    if kind != RTM_NEWLINK:
        return None  # NLMSG_ERROR: no such interface
    start = NLMSG_HEADER.size + IFINFOMSG.size
    for attr_kind, value in _attributes(answer, start, min(length, len(answer))):
        if attr_kind == IFLA_LINKINFO:
            for info_kind, info in _attributes(value, 0, len(value)):
                if info_kind == IFLA_INFO_KIND:
                    return info.rstrip(b"\0").decode("ascii", "replace")
    return None
