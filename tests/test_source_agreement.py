"""One vendor, two ways in (its files, its HTTP API): the same config must give the same facts.

The rules live once per vendor (dnsmasq's ``dhcp-host`` in sources/dnsmasq.py, OpenWrt's
range arithmetic in sources/openwrt_uci.py); these tests feed the same settings through
both readers and compare what comes out.
"""

from __future__ import annotations

import pytest

from ipaudit.sources.api_records import FactsBuilder
from ipaudit.sources.registry import open_source

HOST_LINES = [
    "02:00:00:00:00:31,198.51.100.31,tv,ignore",  # served by another DHCP server: still pinned
    "02:00:00:00:00:32,id:*,set:iot,198.51.100.32,cam,infinite",
    "1-02:00:00:00:00:33,198.51.100.33",  # hardware-type prefix
    "02:00:00:00:00:34,set:iot,ignore",  # no address: options only, not a reservation
]


def reservations(facts) -> set[tuple[str, str | None, str | None]]:
    return {(str(r.ip), r.mac, r.hostname) for r in facts.reservations}


def test_dhcp_host_lines_give_the_same_reservations_from_dnsmasq_conf_and_pihole_api(tmp_path):
    from ipaudit.sources.pihole import facts_from_config

    conf = tmp_path / "dnsmasq.conf"
    conf.write_text("dhcp-range=198.51.100.100,198.51.100.199\n" + "".join(f"dhcp-host={line}\n" for line in HOST_LINES))
    from_file = open_source(f"dnsmasq:{conf}?leases=").read()
    api = FactsBuilder("pihole")
    facts_from_config({"active": True, "start": "198.51.100.100", "end": "198.51.100.199",
                       "router": "198.51.100.1", "netmask": "255.255.255.0", "hosts": HOST_LINES}, api)
    expected = {("198.51.100.31", "02:00:00:00:00:31", "tv"), ("198.51.100.32", "02:00:00:00:00:32", "cam"),
                ("198.51.100.33", "02:00:00:00:00:33", None)}
    assert reservations(from_file) == expected
    assert reservations(api.facts()) == expected


def _uci(sections: dict[str, dict[str, str]]) -> str:
    """UCI file text for {"type name": {option: value}}."""
    text = ""
    for header, options in sections.items():
        text += f"config {header}\n" + "".join(f"\toption {key} '{value}'\n" for key, value in options.items())
    return text


def _ubus(sections: dict[str, dict[str, str]]) -> dict:
    """The same sections as ``ubus call uci get`` returns them."""
    values = {}
    for index, (header, options) in enumerate(sections.items()):
        kind, name = header.split()
        values[name] = {".type": kind, ".name": name, ".index": index, ".anonymous": False, **options}
    return values


NETWORK = {
    "interface lan": {"proto": "static", "ipaddr": "192.0.2.1", "netmask": "255.255.255.0"},
    "interface bare": {"ipaddr": "198.51.100.1/24"},  # no proto: netifd says "none"
    "interface guest": {"proto": "static", "ipaddr": "203.0.113.1/25"},
    "interface nomask": {"proto": "static", "ipaddr": "198.18.0.1"},
}
DHCP = {
    "dhcp lan": {"interface": "lan", "start": "100", "limit": "150"},
    "dhcp bare": {"interface": "bare"},
    "dhcp guest": {"interface": "guest", "start": "200", "limit": "0"},
    "dhcp off": {"interface": "guest", "dhcpv4": "disabled"},
    "dhcp nomask": {"interface": "nomask"},
    "dhcp dotted": {"interface": "lan", "start": "0.0.0.10", "limit": "5", "netmask": "255.255.255.128"},
    "dhcp broken": {"interface": "lan", "start": "x"},
    "host laptop": {"name": "laptop", "mac": "02:00:00:00:00:20", "ip": "192.0.2.20"},
    "host blocked": {"mac": "02:00:00:00:00:30", "ip": "ignore"},
}


def test_openwrt_file_and_ubus_readers_give_the_same_ranges_notes_and_hosts(tmp_path):
    from ipaudit.sources.openwrt_uci import ranges_from_uci, reservations_from_uci

    (tmp_path / "network").write_text(_uci(NETWORK))
    (tmp_path / "dhcp").write_text(_uci(DHCP))
    from_file = open_source(f"openwrt:{tmp_path}?leases=").read()
    api = FactsBuilder("openwrt+https://192.0.2.1")
    ranges_from_uci(_ubus(DHCP), _ubus(NETWORK), api)
    reservations_from_uci(_ubus(DHCP), api)
    from_api = api.facts()

    def summary(facts):
        return ({(str(r.addresses), str(r.subnet), r.label.rsplit(" dhcp.", 1)[1]) for r in facts.ranges},
                reservations(facts), {n for n in facts.notes if n.startswith("dhcp.")})

    assert summary(from_file) == summary(from_api)
    found_ranges, hosts, notes = summary(from_file)
    assert found_ranges == {("192.0.2.100-192.0.2.249", "192.0.2.0/24", "lan (lan)"),
                            ("203.0.113.72-203.0.113.72", "203.0.113.0/25", "guest (guest)"),  # limit 0 still gives one
                            ("192.0.2.10-192.0.2.14", "192.0.2.0/25", "dotted (lan)")}
    assert hosts == {("192.0.2.20", "02:00:00:00:00:20", "laptop")}
    # The drift settled: no proto is proto "none", which dnsmasq.init serves no range on.
    assert "dhcp.bare: interface bare is not static (proto none); OpenWrt serves no DHCP range on it" in notes
    assert any(n.startswith("dhcp.off: DHCP is switched off") for n in notes)
    assert any(n.startswith("dhcp.nomask: interface nomask has no IPv4 address with a netmask") for n in notes)
    assert any(n.startswith("dhcp.broken: start/limit are not numbers") for n in notes)


@pytest.mark.parametrize("proto, served", [(None, False), ("static", True), ("dhcp", False), ("none", False)])
def test_openwrt_proto_decides_both_readers_alike(tmp_path, proto, served):
    from ipaudit.sources.openwrt_uci import ranges_from_uci

    network = {"interface lan": {"ipaddr": "192.0.2.1/24", **({"proto": proto} if proto else {})}}
    dhcp = {"dhcp lan": {"interface": "lan"}}
    (tmp_path / "network").write_text(_uci(network))
    (tmp_path / "dhcp").write_text(_uci(dhcp))
    api = FactsBuilder("ubus")
    ranges_from_uci(_ubus(dhcp), _ubus(network), api)
    assert bool(open_source(f"openwrt:{tmp_path}?leases=").read().ranges) is served
    assert bool(api.ranges) is served
