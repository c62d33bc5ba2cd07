"""``ipaudit scan --pcap FILE``: audit a capture taken elsewhere (``tcpdump -w`` on a router), with no root.

The frames go through exactly what passive listening runs (``passive.observe``, then
``passive.inventory_from_capture``), so a capture reports the same hosts, duplicate
IPs, DHCP servers and findings as listening on the LAN would. scapy only reads the
file (pcap or pcapng): its RawPcapReader hands over raw bytes, and our own pure
parsers read them, so a malformed frame is counted, never trusted. A capture cut short
(tcpdump killed mid-write) or with garbage after its last good record is an error
naming the file, not a silent partial audit; gzip is refused (a bomb would be unbounded).

The file is streamed and what is kept is folded as it arrives (one record per
distinct ARP claim and per DHCP server), so a capture of any length runs in bounded
memory; a capture with more than ``MAX_DISTINCT`` distinct claims is refused.
"""

from __future__ import annotations

import logging
import os
import stat
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ipaudit.model import Inventory
from ipaudit.scan.arp_findings import ArpObservation
from ipaudit.scan.arp_frames import ETHERTYPE_ARP
from ipaudit.scan.dhcp_packets import DhcpReply
from ipaudit.scan.dhcp_servers import AllowedDhcp, ServerBook
from ipaudit.scan.passive import Capture, PcapError, inventory_from_capture, observe

#: Distinct (IP, MAC, Ethernet source) claims, probes or DHCP servers kept: four /16s of
#: hosts. A LAN capture holds a few hundred; only forged traffic comes near this.
MAX_DISTINCT = 4 * 65536
#: Reasons kept for skipped frames: enough to say what is wrong, not one per frame.
MAX_REASONS = 20
_ARP = ETHERTYPE_ARP.to_bytes(2, "big")


@dataclass(frozen=True)
class PcapAudit:
    """What a capture shows (the same Inventory a scan gives) and how much of it could be read."""

    path: str
    inventory: Inventory
    frames: int  # every frame in the file
    arp_frames: int  # frames with the ARP EtherType, readable or not
    dhcp_packets: int  # DHCP OFFERs and ACKs from servers (what names a server)
    malformed: int  # ARP or DHCP frames our parsers refused (counted, not trusted)
    probes: int  # RFC 5227 probes: a device checking an address before taking it
    announcements: int  # gratuitous ARP
    skip_reasons: tuple[str, ...] = ()  # the first MAX_REASONS reasons for malformed frames

    @property
    def notes(self) -> tuple[str, ...]:
        """One line on what was read, for the report's notes."""
        text = (f"capture {self.path}: {self.frames} frames, {self.arp_frames} ARP, "
                f"{self.dhcp_packets} DHCP OFFER/ACK")
        if self.malformed:
            text += f"; {self.malformed} malformed frame(s) skipped ({self.skip_reasons[0]})"
        return (text,)


class _Fold:
    """The bounded part of a Capture: distinct claims and servers in first-seen order, plus counts."""

    def __init__(self, path: str):
        self.path = path
        self.frames = self.arp_frames = self.dhcp_packets = self.malformed = self.announcements = 0
        self.claims: dict[ArpObservation, None] = {}
        self.probes: dict[tuple[str, str], None] = {}
        self.servers: dict[tuple, DhcpReply] = {}
        self.reasons: list[str] = []
        self.book = ServerBook()  # DHCP senders and bad fields, bounded, shared by every frame

    def add(self, frame: bytes) -> None:
        scratch = Capture(book=self.book)
        observe(scratch, frame)
        self.frames += 1
        if frame[12:14] == _ARP:
            self.arp_frames += 1
        self.announcements += scratch.announcements
        self.malformed += scratch.skipped
        if len(self.reasons) < MAX_REASONS:
            self.reasons += scratch.skip_reasons[:MAX_REASONS - len(self.reasons)]
        self.claims.update(dict.fromkeys(scratch.arp))
        self.probes.update(dict.fromkeys(scratch.probes))
        self.dhcp_packets += len(scratch.dhcp)
        for reply in scratch.dhcp:
            # The first reply per server stands for it, as Capture.dhcp_servers keeps the first heard.
            self.servers.setdefault((reply.server.server_id, reply.server.mac), reply)
        if max(len(self.claims), len(self.probes), len(self.servers)) > MAX_DISTINCT:
            raise PcapError(f"capture {self.path} holds more than {MAX_DISTINCT} distinct ARP claims or "
                            "DHCP servers: not a LAN capture ipaudit can audit")

    def capture(self) -> Capture:
        return Capture(frames=self.frames, arp=list(self.claims), probes=list(self.probes),
                       announcements=self.announcements, dhcp=list(self.servers.values()),
                       skipped=self.malformed, skip_reasons=list(self.reasons), book=self.book)


