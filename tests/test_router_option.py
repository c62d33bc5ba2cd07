"""The router (DHCP option 3) each DHCP source hands its clients: the third way ipaudit learns the gateway.

Snippets follow what the tools write themselves: Pi-hole v5's 02-pihole-dhcp.conf (its webpage.sh
ProcessDHCPSettings writes ``dhcp-option=option:router,IP``), OpenWrt's generated dnsmasq lines
(``dhcp-option=lan,3,IP``: a bare tag), ISC dhcpd.conf(5) ``option routers``, Kea's ARM option-data
(``{"name": "routers", "data": ...}``, or ``csv-format: false`` with hex), OpenWrt UCI ``dhcp_option``.
Addresses are moved into the documentation ranges.
"""

from __future__ import annotations

import json

import pytest
from netaddr import IPAddress

from ipaudit.sources.api_records import FactsBuilder
from ipaudit.sources.interface import SourceOptions
from ipaudit.sources.dnsmasq import DnsmasqSource, router_option
from ipaudit.sources.dhcpd import DhcpdSource
from ipaudit.sources.kea_files import KeaFileSource, routers_from_dhcp4
from ipaudit.sources.openwrt_uci import OpenWrtUciSource


def ips(*texts: str) -> list[IPAddress]:
    return [IPAddress(t) for t in texts]


@pytest.mark.parametrize("value, routers", [
    ("option:router,192.0.2.1", ips("192.0.2.1")),            # Pi-hole v5 02-pihole-dhcp.conf
    ("lan,3,192.0.2.1", ips("192.0.2.1")),                     # OpenWrt's generated config: a bare tag
    ("tag:guest,net:x,3,198.51.100.1,198.51.100.2", ips("198.51.100.1", "198.51.100.2")),
    ("3", []),                                                 # "send no router"
    ("option:dns-server,192.0.2.53", None),
    ("6,192.0.2.53", None),
    ("vendor:MSFT,2,1i", None),
    ("encap:175,3,192.0.2.9", None),                           # option 3 inside an encapsulation is not the router
])
def test_dnsmasq_router_option(value, routers):
    found = router_option(value)
    assert (found[0] if found is not None else None) == routers


def test_dnsmasq_zero_address_means_its_own_and_is_noted():
    routers, note = router_option("3,0.0.0.0")
    assert routers == [] and "dnsmasq's own address" in note


def test_pihole_v5_dhcp_conf(tmp_path):
    conf = tmp_path / "02-pihole-dhcp.conf"
    conf.write_text("dhcp-authoritative\ndhcp-range=192.0.2.201,192.0.2.251,24h\n"
                    "dhcp-option=option:router,192.0.2.1\ndhcp-leasefile=/etc/pihole/dhcp.leases\n")
    facts = DnsmasqSource(f"dnsmasq:{conf}?leases=", SourceOptions()).read()
    assert facts.routers == (IPAddress("192.0.2.1"),)
    bare = tmp_path / "bare.conf"
    bare.write_text("dhcp-range=192.0.2.201,192.0.2.251,24h\n")
    facts = DnsmasqSource(f"dnsmasq:{bare}?leases=", SourceOptions()).read()
    assert facts.routers == () and any("dnsmasq offers its own address" in n for n in facts.notes)


def test_isc_dhcpd_option_routers(tmp_path):
    conf = tmp_path / "dhcpd.conf"
    conf.write_text("option domain-name-servers 192.0.2.53;\n"
                    "subnet 192.0.2.0 netmask 255.255.255.0 {\n  range 192.0.2.100 192.0.2.200;\n"
                    "  option routers 192.0.2.1, 192.0.2.2;\n}\n"
                    "subnet 198.51.100.0 netmask 255.255.255.0 {\n  pool { range 198.51.100.10 198.51.100.20;\n"
                    "  option routers gw.example.net; }\n}\n")
    facts = DhcpdSource(f"dhcpd:{conf}?leases=", SourceOptions()).read()
    assert facts.routers == tuple(ips("192.0.2.1", "192.0.2.2"))
    assert any("gw.example.net is a name" in n for n in facts.notes)


