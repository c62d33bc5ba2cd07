"""DHCP discovery: one broadcast DISCOVER, then every OFFER heard during the whole window.

We never send a REQUEST, so no server ever grants a lease, and the probe MAC is
fixed per interface, so repeated scans get the same offer instead of draining the
pool. ``open_socket``, ``send`` and ``receive`` are the wire entry points a test
may replace; the real thing is tested against dnsmasq in network namespaces.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from ipaudit.model import DhcpServer
from ipaudit.scan import rawsocket
from ipaudit.scan.dhcp_packets import (
    MalformedDhcp,
    build_discover,
    normalize_client_mac,
    offer_from_packet,
    probe_mac,
    random_xid,
)

DEFAULT_WINDOW = 6.0  # dnsmasq pings an address before offering it, answering after about 3 s


@dataclass
class Discovery:
    """What one discovery saw: the servers (one per server id and MAC) and how it went."""

    servers: list[DhcpServer] = field(default_factory=list)
    client_mac: str = ""
    xid: int = 0
    offers: int = 0
    skipped: int = 0  # malformed DHCP replies, counted and ignored
    first_offer_after: float | None = None  # seconds from sending the DISCOVER
    skip_reasons: list[str] = field(default_factory=list)


# --- wire entry points (replaceable) -------------------------------------------

def open_socket(interface: str):
    return rawsocket.open_raw_socket(interface, rawsocket.DHCP_REPLIES_FILTER)


def send(sock, frame: bytes) -> None:
    sock.send(frame)


def receive(sock, wait: float):
    return rawsocket.receive_frames(sock, wait)


# --- discovery -----------------------------------------------------------------

def collect_offer(discovery: Discovery, frame: bytes, elapsed: float) -> None:
    """Add the server behind ``frame`` if it is an OFFER for our transaction (pure bookkeeping)."""
    try:
        server = offer_from_packet(frame, xid=discovery.xid)
    except MalformedDhcp as problem:
        discovery.skipped += 1
        discovery.skip_reasons.append(problem.message)
        return
    if server is None:
        return
    discovery.offers += 1
    if discovery.first_offer_after is None:
        discovery.first_offer_after = elapsed
    known = {(s.server_id, s.mac) for s in discovery.servers}
    if (server.server_id, server.mac) not in known:
        discovery.servers.append(server)


def run_discovery(interface: str, timeout: float = DEFAULT_WINDOW, client_mac: str | None = None,
                  stop: threading.Event | None = None, sock=None) -> Discovery:
    """Send one DISCOVER on ``interface`` and listen ``timeout`` seconds; ``stop`` ends it early.

    ``sock``, from ``open_socket``, is used (and left open) instead of opening one: a
    caller that drops privileges opens it first, in its only thread.
    """
    chosen_mac = normalize_client_mac(client_mac) if client_mac else None
    owned = sock is None
    if sock is None:
        sock = open_socket(interface)
    try:
        interface_mac = rawsocket.socket_mac(sock)
        discovery = Discovery(client_mac=chosen_mac or probe_mac(interface_mac), xid=random_xid())
        rawsocket.accept_unicast_to(sock, discovery.client_mac)
        started = time.monotonic()
        send(sock, build_discover(discovery.client_mac, discovery.xid, source_mac=interface_mac))
        deadline = started + timeout
        while (now := time.monotonic()) < deadline and not (stop and stop.is_set()):
            # Short waits so Ctrl-C and ``stop`` are noticed quickly.
            for frame in receive(sock, min(0.2, deadline - now)):
                collect_offer(discovery, frame, time.monotonic() - started)
        return discovery
    finally:
        if owned:
            sock.close()


def discover(interface: str, timeout: float = DEFAULT_WINDOW, client_mac: str | None = None,
             stop: threading.Event | None = None, sock=None) -> list[DhcpServer]:
    """Every DHCP server that answers a DISCOVER on ``interface`` within ``timeout`` seconds."""
    return run_discovery(interface, timeout, client_mac, stop, sock).servers
