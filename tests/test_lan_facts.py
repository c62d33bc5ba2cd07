"""The LAN facts that decide verdicts (issue 8 section 4): gateway, subnet, DHCP range input, dual stack.

Engine tests pass ``local_interfaces=False`` so this machine's own interfaces and routes never leak
in; the kernel's route table is tested through its parser, on /proc/net/route text.
"""

from __future__ import annotations

import json

import pytest
from netaddr import IPAddress, IPNetwork

from ipaudit.errors import SpecError
from ipaudit.exitstatus import ExitStatus
from ipaudit.facts import LanOptions, LanQuery, assemble_lan, typed_subnets
from ipaudit.findings import Code
from ipaudit.model import DhcpFacts, DhcpRange, DhcpServer, Inventory
from ipaudit.plan.engine import CheckRequest, run_check
from ipaudit.sources.local_interfaces import DefaultRoute, InterfaceAddress, default_gateway, default_routes
from ipaudit.sources.pools import PoolQuery


def check(*pools: str, inventories=(), sources=(), **options):
    query = LanQuery(LanOptions(**options), inventories=tuple(inventories), dhcp_sources=tuple(sources),
                     local_interfaces=False)
    return run_check(CheckRequest(PoolQuery(specs=pools), query))


def codes(report) -> dict[str, list]:
    found: dict[str, list] = {}
    for item in report.findings:
        found.setdefault(item.code, []).append(item)
    return found


def offer(server: str, router: str, offered: str = "198.51.100.150") -> DhcpServer:
    return DhcpServer(server_id=IPAddress(server), mac=None, offered_ip=IPAddress(offered),
                      subnet_mask=IPAddress("255.255.255.0"), router=IPAddress(router))


def inventory_file(tmp_path, *servers: DhcpServer):
    from ipaudit.inventory import inventory_to_json

    path = tmp_path / "scan.json"
    path.write_text(inventory_to_json(Inventory(dhcp_servers=servers)))
    return str(path)


# --- gateway -------------------------------------------------------------------------------------

def test_acceptance_a_pool_holding_an_unknown_router_is_a_warning_not_ok():
    # issue 8 acceptance: check-pool 192.168.1.1-192.168.1.6 --subnet 192.168.1.0/24 --dhcp-range .100-.200
    report = check("192.168.1.1-192.168.1.6", subnet="192.168.1.0/24", dhcp_ranges=("192.168.1.100-192.168.1.200",))
    assert report.status is ExitStatus.WARNING
    (unknown,) = codes(report)[Code.GATEWAY_UNKNOWN]
    assert "--gateway" in unknown.message
    assert report.lan.gateway is None


def test_the_dhcp_sources_router_option_names_the_gateway_the_pool_holds(tmp_path):
    conf = tmp_path / "dnsmasq.conf"
    conf.write_text("dhcp-range=198.51.100.100,198.51.100.200,255.255.255.0,12h\n"
                    "dhcp-option=option:router,198.51.100.1\n")
    report = check("198.51.100.1-198.51.100.6", sources=[f"dnsmasq:{conf}?leases="])
    assert report.status is ExitStatus.CRITICAL
    assert report.lan.gateway == IPAddress("198.51.100.1")
    assert report.lan.gateway_origin == f"router option of dnsmasq:{conf}?leases="
    (holds,) = codes(report)[Code.POOL_INCLUDES_GATEWAY]
    assert holds.addresses == ("198.51.100.1",) and "router option" in holds.message
    # The subnet came from the same source (dhcp-range's netmask), and says so.
    assert report.lan.subnet == IPNetwork("198.51.100.0/24") and "dnsmasq" in report.lan.subnet_origin
    assert Code.GATEWAY_UNKNOWN not in codes(report)


def test_an_offer_names_the_gateway_when_nothing_else_does(tmp_path):
    path = inventory_file(tmp_path, offer("198.51.100.2", "198.51.100.1"))
    report = check("198.51.100.240-198.51.100.245", inventories=[path], dhcp_ranges=("198.51.100.100-198.51.100.200",))
    assert report.lan.gateway == IPAddress("198.51.100.1")
    assert report.lan.gateway_origin == "DHCP offer from 198.51.100.2"
    assert Code.GATEWAY_UNKNOWN not in codes(report) and Code.GATEWAYS_DISAGREE not in codes(report)


def test_offers_that_disagree_name_every_router_and_pick_none(tmp_path):
    path = inventory_file(tmp_path, offer("198.51.100.2", "198.51.100.1"), offer("198.51.100.3", "198.51.100.254"))
    report = check("198.51.100.250-198.51.100.254", inventories=[path], dhcp_ranges=("198.51.100.100-198.51.100.200",))
    assert report.lan.gateway is None  # never whichever answered first
    (disagree,) = codes(report)[Code.GATEWAYS_DISAGREE]
    assert disagree.addresses == ("198.51.100.1", "198.51.100.254")
    assert "DHCP offer from 198.51.100.2" in disagree.message and "DHCP offer from 198.51.100.3" in disagree.message
    assert disagree.key == "gateways-disagree|198.51.100.1|198.51.100.254"
    # Both routers are protected: the pool holding .254 is caught although no single gateway was chosen.
    (holds,) = codes(report)[Code.POOL_INCLUDES_GATEWAY]
    assert holds.addresses == ("198.51.100.254",)


