"""The ARP sweep: ask every address in a subnet "who has?" and record every answer.

One raw AF_PACKET socket carries both directions. A kernel BPF filter passes only
ARP to it, the calling thread sends paced requests (``Pacer``), retries
non-responders and re-asks responders to confirm (``RetrySchedule``), and a receiver
thread counts every ARP frame as it arrives (``ArpTally``: replies to our requests,
announcements, other hosts' requests), so thousands of hosts answer without a
per-request wait (unlike scapy's ``srp``, which found 55% of a /20 in 29 s). The
scanner's own address is asked the RFC 5227 way (sender IP 0.0.0.0): whoever
answers holds our address.

Whatever the LAN sends, the sweep ends on time: the receiver checks the clock every
few hundred frames, never waits for its queue to empty, and the tally's memory is
bounded. After the last request it waits as long as arp-scan does after its last
try (``--timeout`` times ``--backoff`` 1.5 per retry, arp-scan's man page defaults:
0.75 s), so an address answering 1.1 s after its first request is still heard; a
confirmation, which asks an address that already answered, is asked last and only
gets a short grace (``sweep_deadline``).

The socket entry points ``open_arp_socket`` and ``send_frame`` are module-level
names so a test can replace them.
"""

from __future__ import annotations

import errno
import select
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable

from netaddr import IPNetwork

from ipaudit.errors import IpauditError
from ipaudit.scan import arp_frames as frames
from ipaudit.model import Finding
from ipaudit.scan.arp_findings import ArpObservation
from ipaudit.scan.arp_noise import Shielded, noise_findings
from ipaudit.scan.arp_shield import FloodShield
from ipaudit.scan.arp_tally import ArpTally, NoiseCounts
from ipaudit.scan.interfaces import interface_info
from ipaudit.scan.pacing import Pacer, RetrySchedule
from ipaudit.scan.rawsocket import attach_filter

DEFAULT_RATE = 500  # packets per second: what arp-scan sends by default (256 kbit/s)
DEFAULT_RETRIES = 1  # one more request to each silent address: two in all, like arp-scan
DEFAULT_TIMEOUT = 0.5  # seconds between retry rounds (arp-scan's initial per-host timeout)
#: Re-ask each answered address this many times: a second holder that drops half the requests
#: (Wi-Fi) then misses all 1 + 5 with probability 1/64, so >= 19 of 20 such duplicates are found.
DEFAULT_CONFIRM = 5
#: After the last confirmation, wait this fraction of ``--timeout``: a second holder that heard
#: it answers within a LAN round trip (milliseconds; a Wi-Fi client in power save wakes within
#: a beacon interval, ~100 ms), so half the per-host timeout is ample.
CONFIRM_GRACE = 0.5
BACKOFF = 1.5  # arp-scan's --backoff: each try waits 1.5 times longer than the one before
CHECK_EVERY = 256  # frames between the receiver's clock checks: bounded lateness under a flood
FINAL_DRAIN = 0.05  # seconds spent reading what is already queued once the sweep ends
# Under a flood the receiver thread always wants the GIL; with Python's default 5 ms switch
# interval the sender then waits up to 5 ms per wake-up and the sweep falls behind its rate.
SWITCH_INTERVAL = 0.0005

# "arp": every ARP frame (requests too: announcements and other hosts' claims count).
ARP_FILTER = (
    (0x28, 0, 0, 12), (0x15, 0, 1, 0x0806),       # ethertype ARP
    (0x06, 0, 0, 0x40000), (0x06, 0, 0, 0),
)
SO_RCVBUFFORCE = 33
SOL_PACKET, PACKET_STATISTICS, PACKET_IGNORE_OUTGOING = 263, 6, 23
RECEIVE_BUFFER = 8 * 1024 * 1024


class ArpSweepError(IpauditError):
    """The sweep's socket failed mid-way (the interface went down or away)."""


