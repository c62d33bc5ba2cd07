"""OpenWrt over HTTP: ubus JSON-RPC at ``/ubus`` (rpcd behind uhttpd), the way LuCI itself reads it.

``openwrt+https://ROUTER`` logs in with ``session login``, reads ``uci get`` for
the ``dhcp`` and ``network`` configs, works the range out of ``start``/``limit``
and the interface address with the same rules as ``openwrt:`` (openwrt_uci.py), and reads
active leases with ``luci-rpc getDHCPLeases`` (rpcd-mod-luci). ``config host``
sections are the static leases. A URI path overrides ``/ubus``.
"""

from __future__ import annotations

from typing import Any

from ipaudit.model import DhcpFacts
from ipaudit.sources.api_records import FactsBuilder, after
from ipaudit.sources.http import HttpClient, api_client
from ipaudit.sources.interface import DhcpSource
# OpenWrt's rules live once, beside the UCI file reader; ubus answers are already in their shape.
from ipaudit.sources.openwrt_uci import ranges_from_uci, reservations_from_uci

NO_SESSION = "0" * 32
# ubus status codes (libubus UBUS_STATUS_*) that a call can return in result[0].
UBUS_PERMISSION_DENIED = 6
UBUS_NOT_FOUND = 4
# uhttpd's JSON-RPC error codes.
RPC_OBJECT_NOT_FOUND = -32000
RPC_ACCESS_DENIED = -32002


def leases_from_luci(answer: Any, facts: FactsBuilder) -> None:
    for lease in answer.get("dhcp_leases", []) if isinstance(answer, dict) else []:
        if not isinstance(lease, dict):
            continue
        # luci-rpc reports seconds left; ``false`` means an infinite lease.
        remaining = lease.get("expires")
        expires = after(remaining) if isinstance(remaining, int) and not isinstance(remaining, bool) else None
        facts.add_lease(lease.get("ipaddr"), lease.get("macaddr"), lease.get("hostname"), expires)


class OpenWrtUbusSource(DhcpSource):
    """OpenWrt over HTTP(S): ubus JSON-RPC session, uci dhcp/network, luci-rpc getDHCPLeases."""

    scheme = "openwrt+https"
    example = "openwrt+https://192.168.1.1"

    def read(self) -> DhcpFacts:
        credentials, client = api_client(self, "password")
        username = credentials.username or "root"
        with client:
            facts = FactsBuilder(client.source)
            endpoint = client.address.path or "ubus"
            session = _UbusSession(client, endpoint)
            session.login(username, credentials.password)
            try:
                dhcp = session.call("uci", "get", {"config": "dhcp"})
                network = session.call("uci", "get", {"config": "network"})
                dhcp_values = client.require_dict(dhcp, "values", where="uci get dhcp")
                network_values = client.require_dict(network, "values", where="uci get network")
                ranges_from_uci(dhcp_values, network_values, facts)
                reservations_from_uci(dhcp_values, facts)
                leases = session.call("luci-rpc", "getDHCPLeases", {"family": 4}, optional=True)
                if leases is None:
                    facts.note("luci-rpc getDHCPLeases is not available (install rpcd-mod-luci, or grant the "
                               "user luci-mod-status-index-dhcp): active leases unknown")
                else:
                    client.require_list(leases, "dhcp_leases", where="luci-rpc getDHCPLeases")
                    leases_from_luci(leases, facts)
            finally:
                session.logout()
        return facts.facts()


class _UbusSession:
    """ubus ``call`` over uhttpd's JSON-RPC; result ``[status, data]``, errors as SourceErrors."""

    def __init__(self, client: HttpClient, endpoint: str):
        self.client = client
        self.endpoint = endpoint
        self.sid = NO_SESSION
        self._id = 0

    def _post(self, obj: str, method: str, args: dict) -> Any:
        self._id += 1
        body = {"jsonrpc": "2.0", "id": self._id, "method": "call", "params": [self.sid, obj, method, args]}
        return self.client.post(self.endpoint, body)

    def login(self, username: str, password) -> None:
        self.client.keep_secret(password)
        answer = self._post("session", "login", {"username": username, "password": password.reveal()})
        status, data = self._unpack(answer, "session login")
        if status == UBUS_PERMISSION_DENIED:
            raise self.client.error(f"authentication failed (ubus session login as {username!r} was refused)",
                                    hint=self.client.auth_hint)
        if status != 0:
            raise self.client.error(f"ubus session login failed with status {status}")
        self.sid = self.client.require(data, "ubus_rpc_session", where="session login")
        self.client.keep_secret(self.sid)

    def call(self, obj: str, method: str, args: dict, optional: bool = False) -> Any:
        where = f"ubus call {obj} {method}"
        answer = self._post(obj, method, args)
        error = answer.get("error") if isinstance(answer, dict) else None
        if isinstance(error, dict):
            code = error.get("code")
            if optional and code in (RPC_OBJECT_NOT_FOUND, RPC_ACCESS_DENIED, -32601):
                return None
            if code == RPC_ACCESS_DENIED:
                raise self.client.error(f"{where}: access denied",
                                        hint="the user's rpcd ACL must allow reading uci dhcp and network")
            raise self.client.error(f"{where} failed: {error.get('message', 'error')} ({code})")
        status, data = self._unpack(answer, where)
        if status != 0:
            if optional and status in (UBUS_PERMISSION_DENIED, UBUS_NOT_FOUND):
                return None
            raise self.client.error(f"{where} returned ubus status {status}"
                                    + (" (permission denied)" if status == UBUS_PERMISSION_DENIED else ""))
        return data if data is not None else {}

    def _unpack(self, answer: Any, where: str) -> tuple[int, Any]:
        result = self.client.require_list(answer, "result", where=where) if not (
            isinstance(answer, dict) and isinstance(answer.get("error"), dict)) else None
        if result is None:
            error = answer["error"]
            raise self.client.error(f"{where} failed: {error.get('message', 'error')} ({error.get('code')})")
        if not result or not isinstance(result[0], int):
            raise self.client.error(f"unexpected response from {where}: result has no status code")
        return result[0], (result[1] if len(result) > 1 else None)

    def logout(self) -> None:
        if self.sid == NO_SESSION:
            return
        try:
            self._post("session", "destroy", {})
        except Exception:  # noqa: BLE001 - logging out is best effort; the session times out anyway
            pass