def test_typed_gateway_wins_but_a_source_naming_another_router_is_flagged(tmp_path):
    conf = tmp_path / "dnsmasq.conf"
    conf.write_text("dhcp-range=203.0.113.100,203.0.113.200\ndhcp-option=3,203.0.113.254\n")
    report = check("203.0.113.240-203.0.113.245", sources=[f"dnsmasq:{conf}?leases="], subnet="203.0.113.0/24",
                   gateway="203.0.113.1")
    assert report.lan.gateway == IPAddress("203.0.113.1") and report.lan.gateway_origin == "--gateway"
    (disagree,) = codes(report)[Code.GATEWAYS_DISAGREE]
    assert "203.0.113.1 (--gateway)" in disagree.message and "203.0.113.254 (router option" in disagree.message


def test_a_router_outside_the_subnet_is_another_lans(tmp_path):
    conf = tmp_path / "dhcpd.conf"
    conf.write_text("subnet 198.51.100.0 netmask 255.255.255.0 { range 198.51.100.100 198.51.100.200;\n"
                    "  option routers 198.51.100.1; }\n"
                    "subnet 203.0.113.0 netmask 255.255.255.0 { range 203.0.113.100 203.0.113.200;\n"
                    "  option routers 203.0.113.1; }\n")
    report = check("198.51.100.240-198.51.100.245", sources=[f"dhcpd:{conf}?leases="])
    assert report.lan.subnet == IPNetwork("198.51.100.0/24")
    assert [str(r.address) for r in report.lan.routers] == ["198.51.100.1"]
    assert Code.GATEWAYS_DISAGREE not in codes(report)
    # The second subnet's range is that LAN's business, not a range "outside" ours.
    assert Code.DHCP_RANGE_OUTSIDE_SUBNET not in codes(report)


def test_the_kernels_default_route_comes_before_the_dhcp_sources():
    facts = DhcpFacts(source="dnsmasq:x", ranges=(DhcpRange(_range("198.18.0.100-198.18.0.200"), "dnsmasq x"),),
                      routers=(IPAddress("198.18.0.254"),))
    lan = assemble_lan(LanOptions(subnet="198.18.0.0/24"), dhcp_facts=[facts],
                       route_lookup=lambda subnet: DefaultRoute("lan0", IPAddress("198.18.0.1"), 0))
    assert lan.gateway == IPAddress("198.18.0.1") and lan.gateway_origin == "default route via lan0"
    assert [str(r.address) for r in lan.routers] == ["198.18.0.1", "198.18.0.254"]


def _range(text: str):
    from ipaudit.addresses import parse_spec

    return parse_spec(text).ranges[0]


ROUTE_TABLE = (
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "wlan0\t00000000\t01C812C6\t0003\t0\t0\t600\t00000000\t0\t0\t0\n"   # default via 198.18.200.1, metric 600
    "lan0\t00000000\t010012C6\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"    # default via 198.18.0.1, metric 100
    "lan0\t000012C6\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n"    # 198.18.0.0/24, on link
    "vpn0\t00000000\t00000000\t0001\t0\t0\t50\t00000000\t0\t0\t0\n"     # default without a gateway
)


def test_default_routes_are_read_from_proc_net_route_text():
    routes = default_routes(ROUTE_TABLE)
    assert [(r.interface, str(r.gateway), r.metric) for r in routes] == [("lan0", "198.18.0.1", 100),
                                                                           ("wlan0", "198.18.200.1", 600)]


def test_default_gateway_is_the_route_through_the_interface_holding_the_subnet():
    addresses = [InterfaceAddress("lan0", IPAddress("198.18.0.10"), IPNetwork("198.18.0.0/24")),
                 InterfaceAddress("wlan0", IPAddress("198.18.200.10"), IPNetwork("198.18.200.0/24"))]
    assert default_gateway(IPNetwork("198.18.200.0/24"), ROUTE_TABLE, addresses).gateway == IPAddress("198.18.200.1")
    assert default_gateway(IPNetwork("198.18.0.0/24"), ROUTE_TABLE, addresses).interface == "lan0"
    assert default_gateway(IPNetwork("203.0.113.0/24"), ROUTE_TABLE, addresses) is None
    assert default_gateway(IPNetwork("2001:db8::/64"), ROUTE_TABLE, addresses) is None


# --- subnet --------------------------------------------------------------------------------------

