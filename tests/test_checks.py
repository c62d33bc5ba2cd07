"""One test per check: each finding appears exactly when its condition holds."""

from __future__ import annotations

import pytest
from netaddr import IPAddress, IPNetwork, IPSet

from ipaudit.addresses import parse_spec
from ipaudit.model import DhcpRange, DhcpServer, Host, Lan, Lease, Pool, Reservation, Severity
from ipaudit.plan.checks import check_pools
from ipaudit.plan.status import status_of
from ipaudit.exitstatus import ExitStatus


def pool(spec: str, name: str = "p", **attributes) -> Pool:
    parsed = parse_spec(spec)
    return Pool(name, parsed.ranges, cidrs_with_host_bits=parsed.cidrs_with_host_bits, **attributes)


def lan(dhcp: str | None = "192.168.1.2-192.168.1.120", **facts) -> Lan:
    ranges = tuple(DhcpRange(r, "test") for r in parse_spec(dhcp).ranges) if dhcp else ()
    facts.setdefault("subnet", IPNetwork("192.168.1.0/24"))
    facts.setdefault("gateway", IPAddress("192.168.1.1"))
    return Lan(dhcp_ranges=ranges, **facts)


def codes(findings) -> dict[str, list]:
    found: dict[str, list] = {}
    for f in findings:
        found.setdefault(f.code, []).append(f)
    return found


def test_clean_pool_has_no_findings():
    findings = check_pools([pool("192.168.1.240-192.168.1.245")], lan())
    assert findings == []
    assert status_of(findings) is ExitStatus.OK


def test_overlap_with_dhcp_names_exact_overlap():
    found = codes(check_pools([pool("192.168.1.100-192.168.1.130")], lan()))
    (finding,) = found["pool-overlaps-dhcp"]
    assert finding.severity is Severity.CRITICAL
    assert finding.addresses == ("192.168.1.100-192.168.1.120",)
    assert "192.168.1.2-192.168.1.120" in finding.message


def test_in_use_names_address_and_mac():
    hosts = (Host(IPAddress("192.168.1.242"), ("aa:bb:cc:00:00:01",)),)
    found = codes(check_pools([pool("192.168.1.240-245")], lan(in_use=IPSet(["192.168.1.242"]), hosts=hosts)))
    (finding,) = found["pool-address-in-use"]
    assert finding.addresses == ("192.168.1.242",)
    assert "aa:bb:cc:00:00:01" in finding.message


def test_leased_address_is_critical_with_hostname():
    leases = (Lease(IPAddress("192.168.1.241"), "aa:bb:cc:00:00:02", "phone"),)
    (finding,) = codes(check_pools([pool("192.168.1.240-245")], lan(leases=leases)))["pool-address-leased"]
    assert finding.severity is Severity.CRITICAL and "phone" in finding.message


def test_overlapping_pools_make_both_pools_critical():
    pools = [pool("192.168.1.240-245", "a"), pool("192.168.1.244-250", "b"), pool("192.168.1.200-210", "c")]
    on_a, on_b = codes(check_pools(pools, lan()))["pool-overlaps-pool"]
    assert on_a.addresses == on_b.addresses == ("192.168.1.244-192.168.1.245",)
    assert on_a.pool == "a" and "pool b" in on_a.message
    assert on_b.pool == "b" and "pool a" in on_b.message
    assert on_a.key != on_b.key


def test_outside_subnet():
    (finding,) = codes(check_pools([pool("192.168.2.10-20")], lan()))["pool-outside-subnet"]
    assert finding.addresses == ("192.168.2.10-192.168.2.20",)


@pytest.mark.parametrize("spec, code, address", [
    ("192.168.1.0-10", "pool-includes-network-address", "192.168.1.0"),
    ("192.168.1.250-255", "pool-includes-broadcast-address", "192.168.1.255"),
    ("192.168.1.1", "pool-includes-gateway", "192.168.1.1"),
])
def test_special_addresses(spec, code, address):
    found = codes(check_pools([pool(spec)], lan(dhcp="192.168.1.100-192.168.1.120")))
    assert found[code][0].addresses == (address,)


