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