def test_kea_routers_at_every_scope(tmp_path):
    dhcp4 = {
        "option-data": [{"name": "domain-name-servers", "data": "192.0.2.53"}],
        "subnet4": [{"subnet": "192.0.2.0/24", "pools": [{"pool": "192.0.2.100 - 192.0.2.200"}],
                     "option-data": [{"name": "routers", "data": "192.0.2.1"}]}],
        "shared-networks": [{"name": "lab", "option-data": [{"code": 3, "csv-format": False, "data": "C6336401"}],
                             "subnet4": [{"subnet": "198.51.100.0/24",
                                          "pools": [{"pool": "198.51.100.10-198.51.100.20",
                                                     "option-data": [{"name": "routers", "data": "198.51.100.2"}]}]}]}],
    }
    assert sorted(routers_from_dhcp4(dhcp4)) == ips("192.0.2.1", "198.51.100.1", "198.51.100.2")
    conf = tmp_path / "kea-dhcp4.conf"
    conf.write_text(json.dumps({"Dhcp4": dhcp4}))
    assert sorted(KeaFileSource(f"kea:{conf}?leases=", SourceOptions()).read().routers) == \
        ips("192.0.2.1", "198.51.100.1", "198.51.100.2")
    assert routers_from_dhcp4({"option-data": [{"name": "routers", "csv-format": False, "data": "zz"}]}) == []
    assert routers_from_dhcp4({"option-data": [{"space": "vendor-x", "code": 3, "data": "192.0.2.9"}]}) == []


OPENWRT_NETWORK = """
config interface 'lan'
\toption proto 'static'
\toption ipaddr '192.0.2.10'
\toption netmask '255.255.255.0'

config interface 'guest'
\toption proto 'static'
\toption ipaddr '198.51.100.1/24'
"""

OPENWRT_DHCP = """
config dhcp 'lan'
\toption interface 'lan'
\toption start '100'
\toption limit '150'
\tlist dhcp_option '6,192.0.2.53'
\tlist dhcp_option '3,192.0.2.1'

config dhcp 'guest'
\toption interface 'guest'
\toption start '100'
\toption limit '50'
"""


def test_openwrt_router_is_dhcp_option_3_else_the_interfaces_own_address(tmp_path):
    (tmp_path / "network").write_text(OPENWRT_NETWORK)
    (tmp_path / "dhcp").write_text(OPENWRT_DHCP)
    facts = OpenWrtUciSource(f"openwrt:{tmp_path}?leases=", SourceOptions()).read()
    assert facts.routers == tuple(ips("192.0.2.1", "198.51.100.1"))


def test_http_sources_router_fields():
    from ipaudit.sources.adguard import facts_from_status
    from ipaudit.sources.mikrotik import ranges_from_pools
    from ipaudit.sources.pihole import facts_from_config

    pihole = FactsBuilder("pihole")
    facts_from_config({"active": True, "start": "192.0.2.100", "end": "192.0.2.200", "router": "192.0.2.1",
                       "netmask": "255.255.255.0"}, pihole)
    assert pihole.facts().routers == (IPAddress("192.0.2.1"),)
    adguard = FactsBuilder("adguard")
    facts_from_status({"enabled": True, "interface_name": "eth0",
                       "v4": {"gateway_ip": "192.0.2.1", "subnet_mask": "255.255.255.0",
                              "range_start": "192.0.2.100", "range_end": "192.0.2.200"}}, adguard)
    assert adguard.facts().routers == (IPAddress("192.0.2.1"),)
    mikrotik = FactsBuilder("mikrotik")
    ranges_from_pools([{"name": "p", "ranges": "192.0.2.100-192.0.2.200"}], [{"name": "s", "address-pool": "p"}],
                      [{"address": "192.0.2.0/24", "gateway": "192.0.2.1"}, {"address": "x", "gateway": "nope"}],
                      mikrotik)
    assert mikrotik.facts().routers == (IPAddress("192.0.2.1"),)
    assert any("nope" in n for n in mikrotik.notes)