def test_ipv6_subnet_router_anycast():
    v6 = lan(dhcp=None, subnet=IPNetwork("2001:db8::/64"), gateway=None)
    found = codes(check_pools([pool("2001:db8::-2001:db8::f")], v6))
    assert found["pool-includes-network-address"][0].addresses == ("2001:db8::",)


def test_nodes_and_reserved():
    facts = lan(nodes=IPSet(["192.168.1.241"]), reserved=(Reservation(IPAddress("192.168.1.243"), "aa:bb:cc:00:00:03", "nas"),),
                reserved_addresses=IPSet(["192.168.1.244"]))
    found = codes(check_pools([pool("192.168.1.240-245")], facts))
    assert found["pool-includes-node"][0].addresses == ("192.168.1.241",)
    reserved = found["pool-includes-reserved"][0]
    assert reserved.addresses == ("192.168.1.243-192.168.1.244",)
    assert "nas" in reserved.message


def test_cidr_host_bits_warns_with_whole_network():
    (finding,) = codes(check_pools([pool("192.168.1.245/30")], lan()))["pool-cidr-host-bits"]
    assert finding.severity is Severity.WARNING and "192.168.1.245/30" in finding.message


def test_buggy_ips_only_without_avoid_flag():
    wide = Lan(subnet=IPNetwork("10.0.0.0/16"))
    found = codes(check_pools([pool("10.0.1.250-10.0.2.5")], wide))
    assert found["pool-buggy-ips"][0].addresses == ("10.0.1.255-10.0.2.0",)
    assert "pool-buggy-ips" not in codes(check_pools([pool("10.0.1.250-10.0.2.5", avoid_buggy_ips=True)], wide))


def test_no_buffer_next_to_dhcp_but_not_when_overlapping():
    found = codes(check_pools([pool("192.168.1.122-130")], lan()))
    assert found["pool-no-buffer"][0].addresses == ("192.168.1.122-192.168.1.124",)
    assert "pool-no-buffer" not in codes(check_pools([pool("192.168.1.120-130")], lan()))
    assert "pool-no-buffer" not in codes(check_pools([pool("192.168.1.125-130")], lan()))


def test_dhcp_unknown_mentions_offers_and_how_to_fix():
    offer = DhcpServer(IPAddress("192.168.1.1"), "aa:bb:cc:00:00:09", IPAddress("192.168.1.77"),
                       IPAddress("255.255.255.0"))
    (finding,) = codes(check_pools([pool("192.168.1.240-245")], lan(dhcp=None, dhcp_servers=(offer,))))[
        "dhcp-range-unknown"]
    assert "--dhcp-range" in finding.message and "192.168.1.77" in finding.message
    assert "192.168.1.0/24" in finding.message


def test_offer_inside_pool_overlaps_dhcp():
    offer = DhcpServer(IPAddress("192.168.1.1"), None, IPAddress("192.168.1.242"), IPAddress("255.255.255.0"))
    found = codes(check_pools([pool("192.168.1.240-245")], lan(dhcp_servers=(offer,))))
    assert found["pool-overlaps-dhcp"][0].addresses == ("192.168.1.242",)


def test_dhcp_fills_subnet():
    found = codes(check_pools([pool("192.168.1.240-245")], lan(dhcp="192.168.1.2-192.168.1.253")))
    assert found["dhcp-range-fills-subnet"][0].severity is Severity.WARNING


def test_unknown_subnet_is_a_warning_and_skips_subnet_checks():
    # issue 8 section 4: a check that silently skipped the subnet half must not exit 0.
    found = codes(check_pools([pool("192.168.1.0-10")], Lan(dhcp_ranges=lan().dhcp_ranges)))
    assert found["subnet-unknown"][0].severity is Severity.WARNING
    assert "pool-includes-network-address" not in found


def test_status_rule():
    warning_only = check_pools([pool("192.168.1.245/30")], lan())
    assert status_of(warning_only) is ExitStatus.WARNING
    assert status_of(check_pools([pool("192.168.1.100-130")], lan())) is ExitStatus.CRITICAL
