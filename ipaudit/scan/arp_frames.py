"""Build and parse Ethernet ARP frames (RFC 826, RFC 5227 probes) as bytes: pure, no sockets.

Addresses travel as ``int`` (IPv4) and 6-byte ``bytes`` (MAC) because the sweep
builds tens of thousands of frames and matches replies at line rate; ``mac_text``
and ``ip_text`` turn them into the text the rest of ipaudit uses.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from ipaudit.errors import IpauditError

ETHERTYPE_ARP = 0x0806
ARP_REQUEST, ARP_REPLY = 1, 2
BROADCAST_MAC = b"\xff" * 6
ZERO_MAC = b"\0" * 6
FRAME_LENGTH = 42  # Ethernet header 14 + ARP for IPv4 over Ethernet 28
MINIMUM_FRAME = 60  # Ethernet minimum without FCS: padded so every NIC sends it as is

_ETHERNET = struct.Struct("!6s6sH")
_ARP = struct.Struct("!HHBBH6s4s6s4s")  # htype ptype hlen plen op sha spa tha tpa
_ARP_HEADER = struct.pack("!HHBBH", 1, 0x0800, 6, 4, ARP_REQUEST)


class MalformedArpFrame(IpauditError):
    """A frame that is not a well-formed ARP-for-IPv4-over-Ethernet packet."""


@dataclass(frozen=True)
class ArpPacket:
    """One parsed ARP frame; ``eth_source`` is the Ethernet source, ``sender_mac`` the ARP one."""

    eth_source: bytes
    eth_destination: bytes
    operation: int
    sender_mac: bytes
    sender_ip: int
    target_mac: bytes
    target_ip: int

    @property
    def is_reply(self) -> bool:
        return self.operation == ARP_REPLY

    @property
    def is_probe(self) -> bool:
        """An RFC 5227 probe: a request from sender IP 0.0.0.0 asking who holds ``target_ip``."""
        return self.operation == ARP_REQUEST and self.sender_ip == 0

    @property
    def is_gratuitous(self) -> bool:
        """An announcement: sender and target IP are the same (request or reply)."""
        return self.sender_ip == self.target_ip and self.sender_ip != 0

    @property
    def sender_mismatch(self) -> bool:
        """The Ethernet source is not the ARP sender: usually proxy ARP, sometimes spoofing."""
        return self.eth_source != self.sender_mac


def mac_bytes(mac: str) -> bytes:
    """``"aa:bb:cc:dd:ee:ff"`` (or with ``-``) as 6 bytes; raises MalformedArpFrame otherwise."""
    parts = mac.replace("-", ":").split(":")
    try:
        value = bytes(int(part, 16) for part in parts)
    except ValueError:
        value = b""
    if len(parts) != 6 or len(value) != 6 or any(len(part) > 2 for part in parts):
        raise MalformedArpFrame(f"{mac!r} is not a MAC address")
    return value


def mac_text(mac: bytes) -> str:
    return ":".join(f"{octet:02x}" for octet in mac)


def ip_int(ip: str) -> int:
    return struct.unpack("!I", socket.inet_aton(str(ip)))[0]


def ip_text(ip: int) -> str:
    return socket.inet_ntoa(struct.pack("!I", ip))


def request_prefix(source_mac: bytes, sender_ip: int) -> bytes:
    """Everything in a broadcast who-has frame before the target IP (the sweep reuses it)."""
    return (_ETHERNET.pack(BROADCAST_MAC, source_mac, ETHERTYPE_ARP) + _ARP_HEADER
            + source_mac + struct.pack("!I", sender_ip) + ZERO_MAC)


PADDING = b"\0" * (MINIMUM_FRAME - FRAME_LENGTH)


def build_request(source_mac: bytes, sender_ip: int, target_ip: int) -> bytes:
    """A broadcast "who has ``target_ip``? tell ``sender_ip``" frame, padded to 60 bytes."""
    return request_prefix(source_mac, sender_ip) + struct.pack("!I", target_ip) + PADDING


def build_probe(source_mac: bytes, target_ip: int) -> bytes:
    """An RFC 5227 probe for ``target_ip``: sender IP 0.0.0.0, so nobody's cache learns from it."""
    return build_request(source_mac, 0, target_ip)


def build_reply(source_mac: bytes, sender_ip: int, target_mac: bytes, target_ip: int,
                eth_source: bytes | None = None) -> bytes:
    """An "``sender_ip`` is at ``source_mac``" reply (tests and fixtures; the scanner never answers)."""
    return (_ETHERNET.pack(target_mac, eth_source or source_mac, ETHERTYPE_ARP)
            + _ARP.pack(1, 0x0800, 6, 4, ARP_REPLY, source_mac, struct.pack("!I", sender_ip),
                        target_mac, struct.pack("!I", target_ip)) + PADDING)


def parse_arp(frame: bytes) -> ArpPacket:
    """Parse an Ethernet ARP frame; raise MalformedArpFrame saying what is wrong with it.

    Trailing bytes (Ethernet padding) are ignored, as receivers must.
    """
    if len(frame) < FRAME_LENGTH:
        raise MalformedArpFrame(f"ARP frame too short: {len(frame)} bytes, need {FRAME_LENGTH}")
    destination, source, ethertype = _ETHERNET.unpack_from(frame, 0)
    if ethertype != ETHERTYPE_ARP:
        raise MalformedArpFrame(f"not an ARP frame: ethertype 0x{ethertype:04x}")
    htype, ptype, hlen, plen, operation, sha, spa, tha, tpa = _ARP.unpack_from(frame, 14)
    if htype != 1 or ptype != 0x0800 or hlen != 6 or plen != 4:
        raise MalformedArpFrame(f"not ARP for IPv4 over Ethernet: hardware type {htype}, protocol "
                                f"0x{ptype:04x}, address lengths {hlen}/{plen}")
    if operation not in (ARP_REQUEST, ARP_REPLY):
        raise MalformedArpFrame(f"unknown ARP operation {operation}")
    return ArpPacket(eth_source=source, eth_destination=destination, operation=operation,
                     sender_mac=sha, sender_ip=struct.unpack("!I", spa)[0], target_mac=tha,
                     target_ip=struct.unpack("!I", tpa)[0])
