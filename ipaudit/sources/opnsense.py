"""OPNsense over its API (key/secret as basic auth): Kea DHCPv4, and Dnsmasq DHCP when in use.

``opnsense+https://FIREWALL`` reads Kea's ``/api/kea/dhcpv4/search_subnet`` (``subnet``,
``pools`` one range per line), ``search_reservation`` and ``/api/kea/leases4/search``;
then Dnsmasq's ``/api/dnsmasq/settings/search_range`` and ``search_host`` plus
``/api/dnsmasq/leases/search``. A module that is not installed (404) is skipped with a
note; search endpoints answer ``{"rows": [...], "total": n}``.
"""

from __future__ import annotations

from typing import Any

from netaddr import IPSet

from ipaudit.addresses import parse_spec
from ipaudit.errors import SpecError
from ipaudit.model import DhcpFacts
from ipaudit.sources.api_records import FactsBuilder, from_epoch, parse_subnet
from ipaudit.sources.http import basic_auth_client
from ipaudit.sources.interface import DhcpSource

# Every row at once: the search endpoints page by rowCount; -1 means all.
ALL_ROWS = {"current": 1, "rowCount": -1}


def _items(value: Any) -> list[str]:
    """Multi-value OPNsense fields arrive as comma- or newline-separated strings."""
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value or "").replace("\n", ",").split(",") if part.strip()]


def kea_ranges(subnets: list[dict], facts: FactsBuilder) -> None:
    for row in subnets:
        subnet = parse_subnet(row.get("subnet"))
        label = f"opnsense kea subnet {row.get('subnet')}"
        for pool in _items(row.get("pools")):
            try:
                addresses = IPSet(parse_spec(pool).ranges)
            except SpecError:
                facts.note(f"{label}: pool {pool!r} is not an address range")
                continue
            for address_range in addresses.iter_ipranges():
                facts.add_range(str(address_range[0]), str(address_range[-1]), label, subnet=subnet)


def kea_reservations(rows: list[dict], facts: FactsBuilder) -> None:
    for row in rows:
        facts.add_reservation(row.get("ip_address"), row.get("hw_address"), row.get("hostname"),
                              what="Kea reservation")


def kea_leases(rows: list[dict], facts: FactsBuilder) -> None:
    for row in rows:
        # Kea lease states: 0 default (assigned), 1 declined, 2 expired-reclaimed.
        if str(row.get("state", "0")) not in ("0", ""):
            continue
        facts.add_lease(row.get("address"), row.get("hwaddr"), row.get("hostname"), from_epoch(row.get("expire")))


def dnsmasq_ranges(rows: list[dict], facts: FactsBuilder) -> None:
    for row in rows:
        start, end = row.get("start_addr"), row.get("end_addr")
        label = f"opnsense dnsmasq range {row.get('interface') or 'any'}"
        if "static" in _items(row.get("mode")):
            facts.note(f"{label}: mode static, only hosts with a reservation get addresses")
            continue
        if not end or ":" in str(start):
            continue  # IPv6 constructor ranges name only a start
        subnet = parse_subnet(start, row.get("subnet_mask")) if row.get("subnet_mask") else None
        facts.add_range(start, end, label, subnet=subnet)


def dnsmasq_hosts(rows: list[dict], facts: FactsBuilder) -> None:
    for row in rows:
        macs = _items(row.get("hwaddr"))
        if str(row.get("ignore", "0")) == "1" or not macs:
            continue  # DNS-only host overrides are not DHCP reservations
        for ip in _items(row.get("ip")):
            facts.add_reservation(ip, macs[0], row.get("host"), what="Dnsmasq host")


def dnsmasq_leases(rows: list[dict], facts: FactsBuilder) -> None:
    for row in rows:
        facts.add_lease(row.get("address"), row.get("hwaddr"), row.get("hostname"), from_epoch(row.get("expire")))


class OpnsenseSource(DhcpSource):
    """OPNsense API: Kea subnets, reservations and leases; Dnsmasq ranges, hosts and leases."""

    scheme = "opnsense+https"
    example = "opnsense+https://firewall.lan"

    def read(self) -> DhcpFacts:
        with basic_auth_client(self, "api_key", "api_secret") as client:
            facts = FactsBuilder(client.source)
            self.client = client
            subnets = self._rows("kea/dhcpv4/search_subnet")
            if subnets is None:
                facts.note("opnsense: Kea is not available (no /api/kea)")
            else:
                kea_ranges([self._with_pools(row) for row in subnets], facts)
                kea_reservations(self._rows("kea/dhcpv4/search_reservation") or [], facts)
                kea_leases(self._rows("kea/leases4/search") or [], facts)
            ranges = self._rows("dnsmasq/settings/search_range")
            if ranges is None:
                facts.note("opnsense: Dnsmasq DHCP is not available (no /api/dnsmasq)")
            else:
                dnsmasq_ranges(ranges, facts)
                dnsmasq_hosts(self._rows("dnsmasq/settings/search_host") or [], facts)
                dnsmasq_leases(self._rows("dnsmasq/leases/search") or [], facts)
        return facts.facts()

    def _with_pools(self, row: dict) -> dict:
        """Older OPNsense lists only ``subnet`` in search_subnet; get_subnet/UUID has the pools."""
        if "pools" in row or not row.get("uuid"):
            return row
        path = self.client.path_prefix("api") + f"/kea/dhcpv4/get_subnet/{row['uuid']}"
        subnet = self.client.require_dict(self.client.get(path), "subnet4", where=f"GET {path}")
        return {**row, "pools": subnet.get("pools", "")}

    def _rows(self, endpoint: str) -> list[dict] | None:
        """The rows of one search endpoint; None when the endpoint does not exist (module absent)."""
        client = self.client
        path = client.path_prefix("api") + "/" + endpoint
        answer = client.get(path, params=ALL_ROWS, ok_statuses=(404,))
        if answer is None or (isinstance(answer, dict) and answer.get("errorMessage") and "rows" not in answer):
            return None
        rows = client.require_list(answer, "rows", where=f"GET {path}")
        return [row for row in rows if isinstance(row, dict)]
