"""``kea+http(s)://HOST:PORT``: pools, reservations and live leases from a Kea Control Agent.

Commands go to the Control Agent as ``{"command": ..., "service": ["dhcp4"]}``
and come back as a list with one ``{"result", "text", "arguments"}`` per service.
Result 0 is success, 1 an error (e.g. kea-dhcp4 not running behind the agent),
2 "command not supported" (for lease commands: the lease_cmds hook is not
loaded), 3 "empty" (no leases). ``config-get`` gives the same ``Dhcp4`` object
as kea-dhcp4.conf; ``lease4-get-all`` gives the leases; without lease_cmds the
source says so in a note and reports ``statistic-get-all`` counts per subnet.

Basic auth (Kea's ``authentication`` clients) comes from IPAUDIT_KEA_USERNAME /
IPAUDIT_KEA_PASSWORD or the credentials file, never from the command line. The
agent's TLS defaults to ``"cert-required": true``: the client certificate and key
paths come from IPAUDIT_KEA_CLIENT_CERT / IPAUDIT_KEA_CLIENT_KEY.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from netaddr import IPAddress

from ipaudit.model import DhcpFacts, Lease
from ipaudit.sources.files import from_epoch, normal_mac, utc_now
from ipaudit.sources.interface import DhcpSource
from ipaudit.sources.kea_files import STATE_DECLINED, STATE_DEFAULT, facts_from_dhcp4, routers_from_dhcp4

RESULT_SUCCESS, RESULT_ERROR, RESULT_UNSUPPORTED, RESULT_EMPTY = 0, 1, 2, 3
# Paths, not secrets, so plain variables: the credentials file only holds login fields.
CLIENT_CERT_VARIABLE, CLIENT_KEY_VARIABLE = "IPAUDIT_KEA_CLIENT_CERT", "IPAUDIT_KEA_CLIENT_KEY"


class KeaApiSource(DhcpSource):
    """The Kea Control Agent's REST API, forwarding to kea-dhcp4."""

    scheme = "kea+http"
    example = "kea+http://127.0.0.1:8000"

    def read(self, now: datetime | None = None) -> DhcpFacts:
        from ipaudit.sources.credentials import credentials_for
        from ipaudit.sources.http import HttpClient

        credentials = credentials_for(self.uri)
        with HttpClient(self.uri, self.options, auth_hint=credentials.auth_hint("username", "password")
                        if credentials.password else credentials.where_to_set("username", "password"),
                        client_cert_hint=f"set {CLIENT_CERT_VARIABLE} to a PEM certificate signed by the agent's "
                                         f"trust-anchor (and {CLIENT_KEY_VARIABLE} to its key if in its own file)"
                        ) as client:
            if credentials.username and credentials.password:
                client.basic_auth(credentials.username, credentials.password)
            self._client_certificate(client)
            return self._read(client, now or utc_now())

    @staticmethod
    def _client_certificate(client) -> None:
        cert_file = os.environ.get(CLIENT_CERT_VARIABLE) or None
        key_file = os.environ.get(CLIENT_KEY_VARIABLE) or None
        if key_file and not cert_file:
            raise client.error(f"{CLIENT_KEY_VARIABLE} is set but {CLIENT_CERT_VARIABLE} is not",
                               hint="set both, or only the certificate if the key is in the same file")
        if cert_file:
            client.client_certificate(cert_file, key_file, hint=f"check {CLIENT_CERT_VARIABLE}"
                                      + (f" and {CLIENT_KEY_VARIABLE}" if key_file else
                                         f" (and set {CLIENT_KEY_VARIABLE} if the key is in its own file)"))

    def _read(self, client, now: datetime) -> DhcpFacts:
        source = client.source
        config = self._command(client, "config-get")
        dhcp4 = client.require_dict(config, "arguments", "Dhcp4", where="config-get")
        ranges, reservations, notes = facts_from_dhcp4(dhcp4, source)
        answer = self._command(client, "lease4-get-all", allowed=(RESULT_EMPTY, RESULT_UNSUPPORTED))
        leases: list[Lease] = []
        if answer["result"] == RESULT_UNSUPPORTED:
            notes.append("the lease_cmds hook is not loaded in kea-dhcp4, so leases cannot be listed "
                         "(add libdhcp_lease_cmds.so to hooks-libraries); counts from statistic-get-all follow")
            notes += self._statistics(client, dhcp4)
        elif answer["result"] == RESULT_SUCCESS:
            raw = client.require_list(answer, "arguments", "leases", where="lease4-get-all")
            leases, lease_notes = leases_from_api(raw, source, now, client)
            notes += lease_notes
        return DhcpFacts(source=source, ranges=tuple(ranges), leases=tuple(leases),
                         reservations=tuple(reservations), notes=tuple(notes), routers=tuple(routers_from_dhcp4(dhcp4)))

    def _command(self, client, command: str, allowed: tuple[int, ...] = ()) -> dict:
        """Send one command to dhcp4; return its answer or raise naming the command and Kea's text."""
        # The agent listens at "/"; a path in the URI is kept for agents behind a reverse proxy.
        reply = client.post("/" + client.address.path, {"command": command, "service": ["dhcp4"]})
        # The agent answers for itself with a bare object (e.g. 400 Bad Request), per service with a list.
        answer = reply[0] if isinstance(reply, list) and reply else reply
        if not isinstance(answer, dict) or not isinstance(answer.get("result"), int):
            raise client.error(f"unexpected response to {command}: not a Kea answer",
                               hint="is this a Kea Control Agent?")
        result = answer["result"]
        if result == RESULT_SUCCESS or result in allowed:
            return answer
        text = _short(answer.get("text", ""))
        if result == RESULT_UNSUPPORTED:
            raise client.error(f"{command} is not supported by the server ({text})")
        if result == RESULT_EMPTY:
            raise client.error(f"{command} returned nothing ({text})")
        raise client.error(f"{command} failed: {text or f'result {result}'}",
                           hint="is kea-dhcp4 running, with its control-socket in the agent's control-sockets?")

    def _statistics(self, client, dhcp4: dict) -> list[str]:
        answer = self._command(client, "statistic-get-all", allowed=(RESULT_EMPTY,))
        statistics = answer.get("arguments") or {}
        if not isinstance(statistics, dict):
            raise client.error("unexpected response to statistic-get-all: arguments is not an object")
        subnets = {}
        for subnet in list(dhcp4.get("subnet4", [])) + [s for n in dhcp4.get("shared-networks", [])
                                                         for s in n.get("subnet4", [])]:
            if isinstance(subnet, dict) and "id" in subnet:
                subnets[subnet["id"]] = subnet.get("subnet", "?")
        notes = []
        for subnet_id, prefix in sorted(subnets.items()):
            assigned = _latest(statistics.get(f"subnet[{subnet_id}].assigned-addresses"))
            declined = _latest(statistics.get(f"subnet[{subnet_id}].declined-addresses"))
            total = _latest(statistics.get(f"subnet[{subnet_id}].total-addresses"))
            if assigned is None:
                continue
            notes.append(f"subnet {prefix} (id {subnet_id}): {assigned} address(es) leased"
                         + (f" of {total}" if total is not None else "")
                         + (f", {declined} declined" if declined else "") + " (addresses unknown)")
        return notes


