"""The ARP sweep: ask every address in a subnet "who has?" and record every answer.

One raw AF_PACKET socket carries both directions. A kernel BPF filter passes only
ARP replies to it, the calling thread sends paced requests (``Pacer``) and retries
non-responders (``RetrySchedule``), and a receiver thread matches replies by sender
IP as they arrive, so thousands of hosts answer without a per-request wait (unlike
scapy's ``srp``, which found 55% of a /20 in 29 s). The scanner's own address is
asked the RFC 5227 way (sender IP 0.0.0.0): whoever answers holds our address.

The socket entry points ``open_arp_socket`` and ``send_frame`` are module-level
names so a test can replace them.
"""

from __future__ import annotations

import errno
import select
import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable

from netaddr import IPNetwork

from ipaudit.errors import IpauditError
from ipaudit.scan import arp_frames as frames
from ipaudit.scan.arp_findings import ArpObservation
from ipaudit.scan.interfaces import InterfaceInfo, interface_info
from ipaudit.scan.pacing import Pacer, RetrySchedule

DEFAULT_RATE = 500  # packets per second: what arp-scan sends by default (256 kbit/s)
DEFAULT_RETRIES = 1  # one more request to each silent address: two in all, like arp-scan
DEFAULT_TIMEOUT = 0.5  # seconds to wait for late replies, and between retry rounds

# "arp[6:2] = 2": ARP replies only (requests, including our own, never reach Python).
ARP_REPLIES_FILTER = (
    (0x28, 0, 0, 12), (0x15, 0, 3, 0x0806),       # ethertype ARP
    (0x28, 0, 0, 20), (0x15, 0, 1, 2),            # operation: reply
    (0x06, 0, 0, 0x40000), (0x06, 0, 0, 0),
)
SO_RCVBUFFORCE = 33
SOL_PACKET, PACKET_IGNORE_OUTGOING = 263, 23
RECEIVE_BUFFER = 8 * 1024 * 1024


class ArpSweepError(IpauditError):
    """The sweep's socket failed mid-way (the interface went down or away)."""


@dataclass(frozen=True)
class ArpReply:
    """One reply: ``mac`` is the ARP sender, ``eth_source`` the frame's; ``rtt`` in seconds."""

    ip: str
    mac: str
    eth_source: str
    rtt: float | None
    to_probe: bool = False  # an answer to our RFC 5227 probe for one of our own addresses
    kind: str = "reply"  # "announcement" for gratuitous ARP (sender IP == target IP)
    seen: float | None = None  # monotonic arrival time: orders a hand-over before its announcement


@dataclass(frozen=True)
class ArpSweep:
    """Everything one sweep saw, every reply kept (duplicates are the point)."""

    interface: str
    own_ip: str
    own_mac: str
    subnet: str
    targets: int
    requests_sent: int
    replies: tuple[ArpReply, ...]
    seconds: float

    def observations(self) -> tuple[ArpObservation, ...]:
        return tuple(ArpObservation(ip=r.ip, mac=r.mac, eth_source=r.eth_source, kind=r.kind,
                                    first_seen=r.seen, last_seen=r.seen) for r in self.replies)

    def first_rtt(self) -> dict[str, float]:
        """The RTT of the first reply for each IP."""
        rtts: dict[str, float] = {}
        for reply in self.replies:
            if reply.rtt is not None:
                rtts.setdefault(reply.ip, reply.rtt)
        return rtts


def open_arp_socket(interface: str) -> socket.socket:
    """A non-blocking raw socket on ``interface`` that receives only ARP replies."""
    from ipaudit.scan.rawsocket import open_raw_socket

    sock = open_raw_socket(interface, ARP_REPLIES_FILTER)
    try:
        # Thousands of replies can land within milliseconds: give the kernel room.
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RECEIVE_BUFFER)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    try:
        sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    except OSError:
        pass  # kernels before 4.20: the BPF filter already drops our own requests
    return sock


def send_frame(sock: socket.socket, frame: bytes) -> None:
    """Send one frame, waiting briefly while the interface queue is full."""
    while True:
        try:
            sock.send(frame)
            return
        except (BlockingIOError, InterruptedError):
            select.select([], [sock], [], 0.01)
        except OSError as problem:
            if problem.errno != errno.ENOBUFS:
                raise ArpSweepError(f"sending on {sock.getsockname()[0]} failed: "
                                    f"{problem.strerror or problem}") from None
            time.sleep(0.0005)


def sweep_targets(subnet: IPNetwork, exclude: Iterable[str] = ()) -> list[int]:
    """The addresses to ask in ``subnet``: all but network and broadcast (for /31 and /32, all)."""
    excluded = {frames.ip_int(ip) for ip in exclude}
    first, last = int(subnet.first), int(subnet.last)
    if subnet.prefixlen < 31:
        first, last = first + 1, last - 1
    return [ip for ip in range(first, last + 1) if ip not in excluded]


