"""What two MACs on one IP mean, from observations: this host, a hand-over, proxy ARP, ARP flux, a duplicate."""

from __future__ import annotations

from netaddr import IPNetwork

from ipaudit.inventory import inventory_from_dict, inventory_to_dict
from ipaudit.model import Inventory, Severity
from ipaudit.scan.arp_findings import ANNOUNCEMENT, ArpObservation, ThisHost, interpret
from ipaudit.scan.interfaces import gateways

A, B, C = "02:1a:00:00:00:0a", "02:1a:00:00:00:0b", "02:1a:00:00:00:0c"
SCANNER, SCANNER_NIC2, ROUTER = "02:1a:00:00:00:fa", "02:1a:00:00:00:fb", "02:1a:00:00:00:01"


def seen(ip, mac, at=None, kind="reply"):
    return ArpObservation(ip=ip, mac=mac, eth_source=mac, kind=kind, first_seen=at, last_seen=at)


def codes(verdict):
    return [(f.code, f.severity, f.addresses) for f in verdict.findings]


NODE = ThisHost(interface="eth0", mac=SCANNER, addresses=("198.51.100.250", "198.51.100.251"),
                vips=("198.51.100.60",), macs=frozenset({SCANNER, SCANNER_NIC2}))


def test_a_phone_holding_the_nodes_vip_is_a_critical_self_conflict_not_a_host():
    verdict = interpret([seen("198.51.100.60", A), seen("198.51.100.10", B)], NODE)
    assert codes(verdict) == [("ip-conflict-with-self", Severity.CRITICAL, ("198.51.100.60",))]
    assert "VIP" in verdict.findings[0].message and A in verdict.findings[0].message


def test_a_secondary_address_claimed_by_another_mac_is_a_self_conflict():
    assert codes(interpret([seen("198.51.100.251", A)], NODE)) == [
        ("ip-conflict-with-self", Severity.CRITICAL, ("198.51.100.251",))]


def test_the_scanners_second_nic_answering_is_never_a_conflict():
    observations = [seen("198.51.100.250", SCANNER_NIC2), seen("198.51.100.251", SCANNER_NIC2),
                    seen("198.51.100.251", SCANNER)]
    assert codes(interpret(observations, NODE)) == []


def test_a_clean_hand_over_is_mac_moved_not_a_duplicate():
    observations = [seen("198.51.100.40", A, 1.0), seen("198.51.100.40", B, 2.0, ANNOUNCEMENT),
                    seen("198.51.100.40", B, 3.0)]
    verdict = interpret(observations)
    assert codes(verdict) == [("mac-moved", Severity.INFO, ("198.51.100.40",))]
    assert verdict.findings[0].key == f"mac-moved|198.51.100.40|{A}|{B}"


def test_a_split_brain_old_mac_heard_after_the_announcement_stays_a_duplicate():
    observations = [seen("198.51.100.40", A, 1.0), seen("198.51.100.40", B, 2.0, ANNOUNCEMENT),
                    seen("198.51.100.40", A, 2.5, ANNOUNCEMENT)]
    assert codes(interpret(observations)) == [("duplicate-ip", Severity.CRITICAL, ("198.51.100.40",))]


def test_a_second_holder_that_only_replied_later_is_a_duplicate_not_a_move():
    # A lossy duplicate answering only the retry looks like a hand-over without the announcement.
    observations = [seen("198.51.100.40", A, 1.0), seen("198.51.100.40", B, 2.0)]
    assert codes(interpret(observations))[0][0] == "duplicate-ip"


def test_untimed_observations_never_make_a_move():
    observations = [seen("198.51.100.40", A), seen("198.51.100.40", B, kind=ANNOUNCEMENT)]
    assert codes(interpret(observations))[0][0] == "duplicate-ip"


def test_identical_mac_sets_on_several_ips_are_arp_flux_and_a_real_duplicate_stays():
    observations = [seen("198.51.100.30", A), seen("198.51.100.30", B), seen("198.51.100.31", B),
                    seen("198.51.100.31", A), seen("198.51.100.20", A), seen("198.51.100.20", C)]
    verdict = interpret(observations)
    assert codes(verdict) == [("arp-flux", Severity.WARNING, ("198.51.100.30", "198.51.100.31")),
                              ("duplicate-ip", Severity.CRITICAL, ("198.51.100.20",))]
    assert "arp_ignore=1" in verdict.findings[0].message and "arp_announce=2" in verdict.findings[0].message


def test_a_routers_mac_alone_on_a_block_is_proxy_arp_naming_the_block():
    block = [f"198.51.100.{n}" for n in range(128, 160)]
    observations = [seen("198.51.100.1", ROUTER), seen("198.51.100.10", A)] + [seen(ip, ROUTER) for ip in block]
    verdict = interpret(observations, routers=["198.51.100.1"])
    assert [(f.code, f.severity) for f in verdict.findings] == [("proxy-arp", Severity.INFO)]
    assert "198.51.100.128/27" in verdict.findings[0].message
    assert [(str(p.block), p.mac, str(p.router)) for p in verdict.proxied] == [
        ("198.51.100.128/27", ROUTER, "198.51.100.1")]


def test_many_addresses_on_one_mac_that_is_no_router_are_not_proxy_arp():
    observations = [seen(f"198.51.100.{n}", A) for n in range(100, 140)] + [seen("198.51.100.1", ROUTER)]
    assert interpret(observations, routers=["198.51.100.1"]).findings == ()


def test_proxied_blocks_survive_the_inventory_json():
    verdict = interpret([seen("198.51.100.1", ROUTER)] + [seen(f"198.51.100.{n}", ROUTER) for n in range(4, 8)],
                        routers=["198.51.100.1"])
    inventory = Inventory(subnet=IPNetwork("198.51.100.0/24"), proxied=verdict.proxied)
    assert inventory_from_dict(inventory_to_dict(inventory)).proxied == verdict.proxied


ROUTES = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t016433C6\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t0000A8C0\t026433C6\t0003\t0\t0\t0\t00FFFFFF\t0\t0\t0
eth0\t006433C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
eth1\t00000000\t01000AC0\t0003\t0\t0\t0\t00000000\t0\t0\t0
"""


def test_gateways_of_an_interface_come_from_the_route_table_default_first():
    assert gateways("eth0", ROUTES) == ("198.51.100.1", "198.51.100.2")
    assert gateways("eth2", ROUTES) == ()