@dataclass(frozen=True)
class ArpSweep:
    """What one sweep heard, as bounded counts: observations per (IP, MAC, source, kind), and noise."""

    interface: str
    own_ip: str
    own_mac: str
    subnet: str
    targets: int
    requests_sent: int
    observed: tuple[ArpObservation, ...]
    seconds: float
    rtts: tuple[tuple[str, float], ...] = ()
    noise: NoiseCounts | None = None
    confirmations_sent: int = 0
    kernel_drops: int = 0  # frames the kernel dropped because the receiver fell behind (a flood)
    shielded: Shielded = Shielded()  # flood frames a kernel filter dropped unread once the flood was plain

    def observations(self) -> tuple[ArpObservation, ...]:
        return self.observed

    def first_rtt(self) -> dict[str, float]:
        """The RTT of the first reply for each IP."""
        return dict(self.rtts)

    def findings(self) -> list[Finding]:
        """``arp-flood`` and ``arp-malformed``: what no honest device sends."""
        if self.noise is None:
            return []
        return noise_findings(self.noise, self.requests_sent, self.kernel_drops, self.shielded)


def open_arp_socket(interface: str) -> socket.socket:
    """A non-blocking raw socket on ``interface`` that receives only ARP frames."""
    from ipaudit.scan.rawsocket import open_raw_socket

    sock = open_raw_socket(interface, ARP_FILTER)
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


def kernel_drops(sock: socket.socket) -> int:
    """Frames the kernel dropped on ``sock`` since the last call (PACKET_STATISTICS resets them)."""
    try:
        return struct.unpack("II", sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))[1]
    except OSError:
        return 0


class _Receiver(threading.Thread):
    """Reads ARP frames into the tally until told to stop, checking the clock as it goes."""

    def __init__(self, sock: socket.socket, tally: ArpTally, shield: FloodShield | None = None):
        super().__init__(name="arp-receiver", daemon=True)
        self.sock, self.tally, self.shield = sock, tally, shield
        # Named now, while the socket is open: a failure may come after it was closed.
        self.interface = sock.getsockname()[0]
        self.stopping = threading.Event()
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                # Short waits: the sweep joins this thread at its end, so they bound its tail.
                ready, _, _ = select.select([self.sock], [], [], 0.01)
                if ready:
                    self._drain(None)
            self._drain(time.monotonic() + FINAL_DRAIN)
        except (OSError, ValueError) as problem:
            if self.stopping.is_set() and self.sock.fileno() == -1:
                return  # closed under us while the sweep was being torn down (Ctrl-C): nothing failed
            if isinstance(problem, ValueError):
                self.failure = problem
                return
            self.failure = ArpSweepError(f"listening on {self.interface} failed: {problem.strerror or problem}")
        except BaseException as problem:  # noqa: BLE001 - handed to the sending thread
            self.failure = problem

    def _drain(self, until: float | None) -> None:
        """Read what is queued; a flood never empties the queue, so return on stop or ``until``."""
        receive, add, clock, stopping = self.sock.recv, self.tally.add, time.monotonic, self.stopping
        read = 0
        while True:
            try:
                frame = receive(64)  # an ARP frame is 42 bytes (60 padded): the rest is not needed
            except (BlockingIOError, InterruptedError):
                return
            add(frame, clock())
            read += 1
            if read % CHECK_EVERY == 0:
                if self.shield is not None:
                    self.shield.check()  # a flood: from now on the kernel drops it
                if clock() > until if until is not None else stopping.is_set():
                    return


def final_wait(timeout: float, retries: int) -> float:
    """How long arp-scan waits for its last try: the timeout grown by the backoff once per retry."""
    return timeout * BACKOFF ** retries


def sweep_deadline(schedule: RetrySchedule, timeout: float, retries: int, started: float) -> float:
    """When the sweep may stop listening: ``final_wait`` after the last first request or retry
    (a slow host answers late), but only ``timeout * CONFIRM_GRACE`` after the last confirmation,
    which asked an address that had already answered: its holders are awake and on this LAN."""
    ends = [started]
    if schedule.last_searched is not None:
        ends.append(schedule.last_searched + final_wait(timeout, retries))
    if schedule.last_confirmed is not None:
        ends.append(schedule.last_confirmed + timeout * CONFIRM_GRACE)
    return max(ends)