class _Receiver(threading.Thread):
    """Reads replies until told to stop; matches them by sender IP against the targets."""

    def __init__(self, sock: socket.socket, targets: set[int], own: InterfaceInfo, sent_at: dict[int, float],
                 own_ips: set[int] | None = None):
        super().__init__(name="arp-receiver", daemon=True)
        self.sock, self.targets, self.sent_at = sock, targets, sent_at
        self.own_ips = own_ips if own_ips is not None else {frames.ip_int(str(own.ip))}
        self.own_mac = frames.mac_bytes(own.mac)
        self.answered: set[int] = set()  # targets only: the retry schedule counts it
        self.replies: list[ArpReply] = []
        self.stopping = threading.Event()
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                # Short waits: the sweep joins this thread at its end, so they bound its tail.
                ready, _, _ = select.select([self.sock], [], [], 0.01)
                if ready:
                    self._drain()
            self._drain()
        except OSError as problem:
            self.failure = ArpSweepError(f"listening on {self.sock.getsockname()[0]} failed: "
                                         f"{problem.strerror or problem}")
        except BaseException as problem:  # noqa: BLE001 - handed to the sending thread
            self.failure = problem

    def _drain(self) -> None:
        while True:
            try:
                frame = self.sock.recv(256)
            except (BlockingIOError, InterruptedError):
                return
            arrived = time.monotonic()
            try:
                packet = frames.parse_arp(frame)
            except frames.MalformedArpFrame:
                continue  # the filter passed it, but it is not ARP for IPv4: not an answer
            self._record(packet, arrived)

    def _record(self, packet: frames.ArpPacket, arrived: float) -> None:
        ip = packet.sender_ip
        if ip in self.own_ips:
            if packet.sender_mac == self.own_mac:
                return
        elif ip not in self.targets:
            return  # someone's announcement for an address outside the sweep
        else:
            self.answered.add(ip)
        sent = self.sent_at.get(ip)
        self.replies.append(ArpReply(
            ip=frames.ip_text(ip), mac=frames.mac_text(packet.sender_mac),
            eth_source=frames.mac_text(packet.eth_source),
            rtt=None if sent is None else round(arrived - sent, 6), to_probe=ip in self.own_ips,
            kind="announcement" if packet.is_gratuitous else "reply", seen=arrived))


def sweep(interface: str, subnet: IPNetwork | str | None = None, *, rate: float = DEFAULT_RATE,
          retries: int = DEFAULT_RETRIES, timeout: float = DEFAULT_TIMEOUT,
          targets: Iterable[int] | None = None, probe_self: bool = True,
          progress: Callable[[int, int, int], None] | None = None,
          stop: threading.Event | None = None, sock: socket.socket | None = None,
          source_ip: str | None = None, own_ips: Iterable[str] = ()) -> ArpSweep:
    """Ask every address of ``subnet`` (default: the interface's) on ``interface``.

    ``targets`` (ints) replaces the subnet's addresses, e.g. a pool. ``progress(sent,
    planned, answered)`` is called about ten times a second. ``stop`` ends it early.
    ``sock``, from ``open_arp_socket``, is used (and left open) instead of opening one:
    a caller that drops privileges opens it first. ``source_ip`` is the sender IP of the
    requests (arp-scan's ``--arpspa``: the interface's address in a secondary subnet);
    ``own_ips`` are more of this host's addresses to ask by RFC 5227 probe beside the primary.
    """
    own = interface_info(interface)
    network = IPNetwork(str(subnet)) if subnet is not None else own.subnet
    wanted = list(targets) if targets is not None else sweep_targets(network)
    own_ip = frames.ip_int(str(own.ip))
    probed = list(dict.fromkeys([own_ip, *(frames.ip_int(str(ip)) for ip in own_ips)])) if probe_self else []
    ours = {own_ip, *probed}
    wanted = [ip for ip in wanted if ip not in ours]
    owned = sock is None
    if sock is None:
        sock = open_arp_socket(interface)
    started = time.monotonic()
    sent_at: dict[int, float] = {}
    receiver = _Receiver(sock, set(wanted), own, sent_at, own_ips=ours)
    # Our own address goes first and is asked by RFC 5227 probe; nobody may answer it,
    # so it is asked retries+1 times, retry_wait apart.
    schedule = RetrySchedule(probed + wanted, retries, retry_wait=timeout)
    pacer = Pacer(rate, start=started)
    source_mac = frames.mac_bytes(own.mac)
    prefix = frames.request_prefix(source_mac, frames.ip_int(source_ip) if source_ip else own_ip)
    answered = receiver.answered
    next_progress = started
    receiver.start()
    try:
        while not schedule.finished(answered):
            if stop is not None and stop.is_set():
                break
            if receiver.failure is not None:
                raise receiver.failure
            now = time.monotonic()
            if progress is not None and now >= next_progress:
                progress(schedule.sent, len(wanted), len(answered))
                next_progress = now + 0.1
            due = pacer.due(now)
            if not due:
                time.sleep(min(pacer.wait(now), 0.002))
                continue
            targets_now = schedule.take(due, now, answered)
            for target in targets_now:
                sent_at[target] = now  # before sending: the reply can beat the next line
                send_frame(sock, frames.build_probe(source_mac, target) if target in ours
                           else prefix + target.to_bytes(4, "big") + frames.PADDING)
            if len(targets_now) < due:
                # Only retries are left and none is due yet: sleep until one is.
                time.sleep(min(max(schedule.wait(now, answered), 0.0005), 0.01))
        _wait_for_late_replies(timeout, stop, receiver)
    finally:
        receiver.stopping.set()
        receiver.join()
        if owned:
            sock.close()
    if receiver.failure is not None:
        raise receiver.failure
    if progress is not None:
        progress(schedule.sent, len(wanted), len(answered))
    return ArpSweep(interface=interface, own_ip=str(own.ip), own_mac=own.mac, subnet=str(network),
                    targets=len(wanted), requests_sent=schedule.sent, replies=tuple(receiver.replies),
                    seconds=round(time.monotonic() - started, 3))


def _wait_for_late_replies(timeout: float, stop: threading.Event | None, receiver: _Receiver) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (stop is not None and stop.is_set()):
        if receiver.failure is not None:
            return
        time.sleep(0.01)
