"""ARP frames built and parsed as bytes, cross-checked against scapy, and malformed input."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ipaudit.scan import arp_frames as frames

SCANNER_MAC = frames.mac_bytes("02:1a:00:00:00:fa")
HOST_MAC = frames.mac_bytes("00:1a:2b:3c:4d:5e")
SCANNER_IP = frames.ip_int("198.51.100.250")
HOST_IP = frames.ip_int("198.51.100.20")


def test_request_is_a_padded_broadcast_who_has_that_scapy_reads_the_same_way():
    from scapy.layers.l2 import ARP, Ether

    frame = frames.build_request(SCANNER_MAC, SCANNER_IP, HOST_IP)
    assert len(frame) == frames.MINIMUM_FRAME
    parsed = Ether(frame)
    assert parsed.dst == "ff:ff:ff:ff:ff:ff" and parsed.src == "02:1a:00:00:00:fa"
    assert parsed[ARP].op == 1
    assert parsed[ARP].psrc == "198.51.100.250" and parsed[ARP].pdst == "198.51.100.20"
    assert parsed[ARP].hwsrc == "02:1a:00:00:00:fa" and parsed[ARP].hwdst == "00:00:00:00:00:00"


def test_probe_has_sender_ip_zero_and_is_recognised_as_probe():
    packet = frames.parse_arp(frames.build_probe(SCANNER_MAC, SCANNER_IP))
    assert packet.sender_ip == 0 and packet.target_ip == SCANNER_IP
    assert packet.is_probe and not packet.is_reply and not packet.is_gratuitous


def test_reply_built_by_scapy_parses_with_every_field():
    from scapy.layers.l2 import ARP, Ether

    frame = bytes(Ether(dst="02:1a:00:00:00:fa", src="00:1a:2b:3c:4d:5e")
                  / ARP(op=2, hwsrc="00:1a:2b:3c:4d:5e", psrc="198.51.100.20",
                        hwdst="02:1a:00:00:00:fa", pdst="198.51.100.250"))
    packet = frames.parse_arp(frame)
    assert packet.is_reply
    assert frames.mac_text(packet.sender_mac) == "00:1a:2b:3c:4d:5e"
    assert frames.ip_text(packet.sender_ip) == "198.51.100.20"
    assert frames.mac_text(packet.target_mac) == "02:1a:00:00:00:fa"
    assert frames.ip_text(packet.target_ip) == "198.51.100.250"
    assert not packet.sender_mismatch


def test_proxy_arp_reply_shows_a_sender_mismatch():
    router = frames.mac_bytes("02:00:00:00:00:01")
    frame = frames.build_reply(HOST_MAC, HOST_IP, SCANNER_MAC, SCANNER_IP, eth_source=router)
    packet = frames.parse_arp(frame)
    assert packet.sender_mismatch
    assert packet.eth_source == router and packet.sender_mac == HOST_MAC


def test_gratuitous_announcement_is_recognised():
    frame = frames.build_reply(HOST_MAC, HOST_IP, frames.BROADCAST_MAC, HOST_IP)
    assert frames.parse_arp(frame).is_gratuitous


def test_trailing_padding_is_ignored():
    frame = frames.build_reply(HOST_MAC, HOST_IP, SCANNER_MAC, SCANNER_IP)[:42] + b"\xaa" * 40
    assert frames.ip_text(frames.parse_arp(frame).sender_ip) == "198.51.100.20"


@pytest.mark.parametrize("mangle, complaint", [
    (lambda f: f[:41], "too short"),
    (lambda f: b"", "too short"),
    (lambda f: f[:12] + b"\x08\x00" + f[14:], "ethertype 0x0800"),
    (lambda f: f[:14] + struct.pack("!H", 6) + f[16:], "hardware type 6"),
    (lambda f: f[:16] + struct.pack("!H", 0x86DD) + f[18:], "protocol 0x86dd"),
    (lambda f: f[:18] + b"\x08" + f[19:], "address lengths 8/4"),
    (lambda f: f[:19] + b"\x10" + f[20:], "address lengths 6/16"),
    (lambda f: f[:20] + struct.pack("!H", 9) + f[22:], "operation 9"),
])
def test_malformed_frames_are_refused_with_the_reason(mangle, complaint):
    frame = mangle(frames.build_reply(HOST_MAC, HOST_IP, SCANNER_MAC, SCANNER_IP))
    with pytest.raises(frames.MalformedArpFrame, match=complaint):
        frames.parse_arp(frame)


@given(st.binary(max_size=80))
def test_garbage_never_raises_anything_but_malformed(garbage):
    try:
        packet = frames.parse_arp(garbage)
    except frames.MalformedArpFrame:
        return
    assert packet.operation in (frames.ARP_REQUEST, frames.ARP_REPLY)


@given(st.binary(min_size=6, max_size=6), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_request_round_trips(mac, sender, target):
    packet = frames.parse_arp(frames.build_request(mac, sender, target))
    assert (packet.sender_mac, packet.sender_ip, packet.target_ip) == (mac, sender, target)
    assert packet.eth_destination == frames.BROADCAST_MAC and packet.target_mac == frames.ZERO_MAC


@pytest.mark.parametrize("text", ["", "02:1a:00:00:00", "02:1a:00:00:00:zz", "021a.0000.00fa", "02:1a:00:00:00:100"])
def test_bad_mac_text_is_refused(text):
    with pytest.raises(frames.MalformedArpFrame):
        frames.mac_bytes(text)


def test_mac_text_round_trips_with_either_separator():
    assert frames.mac_text(frames.mac_bytes("02-1A-00-00-00-FA")) == "02:1a:00:00:00:fa"
