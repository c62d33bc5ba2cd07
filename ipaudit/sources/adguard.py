"""AdGuard Home's built-in DHCP server, read from ``GET /control/dhcp/status`` (basic auth).

``adguard+https://HOST[:PORT]`` gives the v4 range (``range_start``/``range_end`` with
``gateway_ip``/``subnet_mask``), active ``leases`` (``expires`` is RFC 3339) and
``static_leases``. A URI path is kept as a prefix, for AdGuard Home behind a reverse proxy.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ipaudit.model import DhcpFacts
from ipaudit.sources.api_records import FactsBuilder, parse_subnet
from ipaudit.sources.http import basic_auth_client
from ipaudit.sources.interface import DhcpSource


def _rfc3339(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def facts_from_status(status: dict, facts: FactsBuilder) -> None:
    """Range, leases and static leases from one ``/control/dhcp/status`` answer (pure)."""
    v4: dict = status["v4"] if isinstance(status.get("v4"), dict) else {}
    interface = status.get("interface_name") or "?"
    if not status.get("enabled"):
        facts.note(f"adguard: the DHCP server is disabled (interface {interface}); static leases still listed")
    elif v4.get("range_start") and v4.get("range_end"):
        subnet = parse_subnet(v4.get("gateway_ip"), v4.get("subnet_mask"))
        facts.add_range(v4["range_start"], v4["range_end"], f"adguard dhcp v4 ({interface})", subnet=subnet)
        # v4.gateway_ip is what AdGuard's DHCP server hands out as the router (option 3).
        facts.add_router(v4.get("gateway_ip"), what="v4.gateway_ip")
    else:
        facts.note(f"adguard: DHCP is enabled on {interface} but has no IPv4 range")
    for lease in status.get("leases") or []:
        if isinstance(lease, dict):
            facts.add_lease(lease.get("ip"), lease.get("mac"), lease.get("hostname"), _rfc3339(lease.get("expires")))
    for lease in status.get("static_leases") or []:
        if isinstance(lease, dict):
            facts.add_reservation(lease.get("ip"), lease.get("mac"), lease.get("hostname"), what="static lease")


class AdGuardSource(DhcpSource):
    """AdGuard Home API: /control/dhcp/status (range, leases, static leases)."""

    scheme = "adguard+https"
    example = "adguard+https://adguard.lan"

    def read(self) -> DhcpFacts:
        with basic_auth_client(self, "username", "password") as client:
            facts = FactsBuilder(client.source)
            prefix = client.path_prefix()
            status = client.require_dict(client.get(f"{prefix}/control/dhcp/status"), where="GET /control/dhcp/status")
            if "enabled" not in status:
                raise client.error("unexpected response from GET /control/dhcp/status: no enabled",
                                   hint="is this AdGuard Home?")
            facts_from_status(status, facts)
        return facts.facts()
