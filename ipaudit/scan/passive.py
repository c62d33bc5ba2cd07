"""Passive mode: send nothing, listen, and report what the LAN's own ARP and DHCP traffic shows.

Every ARP frame that claims an address (replies, requests, gratuitous announcements)
becomes an observation for the same findings the active sweep reports; RFC 5227
probes claim nothing and are only counted. DHCP OFFERs and ACKs from any server
name the servers on the LAN. The frame handling is pure, so recorded pcaps replay
through exactly the code a live listen runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from ipaudit.errors import IpauditError
from ipaudit.model import DhcpServer, Inventory
from ipaudit.scan import rawsocket
from ipaudit.scan.arp_findings import ArpObservation, arp_findings, hosts_from_observations
from ipaudit.scan.arp_frames import ETHERTYPE_ARP, MalformedArpFrame, ip_text, mac_text, parse_arp
from ipaudit.scan.dhcp_findings import dhcp_findings
from ipaudit.scan.dhcp_packets import ACK, OFFER, DhcpReply, MalformedDhcp, reply_from_packet
from ipaudit.scan.dhcp_servers import AllowedDhcp, ServerBook


#: DHCP replies kept as they are; past this only the server book (bounded) grows.
MAX_REPLIES_KEPT = 1024


class PcapError(IpauditError):
    """A capture file that cannot be read."""


@dataclass
class Capture:
    """What passive listening heard, reduced to facts; ``skipped`` counts unreadable frames."""

    frames: int = 0
    arp: list[ArpObservation] = field(default_factory=list)
    probes: list[tuple[str, str]] = field(default_factory=list)  # (prober MAC, probed IP)
    announcements: int = 0  # gratuitous ARP
    dhcp: list[DhcpReply] = field(default_factory=list)  # OFFERs and ACKs: the first MAX_REPLIES_KEPT
    skipped: int = 0
    skip_reasons: list[str] = field(default_factory=list)
    #: Every server identity heard, bounded and O(1) per reply (see ``dhcp_servers``).
    book: ServerBook = field(default_factory=ServerBook)

    @property
    def dhcp_servers(self) -> list[DhcpServer]:
        """One entry per sender identity (id, MAC, IP source...), as first heard."""
        return self._filled_book().heard

    def _filled_book(self) -> ServerBook:
        # A Capture built by hand (tests, replays) may list replies without a book.
        if not self.book.replies and self.dhcp:
            for reply in self.dhcp:
                self.book.add(reply.server, reply.problems)
        return self.book


def _is_arp(frame: bytes) -> bool:
    return len(frame) >= 14 and int.from_bytes(frame[12:14], "big") == ETHERTYPE_ARP


def observe(capture: Capture, frame: bytes) -> None:
    """Add one frame's facts to ``capture``; malformed ARP/DHCP frames are counted, never raised."""
    capture.frames += 1
    try:
        if _is_arp(frame):
            _observe_arp(capture, frame)
            return
        reply = reply_from_packet(frame)
    except (MalformedArpFrame, MalformedDhcp) as problem:
        capture.skipped += 1
        capture.skip_reasons.append(problem.message)
        if isinstance(problem, MalformedDhcp):
            capture.book.skip(problem.message)
        return
    if reply is not None and reply.message_type in (OFFER, ACK):
        if len(capture.dhcp) < MAX_REPLIES_KEPT:
            capture.dhcp.append(reply)
        capture.book.add(reply.server, reply.problems)


def _observe_arp(capture: Capture, frame: bytes) -> None:
    packet = parse_arp(frame)
    if packet.is_probe:
        # "Is anyone using this address?": a claim by nobody yet.
        capture.probes.append((mac_text(packet.sender_mac), ip_text(packet.target_ip)))
        return
    if packet.is_gratuitous:
        capture.announcements += 1
    capture.arp.append(ArpObservation(ip=ip_text(packet.sender_ip), mac=mac_text(packet.sender_mac),
                                      eth_source=mac_text(packet.eth_source)))


