"""UniFi Network (UniFi OS consoles and classic controllers) over its session API.

``unifi+https://CONSOLE[:PORT][/SITE]`` logs in (``/api/auth/login`` on UniFi OS,
whose Network API then lives under ``/proxy/network``; ``/api/login`` on a classic
controller), reads ``rest/networkconf`` (``ip_subnet``, ``dhcpd_enabled``,
``dhcpd_start``/``dhcpd_stop``), the fixed IPs in ``rest/user`` (``use_fixedip``,
``fixed_ip``) and the connected clients in ``stat/sta``, then logs out. The site is
the URI path, ``default`` when absent. Answers are ``{"meta": {"rc": "ok"}, "data": [...]}``.
"""

from __future__ import annotations

from ipaudit.model import DhcpFacts
from ipaudit.sources.api_records import FactsBuilder, parse_subnet
from ipaudit.sources.http import HttpClient, api_client
from ipaudit.sources.interface import DhcpSource


def ranges_from_networks(networks: list[dict], facts: FactsBuilder) -> dict[str, str]:
    """Add each network's DHCP range; return network id -> name for labels (pure)."""
    names: dict[str, str] = {}
    for network in networks:
        name = str(network.get("name") or network.get("_id") or "?")
        names[str(network.get("_id"))] = name
        if network.get("purpose") == "wan" or not network.get("ip_subnet"):
            continue
        label = f"unifi network {name}"
        if not network.get("dhcpd_enabled"):
            facts.note(f"{label}: DHCP server off (dhcpd_enabled false)")
            continue
        facts.add_range(network.get("dhcpd_start"), network.get("dhcpd_stop"), label,
                        subnet=parse_subnet(network.get("ip_subnet")))
    return names


def reservations_from_users(users: list[dict], facts: FactsBuilder) -> None:
    for user in users:
        if user.get("use_fixedip") and user.get("fixed_ip"):
            facts.add_reservation(user["fixed_ip"], user.get("mac"), user.get("name") or user.get("hostname"),
                                  what="fixed IP")


def leases_from_clients(clients: list[dict], facts: FactsBuilder) -> None:
    # stat/sta lists connected clients, not DHCP leases: every listed IP is in use now.
    for client in clients:
        if client.get("ip"):
            facts.add_lease(client["ip"], client.get("mac"), client.get("hostname") or client.get("name"),
                            what="connected client")


class UnifiSource(DhcpSource):
    """UniFi Network API: networkconf DHCP ranges, fixed IPs, connected clients."""

    scheme = "unifi+https"
    example = "unifi+https://unifi.lan/default"

    def read(self) -> DhcpFacts:
        credentials, client = api_client(self, "username", "password")
        with client:
            facts = FactsBuilder(client.source)
            site = client.address.path or "default"
            password = credentials.secret("password", self.uri)
            client.keep_secret(password)
            body = {"username": credentials.username, "password": password.reveal()}
            prefix, logout = self._login(client, body)
            try:
                base = f"{prefix}/api/s/{site}"
                ranges_from_networks(self._data(client, f"{base}/rest/networkconf"), facts)
                reservations_from_users(self._data(client, f"{base}/rest/user"), facts)
                leases_from_clients(self._data(client, f"{base}/stat/sta"), facts)
            finally:
                try:
                    client.post(logout, {}, expect_json=False)
                except Exception:  # noqa: BLE001 - logging out is best effort; the session expires anyway
                    pass
        return facts.facts()

    @staticmethod
    def _login(client: HttpClient, body: dict) -> tuple[str, str]:
        """(API prefix, logout path): UniFi OS first, then the classic controller."""
        answer = client.post("/api/auth/login", body, expect_json=False, ok_statuses=(404,))
        if answer.status_code != 404:
            # UniFi OS wants its CSRF token back on every later POST (logout included).
            token = answer.headers.get("X-Updated-Csrf-Token") or answer.headers.get("X-Csrf-Token")
            if token:
                client.secret_header("X-Csrf-Token", token)
            return "/proxy/network", "/api/auth/logout"
        answer = client.post("/api/login", body, ok_statuses=(400,))
        meta = answer.get("meta", {}) if isinstance(answer, dict) else {}
        if meta.get("rc") != "ok":
            # Classic controllers answer a wrong password with 400 and api.err.Invalid.
            raise client.error(f"authentication failed ({meta.get('msg', 'login refused')})", hint=client.auth_hint)
        return "", "/api/logout"

    @staticmethod
    def _data(client: HttpClient, path: str) -> list[dict]:
        answer = client.get(path)
        meta = client.require_dict(answer, "meta", where=f"GET {path}")
        if meta.get("rc") != "ok":
            message = str(meta.get("msg", "error"))
            if message in ("api.err.LoginRequired", "api.err.NoSiteContext", "api.err.NoPermission"):
                raise client.error(f"GET {path} refused: {message}",
                                   hint="check the site name in the URI and that the account can read it")
            raise client.error(f"GET {path} failed: {message}")
        rows = client.require_list(answer, "data", where=f"GET {path}")
        return [row for row in rows if isinstance(row, dict)]
