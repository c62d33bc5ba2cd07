"""One raw Ethernet socket on one interface, with a kernel BPF filter attached before it hears anything.

DHCP discovery and passive listening both read frames this way; the parsers stay
pure and the socket code stays here. Errors are worded for the user: no privileges,
a missing or down interface.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import select
import socket
import struct

from ipaudit.errors import IpauditError
from ipaudit.scan.interfaces import describe_interfaces

ETH_P_ALL = 0x0003
SO_ATTACH_FILTER = 26
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC, PACKET_MR_UNICAST = 1, 3
PACKET_OUTGOING = 4
SIOCGIFFLAGS = 0x8913
IFF_UP = 0x1
NO_PRIVILEGES_HINT = "run with sudo, or setcap cap_net_raw+ep on the interpreter"

# Classic BPF, as `tcpdump -dd` would emit; offsets assume an untagged Ethernet frame
# (the kernel strips VLAN tags before packet sockets see them).
# "udp dst port 68 and not a fragment": DHCP replies to clients.
DHCP_REPLIES_FILTER = (
    (0x28, 0, 0, 12), (0x15, 0, 8, 0x0800),       # ethertype IPv4
    (0x30, 0, 0, 23), (0x15, 0, 6, 17),           # protocol UDP
    (0x28, 0, 0, 20), (0x45, 4, 0, 0x1FFF),       # not a later fragment
    (0xB1, 0, 0, 14), (0x48, 0, 0, 16),           # X = IP header length; destination port
    (0x15, 0, 1, 68), (0x06, 0, 0, 0x40000), (0x06, 0, 0, 0),
)
# "arp or udp src port 67": everything passive mode reads (ARP, and every server's replies).
ARP_AND_DHCP_SERVER_FILTER = (
    (0x28, 0, 0, 12), (0x15, 8, 0, 0x0806),       # ARP: accept
    (0x15, 0, 8, 0x0800),                         # otherwise IPv4 only
    (0x30, 0, 0, 23), (0x15, 0, 6, 17),           # protocol UDP
    (0x28, 0, 0, 20), (0x45, 4, 0, 0x1FFF),       # not a later fragment
    (0xB1, 0, 0, 14), (0x48, 0, 0, 14),           # X = IP header length; source port
    (0x15, 0, 1, 67), (0x06, 0, 0, 0x40000), (0x06, 0, 0, 0),
)


class RawSocketError(IpauditError):
    """The raw socket could not be opened: privileges, or the interface."""


def attach_filter(sock: socket.socket, program) -> None:
    """Attach (or atomically replace) the socket's classic BPF filter."""
    code = b"".join(struct.pack("HBBI", op, jt, jf, k) for op, jt, jf, k in program)
    buffer = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("HL", len(program), ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def interface_is_up(sock: socket.socket, interface: str) -> bool:
    request = struct.pack("16sH", interface.encode()[:15], 0)
    flags = struct.unpack("16sH", fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, request.ljust(40, b"\0"))[:18])[1]
    return bool(flags & IFF_UP)


def open_raw_socket(interface: str, program) -> socket.socket:
    """A bound AF_PACKET socket on ``interface`` that only receives what ``program`` accepts.

    Created with protocol 0 (it hears nothing), filtered, and only then bound with
    ETH_P_ALL, so no frame from before the filter can slip in.
    """
    try:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    except PermissionError:
        raise RawSocketError("raw sockets need root or CAP_NET_RAW", NO_PRIVILEGES_HINT) from None
    try:
        attach_filter(sock, program)
        try:
            sock.bind((interface, ETH_P_ALL))
        except OSError as problem:
            if problem.errno in (errno.ENODEV, errno.ENXIO, errno.EINVAL) or isinstance(problem, UnicodeError):
                raise RawSocketError(f"no interface named {interface!r}",
                                     f"interfaces here: {describe_interfaces()}") from None
            raise RawSocketError(f"cannot listen on {interface}: {problem.strerror or problem}") from None
        if not interface_is_up(sock, interface):
            raise RawSocketError(f"interface {interface} is down",
                                 f"bring it up (ip link set {interface} up) or pick another: {describe_interfaces()}")
    except BaseException:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def socket_mac(sock: socket.socket) -> str:
    """The MAC address of the interface the packet socket is bound to."""
    address = sock.getsockname()[4]
    return ":".join(f"{octet:02x}" for octet in address[:6])


def accept_unicast_to(sock: socket.socket, mac: str) -> None:
    """Make the interface accept frames sent to ``mac`` for as long as ``sock`` is open.

    A server that ignores the broadcast flag unicasts its OFFER to the probe MAC;
    the NIC would drop it. Falls back to promiscuous mode, also socket-scoped.
    """
    index = socket.if_nametoindex(sock.getsockname()[0])
    address = bytes(int(part, 16) for part in mac.split(":"))
    for kind, length in ((PACKET_MR_UNICAST, 6), (PACKET_MR_PROMISC, 0)):
        request = struct.pack("iHH8s", index, kind, length, address.ljust(8, b"\0") if length else b"\0" * 8)
        try:
            sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, request)
            return
        except OSError:
            continue


def receive_frames(sock: socket.socket, wait: float):
    """Frames that arrived within ``wait`` seconds (at least one wait, then drain); ours excluded."""
    ready, _, _ = select.select([sock], [], [], max(wait, 0.0))
    if not ready:
        return
    while True:
        try:
            frame, address = sock.recvfrom(65535)
        except BlockingIOError:
            return
        if address[2] != PACKET_OUTGOING:
            yield frame