class _CaptureFile:
    """The capture as scapy reads it: reads never ask past the end of the file (a forged
    4 GiB block length would otherwise allocate 4 GiB), and a read cut short by the end
    of the file is remembered, because scapy takes it for a clean end."""

    def __init__(self, handle, size: int, name: str):
        self.handle, self.size, self.name = handle, size, name
        self.cut_short = False

    def read(self, wanted: int | None = -1) -> bytes:
        left = max(self.size - self.handle.tell(), 0)
        asked = left if wanted is None or wanted < 0 else wanted
        data = self.handle.read(min(asked, left))
        if 0 < len(data) < asked:
            self.cut_short = True
        return data

    def tell(self) -> int:
        return self.handle.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.handle.seek(offset, whence)

    def close(self) -> None:
        self.handle.close()

    @property
    def unread(self) -> int:
        return self.size - self.handle.tell()

    def pcapng_blocks_fit(self) -> bool:
        """Whether the pcapng block lengths tile the file exactly (scapy stops quietly on a cut block).

        Reads 12 bytes per block, so it costs nothing next to the capture itself.
        """
        position, endian = 0, "<"
        while position + 12 <= self.size:
            self.handle.seek(position)
            head = self.handle.read(12)
            if head[:4] == b"\x0a\x0d\x0d\x0a":  # a section header says its byte order
                endian = "<" if head[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
            length = struct.unpack(endian + "I", head[4:8])[0]
            if length < 12 or length % 4:
                return False
            position += length
        self.handle.seek(0)
        return position == self.size


def _open_capture(path: str) -> _CaptureFile:
    """A regular file only: a FIFO or /dev/zero would block or never end."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as problem:
        raise PcapError(f"cannot read capture {path}: {problem.strerror or problem}") from None
    status = os.fstat(descriptor)
    if not stat.S_ISREG(status.st_mode):
        os.close(descriptor)
        raise PcapError(f"cannot read capture {path}: not a regular file")
    handle = os.fdopen(descriptor, "rb")
    if handle.read(2) == b"\x1f\x8b":
        handle.close()
        raise PcapError(f"cannot read capture {path}: it is gzip-compressed", hint="gunzip it first")
    handle.seek(0)
    return _CaptureFile(handle, status.st_size, path)


@contextmanager
def _quiet_scapy() -> Iterator[None]:
    """scapy logs each oddity it meets; we report the file's state ourselves, in one line."""
    logger = logging.getLogger("scapy.runtime")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


# What scapy's readers raise on damaged files (struct.error on a cut pcapng block,
# ValueError on absurd values, MemoryError if a length still slips through).
_DAMAGED = (EOFError, OSError, ValueError, OverflowError, struct.error, zlib.error, MemoryError)


def pcap_frames(path: str) -> Iterator[bytes]:
    """The raw frames of a pcap or pcapng file, streamed; PcapError (one line) when it cannot be read."""
    from scapy.data import MTU
    from scapy.error import Scapy_Exception
    from scapy.utils import RawPcapReader

    capture = _open_capture(path)
    try:
        with _quiet_scapy():
            try:
                reader = RawPcapReader(capture)  # type: ignore[arg-type]  # any binary file object works
            except (Scapy_Exception, *_DAMAGED):
                raise PcapError(f"cannot read capture {path}: not a pcap or pcapng file",
                                hint="write it with tcpdump -w FILE") from None
        if type(reader).__name__ == "RawPcapNgReader" and not capture.pcapng_blocks_fit():
            raise PcapError(f"capture {path} is a pcapng file cut short or damaged",
                            hint="was tcpdump stopped mid-write? audit a complete capture")
        records = iter(reader)
        count = 0
        while True:
            try:
                with _quiet_scapy():
                    record = next(records)
            except StopIteration:
                break
            except (Scapy_Exception, *_DAMAGED) as problem:
                raise PcapError(f"capture {path} is damaged after {count} frames: {problem or type(problem).__name__}"
                                ) from None
            data, metadata = record
            caplen = getattr(metadata, "caplen", None)
            if capture.cut_short or (caplen is not None and len(data) < min(caplen, MTU)):
                capture.cut_short = True
                break  # the record scapy just returned is itself partial
            count += 1
            yield bytes(data)
        if capture.cut_short or capture.unread:
            raise PcapError(f"capture {path} is cut short or damaged after {count} frames",
                            hint="was tcpdump stopped mid-write? audit a complete capture")
    finally:
        capture.close()


def inventory_from_pcap(path: str, allowed_dhcp: tuple[str, ...] | None = None) -> PcapAudit:
    """Audit a capture file: the hosts, duplicate IPs, DHCP servers and findings a passive scan would report.

    ``allowed_dhcp`` lists the DHCP server ids that may answer (``--allowed-dhcp``);
    None checks nothing. No own address is known, so there is no self-conflict check.
    """
    fold = _Fold(path)
    fold.book.allowed = AllowedDhcp.from_texts(allowed_dhcp)  # an allowed server outlasts the server cap
    for frame in pcap_frames(path):
        fold.add(frame)
    inventory = inventory_from_capture(fold.capture(), allowed_dhcp=allowed_dhcp)
    return PcapAudit(path=path, inventory=inventory, frames=fold.frames, arp_frames=fold.arp_frames,
                     dhcp_packets=fold.dhcp_packets, malformed=fold.malformed, probes=len(fold.probes),
                     announcements=fold.announcements, skip_reasons=tuple(fold.reasons))