def test_help_example_assumes_the_24_holding_the_dhcp_range_and_warns():
    # ipaudit --help's first example, with no --subnet: checked on an assumed /24, never silently.
    report = check("192.168.1.240-245", dhcp_ranges=("192.168.1.2-192.168.1.120",))
    assert report.lan.subnet == IPNetwork("192.168.1.0/24") and report.lan.subnet_origin.startswith("assumed")
    (unknown,) = codes(report)[Code.SUBNET_UNKNOWN]
    assert "assumed 192.168.1.0/24" in unknown.message and "--subnet" in unknown.message
    assert report.status is ExitStatus.WARNING
    # The assumed subnet still catches a pool on its network address.
    caught = check("192.168.1.0-192.168.1.5", dhcp_ranges=("192.168.1.100-192.168.1.120",))
    assert Code.POOL_INCLUDES_NETWORK_ADDRESS in codes(caught)


def test_no_subnet_is_assumed_when_pool_and_range_span_two_24s():
    report = check("198.51.100.240-245", dhcp_ranges=("203.0.113.2-203.0.113.120",))
    assert report.lan.subnet is None
    (unknown,) = codes(report)[Code.SUBNET_UNKNOWN]
    assert unknown.severity.value == "warning" and "skipped" in unknown.message


def test_recommend_style_lan_with_only_a_dhcp_range_assumes_nothing():
    lan = assemble_lan(LanOptions(dhcp_ranges=("198.51.100.2-198.51.100.120",)))
    assert lan.subnet is None


def test_two_subnets_of_one_family_are_refused():
    with pytest.raises(SpecError, match="two IPv4 subnets"):
        typed_subnets(LanOptions(subnets=("198.51.100.0/24", "203.0.113.0/24")))
    both = typed_subnets(LanOptions(subnets=("198.51.100.0/24,2001:db8::/64",)))
    assert both == {4: IPNetwork("198.51.100.0/24"), 6: IPNetwork("2001:db8::/64")}


def test_a_dual_stack_pool_is_checked_against_each_familys_subnet():
    pool = "198.51.100.240-198.51.100.245,2001:db8::10-2001:db8::20"
    report = check(pool, subnets=("198.51.100.0/24", "2001:db8::/64"), gateway="198.51.100.1",
                   dhcp_ranges=("198.51.100.2-198.51.100.120",))
    assert report.status is ExitStatus.OK, report.findings
    assert report.lan.subnet == IPNetwork("198.51.100.0/24")
    assert report.lan.subnet_for(6).network == IPNetwork("2001:db8::/64")
    # With only the IPv4 subnet known, the IPv6 half is not "outside": its subnet is unknown, and said so.
    half = check(pool, subnet="198.51.100.0/24", gateway="198.51.100.1", dhcp_ranges=("198.51.100.2-198.51.100.120",))
    assert Code.POOL_OUTSIDE_SUBNET not in codes(half)
    (unknown,) = codes(half)[Code.SUBNET_UNKNOWN]
    assert unknown.key == "subnet-unknown|ipv6"
    # A pool really outside is still caught, in its own family only.
    outside = check("198.51.100.240-245,2001:db9::1", subnets=("198.51.100.0/24", "2001:db8::/64"),
                    gateway="198.51.100.1", dhcp_ranges=("198.51.100.2-198.51.100.120",))
    (far,) = codes(outside)[Code.POOL_OUTSIDE_SUBNET]
    assert far.addresses == ("2001:db9::1",)


# --- DHCP range input ----------------------------------------------------------------------------

def test_dnsmasqs_comma_form_is_read_as_a_range_with_a_note():
    report = check("198.51.100.100-198.51.100.105", subnet="198.51.100.0/24", gateway="198.51.100.1",
                   dhcp_ranges=("198.51.100.2,198.51.100.120",))
    assert [str(r.addresses) for r in report.lan.dhcp_ranges] == ["198.51.100.2-198.51.100.120"]
    assert any("read as the range 198.51.100.2-198.51.100.120" in note for note in report.notes)
    assert Code.POOL_OVERLAPS_DHCP in codes(report)
    # A list of ranges stays a list, and so does a list of three addresses.
    listed = assemble_lan(LanOptions(dhcp_ranges=("198.51.100.2-198.51.100.9,198.51.100.20-198.51.100.29",
                                                  "203.0.113.1,203.0.113.5,203.0.113.9")))
    assert len(listed.dhcp_ranges) == 5 and not listed.notes


def test_a_dhcp_range_outside_the_subnet_is_a_warning():
    report = check("198.51.100.240-245", subnet="198.51.100.0/24", gateway="198.51.100.1",
                   dhcp_ranges=("198.51.100.200-198.51.101.20",))
    (outside,) = codes(report)[Code.DHCP_RANGE_OUTSIDE_SUBNET]
    assert outside.addresses == ("198.51.101.0-198.51.101.20",) and "198.51.100.0/24 (--subnet)" in outside.message
    assert outside.severity.value == "warning"


def test_json_report_keeps_the_gateway(tmp_path):
    from ipaudit.report.registry import render
    from ipaudit.report.interface import OutputFormat

    path = inventory_file(tmp_path, offer("198.51.100.2", "198.51.100.1"))
    report = check("198.51.100.240-198.51.100.245", inventories=[path], dhcp_ranges=("198.51.100.100-198.51.100.200",))
    assert json.loads(render(report, OutputFormat.JSON))["gateway"] == "198.51.100.1"
