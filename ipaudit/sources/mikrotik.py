"""MikroTik RouterOS v7 over its REST API (``/rest``, basic auth), read-only.

``mikrotik+https://ROUTER`` reads ``/ip/pool`` (``ranges`` like ``a-b,c-d``),
``/ip/dhcp-server`` (which pool each server hands out), ``/ip/dhcp-server/network``
(the subnets, to label ranges) and ``/ip/dhcp-server/lease``: dynamic leases are
leases, static ones (``dynamic`` false) are reservations. RouterOS answers every
value as a string, booleans included (``"true"``/``"false"``).
"""

from __future__ import annotations

from typing import Any

from netaddr import IPNetwork, IPSet

from ipaudit.addresses import parse_spec
from ipaudit.errors import SpecError
from ipaudit.model import DhcpFacts
from ipaudit.sources.api_records import FactsBuilder, after, duration_seconds, parse_subnet
from ipaudit.sources.http import HttpClient, basic_auth_client
from ipaudit.sources.interface import DhcpSource

# Lease states in which the address is handed out (RouterOS: waiting, testing, busy, offered, bound).
ACTIVE_STATUSES = ("bound", "offered")


def _true(value: Any) -> bool:
    return str(value).lower() in ("true", "yes")


def _rows(client: HttpClient, path: str) -> list[dict]:
    rows = client.require_list(client.get(path), where=f"GET {path}")
    return [row for row in rows if isinstance(row, dict)]


def _subnet_for(first: int, last: int, networks: list[IPNetwork]) -> IPNetwork | None:
    for network in networks:
        if network.first <= first and last <= network.last:
            return network
    return None


def ranges_from_pools(pools: list[dict], servers: list[dict], networks: list[dict], facts: FactsBuilder) -> None:
    """One range per contiguous run of each pool some enabled DHCP server uses (pure)."""
    subnets = [s for s in (parse_subnet(n.get("address")) for n in networks) if s is not None]
    for network in networks:
        # /ip/dhcp-server/network "gateway": the default gateway handed to DHCP clients (comma-separated).
        for gateway in str(network.get("gateway") or "").split(","):
            facts.add_router(gateway.strip() or None, what="dhcp-server network gateway")
    by_name = {pool.get("name"): pool for pool in pools}
    served: dict[str, list[str]] = {}
    for server in servers:
        name = server.get("name", "?")
        pool_name = server.get("address-pool")
        if _true(server.get("disabled")):
            facts.note(f"mikrotik dhcp-server {name}: disabled")
            continue
        if _true(server.get("invalid")):
            facts.note(f"mikrotik dhcp-server {name}: RouterOS marks it invalid")
        if not pool_name or pool_name == "static-only":
            facts.note(f"mikrotik dhcp-server {name}: static-only, no dynamic pool")
            continue
        if pool_name not in by_name:
            facts.note(f"mikrotik dhcp-server {name}: address-pool {pool_name!r} not found in /ip/pool")
            continue
        served.setdefault(pool_name, []).append(name)
    for pool_name, server_names in served.items():
        pool = by_name[pool_name]
        pool_names = [pool_name]
        # A pool that runs out continues in its next-pool; the server hands those out too.
        while pool.get("next-pool") and pool.get("next-pool") not in ("none", *pool_names) \
                and pool["next-pool"] in by_name:
            pool_names.append(pool["next-pool"])
            pool = by_name[pool["next-pool"]]
        for name in pool_names:
            _add_pool(by_name[name], f"mikrotik pool {name} (dhcp-server {', '.join(server_names)})", subnets, facts)


def _add_pool(pool: dict, label: str, subnets: list[IPNetwork], facts: FactsBuilder) -> None:
    text = str(pool.get("ranges", "")).strip()
    try:
        addresses = IPSet(parse_spec(text).ranges)
    except SpecError:
        facts.note(f"{label}: ranges {text!r} are not address ranges")
        return
    for address_range in addresses.iter_ipranges():
        facts.add_range(str(address_range[0]), str(address_range[-1]), label,
                        subnet=_subnet_for(address_range.first, address_range.last, subnets))


def leases_from_rows(rows: list[dict], facts: FactsBuilder) -> None:
    for row in rows:
        if _true(row.get("disabled")):
            continue
        address = row.get("active-address") or row.get("address")
        mac = row.get("active-mac-address") or row.get("mac-address")
        hostname = row.get("host-name") or row.get("comment")
        status = str(row.get("status", "")).lower()
        if not _true(row.get("dynamic")):
            facts.add_reservation(row.get("address"), row.get("mac-address"), hostname, what="static lease")
            if status in ACTIVE_STATUSES:
                facts.add_lease(address, mac, hostname, after(duration_seconds(row.get("expires-after"))))
        elif status in ACTIVE_STATUSES:
            facts.add_lease(address, mac, hostname, after(duration_seconds(row.get("expires-after"))))


class MikroTikSource(DhcpSource):
    """MikroTik RouterOS v7 REST API: /ip/pool, /ip/dhcp-server, /ip/dhcp-server/lease."""

    scheme = "mikrotik+https"
    example = "mikrotik+https://192.168.88.1"

    def read(self) -> DhcpFacts:
        with basic_auth_client(self, "username", "password") as client:
            facts = FactsBuilder(client.source)
            prefix = client.path_prefix("rest")
            pools = _rows(client, f"{prefix}/ip/pool")
            servers = _rows(client, f"{prefix}/ip/dhcp-server")
            networks = _rows(client, f"{prefix}/ip/dhcp-server/network")
            ranges_from_pools(pools, servers, networks, facts)
            leases_from_rows(_rows(client, f"{prefix}/ip/dhcp-server/lease"), facts)
        return facts.facts()