def _latest(samples: Any) -> int | None:
    """A statistic's newest value: Kea lists ``[value, timestamp]`` samples, newest first."""
    if isinstance(samples, list) and samples and isinstance(samples[0], list) and samples[0]:
        value = samples[0][0]
        return int(value) if isinstance(value, (int, float)) else None
    return None


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def leases_from_api(raw: list, source: str, now: datetime, client=None) -> tuple[list[Lease], list[str]]:
    """Leases as lease4-get-all lists them: active (state 0, not yet expired) ones, plus notes."""
    leases: list[Lease] = []
    declined: list[str] = []
    expired = 0
    for entry in raw:
        if not isinstance(entry, dict) or "ip-address" not in entry:
            if client is not None:
                raise client.error("unexpected response to lease4-get-all: a lease without ip-address")
            continue
        try:
            ip = IPAddress(str(entry["ip-address"]))
        except Exception:  # noqa: BLE001 - netaddr raises several types
            if client is not None:
                raise client.error(f"unexpected response to lease4-get-all: bad ip-address {entry['ip-address']!r}")
            continue
        state = entry.get("state", STATE_DEFAULT)
        if state == STATE_DECLINED:
            declined.append(str(ip))
            continue
        if state != STATE_DEFAULT:
            continue
        expires = None
        if isinstance(entry.get("cltt"), int) and isinstance(entry.get("valid-lft"), int):
            expires = from_epoch(entry["cltt"] + entry["valid-lft"])
            if expires is not None and expires <= now:
                expired += 1
                continue
        leases.append(Lease(ip=ip, mac=normal_mac(entry.get("hw-address")), hostname=entry.get("hostname") or None,
                            expires=expires, source=source))
    notes = []
    if declined:
        notes.append("declined (a client found the address in use by another device): " + ", ".join(declined))
    if expired:
        notes.append(f"{expired} expired lease(s) not counted")
    return sorted(leases, key=lambda lease: lease.ip), notes
