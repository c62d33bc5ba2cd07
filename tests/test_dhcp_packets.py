"""The DHCP frame builder and parser, checked against scapy's independent implementation."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from netaddr import IPAddress
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Dot1Q, Ether

from ipaudit.errors import IpauditError
from ipaudit.model import DhcpServer
from ipaudit.scan.dhcp_packets import (
    ACK,
    OFFER,
    MalformedDhcp,
    build_discover,
    mac_to_bytes,
    normalize_client_mac,
    offer_from_packet,
    probe_mac,
    reply_from_packet,
)

SERVER_MAC = "02:00:5e:00:00:01"
CLIENT_MAC = "02:aa:bb:cc:dd:ee"


def server_reply(message_type="offer", xid=0x1234, options=None, **bootp):
    """A reply built by scapy, not by us, so the parser is checked against another implementation."""
    if options is None:
        options = [("message-type", message_type), ("server_id", "198.51.100.1"),
                   ("subnet_mask", "255.255.255.0"), ("router", "198.51.100.1"),
                   ("name_server", "198.51.100.1", "198.51.100.53"), ("lease_time", 43200), "end"]
    fields = dict(op=2, xid=xid, yiaddr="198.51.100.77", chaddr=mac_to_bytes(CLIENT_MAC))
    fields.update(bootp)
    return (Ether(src=SERVER_MAC, dst="ff:ff:ff:ff:ff:ff") / IP(src="198.51.100.1", dst="255.255.255.255")
            / UDP(sport=67, dport=68) / BOOTP(**fields) / DHCP(options=options))


# --- the DISCOVER we send -------------------------------------------------------

def test_discover_is_a_broadcast_discover_scapy_can_read():
    frame = Ether(build_discover(CLIENT_MAC, 0xDEADBEEF, source_mac="aa:00:00:00:00:01"))
    assert frame.dst == "ff:ff:ff:ff:ff:ff" and frame.src == "aa:00:00:00:00:01"
    assert (frame[IP].src, frame[IP].dst) == ("0.0.0.0", "255.255.255.255")
    assert (frame[UDP].sport, frame[UDP].dport) == (68, 67)
    assert frame[BOOTP].op == 1 and frame[BOOTP].xid == 0xDEADBEEF
    assert frame[BOOTP].flags == "B"
    assert frame[BOOTP].chaddr[:6] == mac_to_bytes(CLIENT_MAC)
    options = dict(opt for opt in frame[DHCP].options if isinstance(opt, tuple))
    assert options["message-type"] == 1  # DISCOVER, never REQUEST
    assert "requested_addr" not in options
    assert len(frame[UDP].payload) >= 300


def test_discover_checksums_match_scapys():
    frame = Ether(build_discover(CLIENT_MAC, 7))
    ours = (frame[IP].chksum, frame[UDP].chksum)
    del frame[IP].chksum
    del frame[UDP].chksum
    rebuilt = Ether(bytes(frame))
    assert (rebuilt[IP].chksum, rebuilt[UDP].chksum) == ours


def test_probe_mac_is_stable_locally_administered_and_not_the_interface_mac():
    first, again = probe_mac("52:54:00:12:34:56"), probe_mac("52:54:00:12:34:56")
    other = probe_mac("52:54:00:12:34:57")
    assert first == again != other
    assert first != "52:54:00:12:34:56"
    octet = mac_to_bytes(first)[0]
    assert octet & 0x02 and not octet & 0x01


def test_client_mac_override_is_validated():
    assert normalize_client_mac("02-00-5E-10-00-01") == "02:00:5e:10:00:01"
    with pytest.raises(IpauditError, match="multicast"):
        normalize_client_mac("01:00:5e:00:00:01")
    with pytest.raises(IpauditError, match="not a MAC"):
        normalize_client_mac("02:00:5e:zz:00:01")


# --- parsing replies ------------------------------------------------------------

def test_offer_fields():
    server = offer_from_packet(bytes(server_reply()))
    assert server.server_id == IPAddress("198.51.100.1")
    assert server.mac == SERVER_MAC
    assert server.offered_ip == IPAddress("198.51.100.77")
    assert server.subnet_mask == IPAddress("255.255.255.0")
    assert server.router == IPAddress("198.51.100.1")
    assert server.dns == (IPAddress("198.51.100.1"), IPAddress("198.51.100.53"))
    assert server.lease_time == 43200
    assert server.relay is None


def test_scapy_packet_and_bytes_parse_the_same():
    packet = server_reply()
    assert offer_from_packet(packet) == offer_from_packet(bytes(packet))


def test_relayed_offer_records_giaddr_and_vlan_tags_are_skipped():
    packet = server_reply(giaddr="203.0.113.1")
    tagged = Ether(src=SERVER_MAC, dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=20) / packet[IP]
    assert offer_from_packet(tagged).relay == IPAddress("203.0.113.1")


def test_ack_is_a_reply_but_not_an_offer():
    packet = server_reply("ack")
    assert offer_from_packet(packet) is None
    reply = reply_from_packet(packet)
    assert (reply.message_type, reply.kind, reply.client_mac) == (ACK, "ACK", CLIENT_MAC)


def test_offer_for_another_transaction_is_ignored():
    assert offer_from_packet(server_reply(xid=1), xid=2) is None
    assert reply_from_packet(server_reply(xid=1)).message_type == OFFER


def test_options_overloaded_into_the_file_field_are_read():
    overflow = bytes([3, 4, 198, 51, 100, 254, 255])
    packet = server_reply(options=[("message-type", "offer"), ("server_id", "198.51.100.1"),
                                   (52, b"\x01"), "end"], file=overflow)
    assert offer_from_packet(packet).router == IPAddress("198.51.100.254")


def test_server_without_option_54_is_known_by_its_ip_source():
    packet = server_reply(options=[("message-type", "offer"), "end"])
    assert offer_from_packet(packet).server_id == IPAddress("198.51.100.1")


def test_other_traffic_is_not_a_reply():
    assert reply_from_packet(b"") is None
    assert reply_from_packet(bytes(Ether() / IP() / UDP(sport=53, dport=68) / (b"x" * 300))) is None
    client_request = Ether() / IP() / UDP(sport=67, dport=67) / BOOTP(op=1) / DHCP(options=[("message-type", 1), "end"])
    assert reply_from_packet(client_request) is None


# --- malformed replies: a specific error, never a crash ------------------------

def options_area(frame: bytes) -> int:
    return len(frame) - len(bytes(Ether(frame)[DHCP]))


def fix_lengths(frame: bytes) -> bytes:
    """Rewrite IP and UDP lengths after cutting a frame, so only the DHCP layer is broken."""
    packet = Ether(frame)
    del packet[IP].len, packet[IP].chksum, packet[UDP].len, packet[UDP].chksum
    return bytes(packet)


def _cut(frame: bytes, length: int) -> bytes:
    packet = Ether(frame[:length])
    packet[IP].len = length - 14
    packet[UDP].len = length - 34
    return bytes(packet)


def test_options_cut_off_keep_what_was_read_and_say_what_was_lost():
    frame = bytes(server_reply())
    start = options_area(frame)
    reply = reply_from_packet(_cut(frame, start + 8))  # inside the server-id option, after the message type
    assert reply.message_type == OFFER and reply.server.server_id == IPAddress("198.51.100.1")  # the IP source
    assert reply.problems == ("option 54 in options claims 4 bytes, only 3 left",)
    with pytest.raises(MalformedDhcp, match="without a message type; option 53"):
        reply_from_packet(_cut(frame, start + 2))  # inside the message type itself


def test_a_bad_field_is_left_out_and_named_the_rest_is_kept():
    packet = server_reply(options=[("message-type", "offer"), (1, b"\xff\xff\xff"), ("router", "198.51.100.1"),
                                   (51, b"\x00\x01"), "end"])
    reply = reply_from_packet(packet)
    assert reply.server.subnet_mask is None and reply.server.lease_time is None
    assert reply.server.router == IPAddress("198.51.100.1")
    assert reply.problems == ("option 51 (lease time) is 2 bytes, takes 4",
                              "option 1 is 3 bytes, an IPv4 address takes 4")


def test_non_contiguous_mask_is_dropped_not_fatal():
    packet = server_reply(options=[("message-type", "offer"), ("server_id", "198.51.100.1"),
                                   ("subnet_mask", "255.0.255.0"), ("router", "198.51.100.1"), "end"])
    reply = reply_from_packet(packet)
    assert reply.server.subnet_mask is None and reply.server.subnet is None
    assert reply.server.offered_ip == IPAddress("198.51.100.77") and reply.server.router == IPAddress("198.51.100.1")
    assert reply.problems == ("option 1 (subnet mask) 255.0.255.0 is not a netmask: its one bits are not contiguous",)
    # A DhcpServer built elsewhere (an old inventory, a test) with such a mask has no subnet either.
    assert DhcpServer(server_id=None, mac=None, offered_ip=IPAddress("198.51.100.7"),
                      subnet_mask=IPAddress("255.0.255.0")).subnet is None


def test_lengths_that_do_not_fit_are_malformed():
    frame = bytearray(bytes(server_reply()))
    struct.pack_into("!H", frame, 14 + 2, len(frame))  # IPv4 total length beyond the frame
    with pytest.raises(MalformedDhcp, match="total length"):
        reply_from_packet(bytes(frame))
    frame = bytearray(bytes(server_reply()))
    struct.pack_into("!H", frame, 14 + 20 + 4, 4)  # UDP length below its own header
    with pytest.raises(MalformedDhcp, match="UDP length"):
        reply_from_packet(bytes(frame))


def test_missing_cookie_and_short_bootp_are_malformed():
    frame = bytearray(bytes(server_reply()))
    frame[14 + 20 + 8 + 236] ^= 0xFF
    with pytest.raises(MalformedDhcp, match="cookie"):
        reply_from_packet(bytes(frame))
    with pytest.raises(MalformedDhcp, match="shorter"):
        reply_from_packet(fix_lengths(bytes(server_reply())[:14 + 20 + 8 + 100]))


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600), st.integers(min_value=0, max_value=700))
def test_garbage_never_crashes(noise, position):
    """Random bytes, alone or spliced into a real offer: a reply, None or MalformedDhcp, nothing else."""
    real = bytes(server_reply())
    for frame in (noise, real[:position] + noise, real[:position] + noise[:8] + real[position + 8:]):
        try:
            reply_from_packet(frame)
        except MalformedDhcp:
            pass


# --- findings about the servers -------------------------------------------------

def _server(server_id, mac, offered):
    return DhcpServer(
        server_id=IPAddress(server_id), mac=mac, offered_ip=IPAddress(offered))


def test_one_server_is_fine_two_are_critical():
    from ipaudit.model import Severity
    from ipaudit.scan.dhcp_findings import dhcp_findings

    router = _server("198.51.100.1", "02:1a:00:00:00:01", "198.51.100.181")
    rogue = _server("198.51.100.66", "02:1a:00:00:00:02", "198.51.100.111")
    assert dhcp_findings([router]) == []
    assert dhcp_findings([router, router]) == []  # the same server twice is one server
    (finding,) = dhcp_findings([router, rogue])
    assert (finding.code, finding.severity) == ("multiple-dhcp-servers", Severity.CRITICAL)
    assert finding.addresses == ("198.51.100.1", "198.51.100.66")
    assert "198.51.100.111" in finding.message


def test_servers_outside_the_allow_list_are_unauthorized():
    from ipaudit.scan.dhcp_findings import dhcp_findings

    router = _server("198.51.100.1", "02:1a:00:00:00:01", "198.51.100.181")
    rogue = _server("198.51.100.66", "02:1a:00:00:00:02", "198.51.100.111")
    assert dhcp_findings([router], allowed={"198.51.100.1"}) == []
    codes = [(f.code, f.addresses) for f in dhcp_findings([router, rogue], allowed={"198.51.100.1"})]
    assert codes == [("multiple-dhcp-servers", ("198.51.100.1", "198.51.100.66")),
                     ("unauthorized-dhcp-server", ("198.51.100.66", "198.51.100.111"))]
    (alone,) = dhcp_findings([rogue], allowed=[IPAddress("198.51.100.1")])
    assert alone.code == "unauthorized-dhcp-server" and "not in --allowed-dhcp (198.51.100.1)" in alone.message
