"""What check-pool -i vouches for: every DHCP server it heard, and never a block it did not ARP called free."""

from __future__ import annotations

from netaddr import IPAddress, IPRange

from ipaudit.addressset import AddressSet
from ipaudit.model import DhcpServer, Inventory
from ipaudit.plan.probed import dhcp_truths, mark_unprobed
from ipaudit.plan.recommend import Recommendation

ROUTER = DhcpServer(IPAddress("198.51.100.1"), "02:1a:00:00:00:01", offered_ip=IPAddress("198.51.100.150"))
ROGUE = DhcpServer(IPAddress("198.51.100.66"), "02:1a:00:00:00:42", offered_ip=IPAddress("198.51.100.70"))


def test_one_server_is_named_and_not_flagged():
    findings, notes = dhcp_truths([Inventory(dhcp_servers=(ROUTER,))], "eth0", 6)
    assert findings == []
    assert notes == ["-i eth0: DHCP server that answered: 198.51.100.1 (02:1a:00:00:00:01, offered 198.51.100.150)"]


def test_two_servers_are_both_named_and_flagged():
    findings, notes = dhcp_truths([Inventory(dhcp_servers=(ROUTER, ROGUE))], "eth0", 6)
    assert [str(f.code) for f in findings] == ["multiple-dhcp-servers"]
    assert "198.51.100.1 (" in notes[0] and "198.51.100.66 (" in notes[0] and "servers" in notes[0]


def test_silence_is_said_and_no_probe_says_nothing():
    assert dhcp_truths([Inventory()], "eth0", 1.5) == ([], ["-i eth0: no DHCP server answered within 1.5 s"])
    assert dhcp_truths([], "eth0", 6) == ([], [])


BLOCK = IPRange("198.51.100.248", "198.51.100.253")


def test_a_block_outside_the_probe_is_marked_with_how_to_check_it():
    use = Recommendation("use-block", "use 198.51.100.248-198.51.100.253 (6 addresses) for pool lb", "lb", BLOCK)
    zones = Recommendation("free-zones", "free zones ...", zones=(BLOCK,))
    probed = AddressSet([IPRange("198.51.100.240", "198.51.100.249")])
    marked = mark_unprobed([use, zones], probed, "eth0")
    assert "Not probed" in marked[0].message and "198.51.100.250-198.51.100.253 may be in use" in marked[0].message
    assert "ipaudit check-pool 198.51.100.248-198.51.100.253 -i eth0" in marked[0].message
    assert "4 of these addresses were not asked about" in marked[1].message
    assert "ipaudit scan -i eth0" in marked[1].message
    assert marked[0].block == BLOCK  # only the message changes


def test_a_block_the_probe_covered_is_left_alone():
    use = Recommendation("use-block", "use it", "lb", BLOCK)
    no_room = Recommendation("no-room", "no block")
    assert mark_unprobed([use, no_room], AddressSet([BLOCK]), "eth0") == [use, no_room]
