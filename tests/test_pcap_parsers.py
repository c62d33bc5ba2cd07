"""The DHCP and ARP parsers, and passive mode's reduction of frames, on pcaps recorded in the lab.

``fixtures/record_pcaps.py`` recorded them from real dnsmasq, dhclient and kernels
in network namespaces (router 02:1a:00:00:00:01 at .1 serving .2-.253, rogue
02:1a:00:00:00:02 at .66 serving .100-.120, twins ...:03 and ...:04 both at .20,
phone ...:05 at .240, scanner ...:06 at .250, dhclient ...:07), and crafted
``malformed-dhcp-arp.pcap`` frame by frame. No privileges needed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from netaddr import IPAddress, IPRange
from scapy.layers.dhcp import BOOTP
from scapy.layers.l2 import Ether

from ipaudit.scan.dhcp_packets import ACK, OFFER, offer_from_packet, reply_from_packet
from ipaudit.scan.passive import PcapError, capture_frames, frames_from_pcap, inventory_from_capture

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ROUTER, ROGUE = IPAddress("198.51.100.1"), IPAddress("198.51.100.66")
ROUTER_MAC, ROGUE_MAC = "02:1a:00:00:00:01", "02:1a:00:00:00:02"


def frames(name: str) -> list[bytes]:
    return list(frames_from_pcap(FIXTURES / name))


def test_offers_from_our_discovery_of_two_dnsmasq_servers():
    recorded = frames("dhcp-discovery-two-servers.pcap")
    discover = Ether(recorded[0])
    assert discover[BOOTP].op == 1 and discover[BOOTP].flags == "B"
    assert reply_from_packet(recorded[0]) is None  # our own DISCOVER is no reply
    servers = {s.server_id: s for s in (offer_from_packet(f, xid=discover[BOOTP].xid) for f in recorded) if s}
    assert set(servers) == {ROUTER, ROGUE}
    router, rogue = servers[ROUTER], servers[ROGUE]
    assert (router.mac, rogue.mac) == (ROUTER_MAC, ROGUE_MAC)
    assert router.offered_ip in IPRange("198.51.100.2", "198.51.100.253")
    assert rogue.offered_ip in IPRange("198.51.100.100", "198.51.100.120")
    assert router.subnet_mask == rogue.subnet_mask == IPAddress("255.255.255.0")
    assert (router.router, rogue.router) == (ROUTER, ROGUE)
    assert router.dns == (ROUTER,) and rogue.dns == ()
    assert (router.lease_time, rogue.lease_time) == (12 * 3600, 600)
    assert router.relay is None and rogue.relay is None
    assert all(offer_from_packet(f, xid=discover[BOOTP].xid ^ 1) is None for f in recorded)


def test_unicast_offers_and_the_ack_of_a_real_dhclient():
    capture = capture_frames(frames("dhcp-dora-dhclient.pcap"))
    assert capture.skipped == 0
    kinds = [(reply.message_type, reply.server.server_id) for reply in capture.dhcp]
    assert sorted(kinds) == sorted([(OFFER, ROUTER), (OFFER, ROGUE), (ACK, ROUTER)])
    assert {reply.client_mac for reply in capture.dhcp} == {"02:1a:00:00:00:07"}
    offer = next(r for r in capture.dhcp if r.message_type == OFFER and r.server.server_id == ROUTER)
    ack = next(r for r in capture.dhcp if r.message_type == ACK)
    assert ack.server.offered_ip == offer.server.offered_ip and ack.xid == offer.xid
    inventory = inventory_from_capture(capture, allowed_dhcp={"198.51.100.1"})
    assert sorted(s.server_id for s in inventory.dhcp_servers) == [ROUTER, ROGUE]
    assert sorted(f.code for f in inventory.findings) == ["multiple-dhcp-servers", "unauthorized-dhcp-server"]


def test_arp_traffic_gives_hosts_the_duplicate_probe_and_announcement():
    capture = capture_frames(frames("arp-lan-duplicate.pcap"))
    assert (capture.frames, capture.skipped, capture.announcements) == (7, 0, 1)
    assert capture.probes == [("02:1a:00:00:00:05", "198.51.100.241")]
    inventory = inventory_from_capture(capture, interface="eth0")
    hosts = {str(h.ip): set(h.macs) for h in inventory.hosts}
    assert hosts == {"198.51.100.1": {ROUTER_MAC}, "198.51.100.20": {"02:1a:00:00:00:03", "02:1a:00:00:00:04"},
                     "198.51.100.240": {"02:1a:00:00:00:05"}, "198.51.100.250": {"02:1a:00:00:00:06"}}
    assert "198.51.100.241" not in hosts  # a probe claims nothing
    assert all(h.vendor == "locally administered" for h in inventory.hosts)
    assert [(f.code, f.addresses) for f in inventory.findings] == [("duplicate-ip", ("198.51.100.20",))]


def test_arp_traffic_seen_from_one_of_the_twins_is_a_conflict_with_self():
    capture = capture_frames(frames("arp-lan-duplicate.pcap"))
    inventory = inventory_from_capture(capture, own_ip="198.51.100.20", own_mac="02:1a:00:00:00:03")
    assert [(f.code, f.addresses) for f in inventory.findings] == [("ip-conflict-with-self", ("198.51.100.20",))]


def test_malformed_frames_are_skipped_and_counted():
    capture = capture_frames(frames("malformed-dhcp-arp.pcap"))
    assert capture.frames == 12
    # The good frames still count (one OFFER, one ARP request), and so do the three OFFERs with
    # one bad field each (a cut server id, a 3-byte mask, no end marker): that field is left out.
    assert [(r.kind, str(r.server.offered_ip)) for r in capture.dhcp] == [("OFFER", "198.51.100.77")] * 4
    assert [r.problems for r in capture.dhcp[1:]] == [("option 54 in options claims 4 bytes, only 2 left",),
                                                      ("option 1 is 3 bytes, an IPv4 address takes 4",),
                                                      ("options have no end marker",)]
    assert [(o.ip, o.mac) for o in capture.arp] == [("198.51.100.9", "02:1a:00:00:00:09")]
    assert capture.skipped == 5
    reasons = " | ".join(capture.skip_reasons)
    for expected in ("IPv4 total length", "UDP length 3", "magic cookie", "ARP frame too short",
                     "address lengths 9/4"):
        assert expected in reasons


def test_a_file_that_is_no_pcap_is_a_one_line_error(tmp_path):
    bogus = tmp_path / "capture.pcap"
    bogus.write_bytes(b"not a capture at all")
    with pytest.raises(PcapError, match="cannot read capture"):
        list(frames_from_pcap(bogus))
    with pytest.raises(PcapError, match="cannot read capture"):
        list(frames_from_pcap(tmp_path / "missing.pcap"))