def capture_frames(frames: Iterable[bytes]) -> Capture:
    capture = Capture()
    for frame in frames:
        observe(capture, frame)
    return capture


def inventory_from_capture(capture: Capture, interface: str | None = None, subnet=None,
                           own_ip: str | None = None, own_mac: str | None = None,
                           allowed_dhcp: Iterable | None = None) -> Inventory:
    """The hosts, DHCP servers and findings a capture supports: the same checks as an active scan."""
    book = capture._filled_book()
    allowed = AllowedDhcp.from_texts(allowed_dhcp)
    book.allowed = allowed
    servers = book.heard
    findings = arp_findings(capture.arp, own_ip=own_ip, own_mac=own_mac, interface=interface)
    findings += dhcp_findings(book, allowed)
    return Inventory(hosts=hosts_from_observations(capture.arp), dhcp_servers=tuple(servers),
                     interface=interface, subnet=subnet, findings=tuple(findings))


def frames_from_pcap(path: str) -> Iterable[bytes]:
    """The raw frames of a pcap file, undissected, so malformed ones reach our parsers as they are."""
    from scapy.error import Scapy_Exception
    from scapy.utils import RawPcapReader

    try:
        reader = RawPcapReader(str(path))
    except (OSError, EOFError, Scapy_Exception) as problem:
        raise PcapError(f"cannot read capture {path}: {problem}") from None
    with reader:
        for frame, _ in reader:
            yield frame


# --- live listening (replaceable entry points) ----------------------------------

def open_socket(interface: str):
    return rawsocket.open_raw_socket(interface, rawsocket.ARP_AND_DHCP_SERVER_FILTER)


def receive(sock, wait: float):
    return rawsocket.receive_frames(sock, wait)


def listen_capture(interface: str, seconds: float, stop: threading.Event | None = None,
                   drop_privileges: bool = False) -> Capture:
    """Listen on ``interface`` for ``seconds`` (or until ``stop``), sending nothing.

    With ``drop_privileges``, every capability but CAP_NET_RAW is given up once the
    socket is open, before the first frame is parsed (see ``privileges``).
    """
    sock = open_socket(interface)
    capture = Capture()
    try:
        if drop_privileges:
            from ipaudit.scan.privileges import keep_only_net_raw

            keep_only_net_raw()
        deadline = time.monotonic() + seconds
        while (now := time.monotonic()) < deadline and not (stop and stop.is_set()):
            for frame in receive(sock, min(0.2, deadline - now)):
                observe(capture, frame)
    finally:
        sock.close()
    return capture


def listen(interface: str, seconds: float, allowed_dhcp: Iterable | None = None,
           stop: threading.Event | None = None, drop_privileges: bool = True) -> Inventory:
    """Passive mode: what ``seconds`` of listening on ``interface`` shows, with findings.

    Run as root, it keeps only CAP_NET_RAW once its socket is open (``drop_privileges``);
    call it from a process's only thread, or pass False.
    """
    from ipaudit.scan.interfaces import InterfaceError, interface_info
    from ipaudit.scan.local_dhcp import local_dhcp_findings, local_dhcp_listeners

    listeners = local_dhcp_listeners()  # before the capability drop: /proc/*/fd names their processes
    capture = listen_capture(interface, seconds, stop, drop_privileges)
    try:
        own = interface_info(interface)
    except InterfaceError:
        # Listening needs no address of our own; without one there is no self-conflict to check.
        own = None
    inventory = inventory_from_capture(capture, interface=interface, subnet=own.subnet if own else None,
                                       own_ip=str(own.ip) if own else None, own_mac=own.mac if own else None,
                                       allowed_dhcp=allowed_dhcp)
    local = local_dhcp_findings(listeners, [own.ip] if own else [], AllowedDhcp.from_texts(allowed_dhcp))
    return replace(inventory, findings=inventory.findings + tuple(local))