def sweep(interface: str, subnet: IPNetwork | str | None = None, *, rate: float = DEFAULT_RATE,
          retries: int = DEFAULT_RETRIES, timeout: float = DEFAULT_TIMEOUT, confirm: int = DEFAULT_CONFIRM,
          targets: Iterable[int] | None = None, probe_self: bool = True,
          progress: Callable[[int, int, int], None] | None = None,
          stop: threading.Event | None = None, sock: socket.socket | None = None,
          source_ip: str | None = None, own_ips: Iterable[str] = ()) -> ArpSweep:
    """Ask every address of ``subnet`` (default: the interface's) on ``interface``.

    ``targets`` (ints) replaces the subnet's addresses, e.g. a pool. ``confirm``: how many
    more times each answered address is asked, ``timeout / confirm`` apart, so confirmations
    end within one retry round of the answer. ``progress(sent, planned, answered)`` is called
    about ten times a second. ``stop`` ends it early. ``sock``, from ``open_arp_socket``, is
    used (and left open) instead of opening one: a caller that drops privileges opens it first.
    ``source_ip`` is the sender IP of the requests (arp-scan's ``--arpspa``: the interface's
    address in a secondary subnet); ``own_ips`` are more of this host's addresses to ask by
    RFC 5227 probe beside the primary.
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
    kernel_drops(sock)  # start counting from zero
    started = time.monotonic()
    sent_at: dict[int, float] = {}
    source_mac = frames.mac_bytes(own.mac)
    tally = ArpTally(source_mac, set(wanted), sent_at, started)
    # Our own addresses go first and are asked by RFC 5227 probe; nobody may answer them,
    # so each is asked retries+1 times, retry_wait apart.
    schedule = RetrySchedule(probed + wanted, retries, retry_wait=timeout,
                             confirm=confirm, confirm_wait=timeout / max(confirm, 1))
    shield = FloodShield(sock, interface, tally, lambda: schedule.sent)
    receiver = _Receiver(sock, tally, shield)
    pacer = Pacer(rate, start=started)
    prefix = frames.request_prefix(source_mac, frames.ip_int(source_ip) if source_ip else own_ip)
    probes = {ip: frames.build_probe(source_mac, ip) for ip in probed}
    answered, newly_answered = tally.answered, tally.newly_answered
    next_progress = started
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(min(switch_interval, SWITCH_INTERVAL))
    receiver.start()
    try:
        while True:
            now = time.monotonic()
            while newly_answered:
                schedule.confirm_answered(newly_answered.popleft(), now)
            if schedule.finished(answered) or (stop is not None and stop.is_set()):
                break
            if receiver.failure is not None:
                raise receiver.failure
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
                probe = probes.get(target)
                send_frame(sock, probe if probe is not None else prefix + target.to_bytes(4, "big") + frames.PADDING)
            if len(targets_now) < due:
                # Only retries and confirmations are left and none is due yet: sleep until one is.
                time.sleep(min(max(schedule.wait(now, answered), 0.0005), 0.01))
        _wait_for_late_replies(sweep_deadline(schedule, timeout, retries, started), stop, receiver)
    finally:
        receiver.stopping.set()
        receiver.join()
        sys.setswitchinterval(switch_interval)
        drops = kernel_drops(sock)
        shielded = Shielded(frames=shield.close(), sources=tuple(frames.mac_text(mac) for mac, _ in shield.rules.sources),
                            addresses=tuple(frames.ip_text(ip) for ip, _ in shield.rules.crowded),
                            counted=shield.counting)
        if owned:
            sock.close()
        elif shield.rules:
            attach_filter(sock, ARP_FILTER)  # the caller's socket, as it was handed over
    if receiver.failure is not None:
        raise receiver.failure
    if progress is not None:
        progress(schedule.sent, len(wanted), len(answered))
    rtts = tuple((frames.ip_text(ip), rtt) for ip, rtt in tally.first_rtt.items())
    return ArpSweep(interface=interface, own_ip=str(own.ip), own_mac=own.mac, subnet=str(network),
                    targets=len(wanted), requests_sent=schedule.sent, observed=tally.observations(),
                    seconds=round(time.monotonic() - started, 3), rtts=rtts,
                    noise=tally.noise(mac for mac, _ in shield.rules.sources),
                    confirmations_sent=schedule.confirmations_sent, kernel_drops=drops, shielded=shielded)


def _wait_for_late_replies(deadline: float, stop: threading.Event | None, receiver: _Receiver) -> None:
    while time.monotonic() < deadline and not (stop is not None and stop.is_set()):
        if receiver.failure is not None:
            return
        time.sleep(0.01)
