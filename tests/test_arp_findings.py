"""ARP findings and the host table from plain observations (what both the sweep and passive mode yield)."""

from __future__ import annotations

from netaddr import IPAddress

from ipaudit.model import Severity
from ipaudit.scan.arp_findings import (
    ArpObservation,
    arp_findings,
    duplicate_ip_findings,
    hosts_from_observations,
    self_conflict_findings,
    sender_mismatch_findings,
)
from ipaudit.scan.interfaces import InterfaceError, default_route_interface
from ipaudit.scan.vendor import LOCALLY_ADMINISTERED, vendor_of

A, B = "02:1a:00:00:00:0a", "02:1a:00:00:00:0b"
SCANNER = "02:1a:00:00:00:fa"


def seen(ip, mac, eth=None):
    return ArpObservation(ip=ip, mac=mac, eth_source=eth or mac)


def test_two_macs_for_one_ip_is_a_critical_duplicate():
    findings = duplicate_ip_findings([seen("198.51.100.20", A), seen("198.51.100.20", B)])
    assert [(f.code, f.severity, f.addresses) for f in findings] == [
        ("duplicate-ip", Severity.CRITICAL, ("198.51.100.20",))]
    assert A in findings[0].message and B in findings[0].message


def test_one_mac_answering_many_times_is_not_a_conflict():
    assert duplicate_ip_findings([seen("198.51.100.20", A)] * 5 + [seen("198.51.100.20", A.upper())]) == []


def test_scanner_address_claimed_by_another_mac_is_a_self_conflict_not_a_duplicate():
    observations = [seen("198.51.100.250", A), seen("198.51.100.10", B)]
    findings = arp_findings(observations, own_ip="198.51.100.250", own_mac=SCANNER, interface="eth0")
    assert [(f.code, f.severity) for f in findings] == [("ip-conflict-with-self", Severity.CRITICAL)]
    assert "eth0" in findings[0].message and A in findings[0].message


def test_our_own_mac_for_our_own_ip_is_no_conflict():
    assert self_conflict_findings("198.51.100.250", SCANNER, [seen("198.51.100.250", SCANNER)]) == []


def test_ethernet_source_differing_from_arp_sender_is_an_info_mismatch():
    router = "02:00:00:00:00:01"
    findings = sender_mismatch_findings([seen("198.51.100.30", A, eth=router), seen("198.51.100.31", B)])
    assert [(f.code, f.severity, f.addresses) for f in findings] == [
        ("arp-sender-mismatch", Severity.INFO, ("198.51.100.30",))]
    assert "proxy ARP" in findings[0].message and router in findings[0].message


def test_observation_without_ethernet_source_is_no_mismatch():
    assert sender_mismatch_findings([ArpObservation("198.51.100.30", A)]) == []


def test_host_table_is_sorted_by_address_with_distinct_macs_in_order_seen():
    hosts = hosts_from_observations([seen("198.51.100.100", A), seen("198.51.100.9", B),
                                     seen("198.51.100.100", B), seen("198.51.100.100", A)])
    assert [h.ip for h in hosts] == [IPAddress("198.51.100.9"), IPAddress("198.51.100.100")]
    assert hosts[1].macs == (A, B)
    assert hosts[1].vendor == LOCALLY_ADMINISTERED


def test_vendor_comes_from_the_oui_registry_and_unknown_is_none():
    assert vendor_of("00:1a:2b:00:00:01") == "Ayecom Technology Co., Ltd."
    assert vendor_of("02:1a:2b:00:00:01") == LOCALLY_ADMINISTERED
    assert vendor_of("not-a-mac") is None


ROUTES = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0
eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
"""


def test_default_route_interface_is_the_lowest_metric_default_route():
    assert default_route_interface(ROUTES) == "eth0"


def test_no_default_route_says_to_pass_an_interface():
    try:
        default_route_interface(ROUTES.splitlines()[0] + "\neth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\n")
    except InterfaceError as problem:
        assert "-i INTERFACE" in problem.one_line()
    else:
        raise AssertionError("no default route must raise")
