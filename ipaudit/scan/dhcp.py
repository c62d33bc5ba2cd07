"""DHCP discovery: one broadcast DISCOVER, then every OFFER heard during the whole window.

We never send a REQUEST, so no server ever grants a lease, and the probe MAC is
fixed per interface, so repeated scans get the same offer instead of draining the
pool. ``open_socket``, ``send`` and ``receive`` are the wire entry points a test
may replace; the real thing is tested against dnsmasq in network namespaces.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

from ipaudit.model import DhcpServer
from ipaudit.scan import rawsocket
from ipaudit.scan.dhcp_packets import (
    OFFER,
    MalformedDhcp,
    build_discover,
    normalize_client_mac,
    probe_mac,
    random_xid,
    reply_from_packet,
)
from ipaudit.scan.dhcp_servers import AllowedDhcp, ServerBook

#: Receive buffer for the DHCP socket: 10,000 forged OFFERs of ~600 bytes (plus the kernel's
#: per-frame overhead) fit, with room left for the real server's late one.
RECEIVE_BUFFER = 16 * 1024 * 1024
SO_RCVBUFFORCE = 33  # Linux: SO_RCVBUF past net.core.rmem_max, for CAP_NET_ADMIN

DEFAULT_WINDOW = 6.0  # dnsmasq pings an address before offering it, answering after about 3 s


@dataclass
class Discovery:
    """What one discovery saw: the servers (one per sender identity, see ``dhcp_servers``) and how it went."""

    book: ServerBook = field(default_factory=ServerBook)
    client_mac: str = ""
    xid: int = 0
    offers: int = 0
    first_offer_after: float | None = None  # seconds from sending the DISCOVER
    #: Where the probe's chaddr came from: "probe" (derived), "interface" (a macvlan child's own MAC), "given".
    client_mac_origin: str = "probe"

    @property
    def servers(self) -> list[DhcpServer]:
        return self.book.heard

    @property
    def skipped(self) -> int:
        return self.book.malformed

    @property
    def skip_reasons(self) -> list[str]:
        return self.book.malformed_reasons


# --- wire entry points (replaceable) -------------------------------------------

def open_socket(interface: str):
    """The DHCP socket, with a receive buffer big enough that a burst of forged offers does not
    push the real server's later one out of the kernel queue."""
    sock = rawsocket.open_raw_socket(interface, rawsocket.DHCP_REPLIES_FILTER)
    try:
        # Opened while still root (before the capability drop), so the limit can be passed.
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RECEIVE_BUFFER)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    return sock


def send(sock, frame: bytes) -> None:
    sock.send(frame)


def receive(sock, wait: float):
    return rawsocket.receive_frames(sock, wait)


# --- discovery -----------------------------------------------------------------

def collect_offer(discovery: Discovery, frame: bytes, elapsed: float) -> None:
    """Add the server behind ``frame`` if it is an OFFER for our transaction (pure bookkeeping, O(1))."""
    try:
        reply = reply_from_packet(frame)
    except MalformedDhcp as problem:
        discovery.book.skip(problem.message)
        return
    if reply is None or reply.message_type != OFFER or reply.xid != discovery.xid:
        return
    discovery.offers += 1
    if discovery.first_offer_after is None:
        discovery.first_offer_after = elapsed
    discovery.book.add(reply.server, reply.problems)


def run_discovery(interface: str, timeout: float = DEFAULT_WINDOW, client_mac: str | None = None,
                  stop: threading.Event | None = None, sock=None, allowed: AllowedDhcp | None = None
                  ) -> Discovery:
    """Send one DISCOVER on ``interface`` and listen ``timeout`` seconds; ``stop`` ends it early.

    ``sock``, from ``open_socket``, is used (and left open) instead of opening one: a
    caller that drops privileges opens it first, in its only thread. ``allowed``
    servers are kept even when a flood has filled the server cap.
    """
    owned = sock is None
    if sock is None:
        sock = open_socket(interface)
    try:
        interface_mac = rawsocket.socket_mac(sock)
        chosen, origin = choose_client_mac(interface, interface_mac, client_mac)
        discovery = Discovery(book=ServerBook(allowed=allowed), client_mac=chosen, xid=random_xid(),
                              client_mac_origin=origin)
        if chosen != interface_mac:
            rawsocket.accept_unicast_to(sock, discovery.client_mac)
        started = time.monotonic()
        send(sock, build_discover(discovery.client_mac, discovery.xid, source_mac=interface_mac))
        deadline = started + timeout
        while (now := time.monotonic()) < deadline and not (stop and stop.is_set()):
            # Short waits so Ctrl-C and ``stop`` are noticed quickly.
            for count, frame in enumerate(receive(sock, min(0.2, deadline - now)), 1):
                collect_offer(discovery, frame, time.monotonic() - started)
                if count % 256 == 0 and time.monotonic() >= deadline:
                    break  # a flood never empties the queue: the window ends on time anyway
        return discovery
    finally:
        if owned:
            sock.close()


def choose_client_mac(interface: str, interface_mac: str, client_mac: str | None) -> tuple[str, str]:
    """The chaddr of our DISCOVER and why: ``--client-mac``, else the interface's own MAC on a
    macvlan child, else the fixed probe MAC.

    A macvlan child only receives frames for its own MAC (the parent does not hand it
    other unicast, promiscuous or not), so a server that unicasts its OFFER to chaddr,
    as many do despite the broadcast flag, would never reach us with the probe MAC.
    Using the child's MAC costs nothing: we never send a REQUEST, so its lease is untouched.
    """
    if client_mac:
        return normalize_client_mac(client_mac), "given"
    from ipaudit.scan.linkkind import link_kind

    if link_kind(interface) in ("macvlan", "macvtap"):
        return interface_mac, "interface"
    return probe_mac(interface_mac), "probe"


def discover(interface: str, timeout: float = DEFAULT_WINDOW, client_mac: str | None = None,
             stop: threading.Event | None = None, sock=None) -> list[DhcpServer]:
    """Every DHCP server that answers a DISCOVER on ``interface`` within ``timeout`` seconds."""
    return run_discovery(interface, timeout, client_mac, stop, sock).servers
