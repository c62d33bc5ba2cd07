"""Pi-hole v6 over its REST API (FTL's ``/api``): range, static hosts and active leases.

``pihole+https://PIHOLE`` logs in with ``POST /api/auth`` (the web password or an
app password) and sends the session id as ``X-FTL-SID``; it reads ``/api/config/dhcp``
(``start``, ``end``, ``router``, ``netmask``, ``hosts``) and ``/api/dhcp/leases``, and
always logs out with ``DELETE /api/auth`` so it never holds one of the few API seats.
Pi-hole v5 keeps its DHCP in dnsmasq files: read those with ``dnsmasq:PATH``.
"""

from __future__ import annotations

from typing import Any

from ipaudit.model import DhcpFacts
from ipaudit.sources.api_records import FactsBuilder, from_epoch, parse_subnet
from ipaudit.sources.credentials import credentials_for
from ipaudit.sources.dnsmasq import dhcp_host_fields
from ipaudit.sources.http import HttpClient
from ipaudit.sources.interface import DhcpSource


def facts_from_config(dhcp: dict, facts: FactsBuilder) -> None:
    """The range and static hosts from ``config.dhcp`` (pure)."""
    if not dhcp.get("active"):
        facts.note("pihole: the DHCP server is not active (dhcp.active false); static hosts still listed")
    else:
        subnet = parse_subnet(dhcp.get("router") or dhcp.get("start"), dhcp.get("netmask") or None)
        # An empty or 0.0.0.0 netmask means "the interface's own": unknown from here.
        if dhcp.get("netmask") in (None, "", "0.0.0.0"):
            subnet = None
        facts.add_range(dhcp.get("start"), dhcp.get("end"), "pihole dhcp.start-end", subnet=subnet)
        # FTL's dhcp.router: the gateway advertised to clients (dnsmasq dhcp-option=option:router).
        facts.add_router(dhcp.get("router"), what="dhcp.router")
    for line in dhcp.get("hosts") or []:
        # dhcp.hosts lines are dnsmasq dhcp-host values (FTL writes them into its dnsmasq
        # config), so dnsmasq's own rule reads them, ``ignore`` included.
        ip, mac, hostname, _ = dhcp_host_fields(str(line))
        if ip is None:
            continue  # a host entry naming only a MAC sets options, not an address
        facts.add_reservation(ip, mac, hostname, what="dhcp.hosts entry")


def leases_from_answer(leases: list[Any], facts: FactsBuilder) -> None:
    for lease in leases:
        if isinstance(lease, dict):
            name = lease.get("name")
            facts.add_lease(lease.get("ip"), lease.get("hwaddr"), None if name == "*" else name,
                            from_epoch(lease.get("expires")))


class PiholeSource(DhcpSource):
    """Pi-hole v6 API: /api/config/dhcp and /api/dhcp/leases (logs in and out)."""

    scheme = "pihole+https"
    example = "pihole+https://pi.hole"

    def read(self) -> DhcpFacts:
        credentials = credentials_for(self.uri)
        with HttpClient(self.uri, self.options, auth_hint=credentials.auth_hint("password")) as client:
            facts = FactsBuilder(client.source)
            prefix = client.path_prefix("api")
            logged_in = self._login(client, prefix, credentials)
            try:
                config = client.get(f"{prefix}/config/dhcp")
                dhcp = client.require_dict(config, "config", "dhcp", where="GET /api/config/dhcp")
                facts_from_config(dhcp, facts)
                leases = client.get(f"{prefix}/dhcp/leases")
                leases_from_answer(client.require_list(leases, "leases", where="GET /api/dhcp/leases"), facts)
            finally:
                if logged_in:
                    self._logout(client, prefix)
        return facts.facts()

    def _login(self, client: HttpClient, prefix: str, credentials) -> bool:
        """True when a session was opened (and must be closed); False when no password is set."""
        if not credentials.password:
            # A Pi-hole without a password answers GET /api/auth with a valid session.
            status = client.get(f"{prefix}/auth", ok_statuses=(401,))
            if isinstance(status, dict) and status.get("session", {}).get("valid"):
                return False
            credentials.require("password", source=self.uri)
        client.keep_secret(credentials.password)
        answer = client.post(f"{prefix}/auth", {"password": credentials.password.reveal()})
        session = client.require_dict(answer, "session", where="POST /api/auth")
        if not session.get("valid"):
            raise client.error("authentication failed (Pi-hole refused the password)", hint=client.auth_hint)
        if session.get("totp") and not session.get("sid"):
            raise client.error("Pi-hole asks for a 2FA code", hint="create an app password and use that")
        sid = session.get("sid")
        if not sid:
            return False  # no password configured: nothing to log out of
        client.secret_header("X-FTL-SID", sid)
        return True

    @staticmethod
    def _logout(client: HttpClient, prefix: str) -> None:
        try:
            client.delete(f"{prefix}/auth", expect_json=False, ok_statuses=(204, 404, 410))
        except Exception:  # noqa: BLE001 - the read already succeeded or failed on its own; the seat times out
            pass
