"""What is wrong with the DHCP servers a scan heard: more than one, or one nobody allowed.

Pure: servers in, findings out. A second server on a LAN hands out addresses the
first one (and the load-balancer pools planned around it) knows nothing about.
"""

from __future__ import annotations

from collections.abc import Iterable

from netaddr import IPAddress

from ipaudit.findings import Code, finding
from ipaudit.model import DhcpServer, Finding


def describe_server(server: DhcpServer) -> str:
    """``198.51.100.1 (02:1a:00:00:00:01, offered 198.51.100.181)``: who it is and what it offered."""
    details = [part for part in (server.mac, f"offered {server.offered_ip}" if server.offered_ip else None,
                                 f"via relay {server.relay}" if server.relay else None) if part]
    name = str(server.server_id) if server.server_id is not None else "a server without an id"
    return f"{name} ({', '.join(details)})" if details else name


def _server_key(server: DhcpServer):
    # One server may answer through two paths (direct and relayed): its id names it.
    return server.server_id if server.server_id is not None else server.mac


def dhcp_findings(servers: Iterable[DhcpServer], allowed: Iterable | None = None) -> list[Finding]:
    """``multiple-dhcp-servers`` when more than one server answers; ``unauthorized-dhcp-server``
    for each server whose id is not in ``allowed`` (None: no allow list given, nothing checked)."""
    distinct: dict = {}
    for server in servers:
        distinct.setdefault(_server_key(server), server)
    findings: list[Finding] = []
    if len(distinct) > 1:
        names = "; ".join(describe_server(s) for s in distinct.values())
        findings.append(finding(
            Code.MULTIPLE_DHCP_SERVERS,
            f"{len(distinct)} DHCP servers answered: {names}. Clients take whichever answers "
            "first, so addresses come from ranges nobody planned pools around",
            addresses=tuple(str(s.server_id) for s in distinct.values() if s.server_id is not None),
            subject=sorted(str(key) for key in distinct)))
    if allowed is not None:
        allowed_ids = {IPAddress(str(a)) for a in allowed}
        allowed_text = ", ".join(sorted(str(a) for a in allowed_ids)) or "nothing"
        for server in distinct.values():
            if server.server_id in allowed_ids:
                continue
            addresses = tuple(str(a) for a in (server.server_id, server.offered_ip) if a is not None)
            findings.append(finding(
                Code.UNAUTHORIZED_DHCP_SERVER,
                f"DHCP server {describe_server(server)} is not in --allowed-dhcp ({allowed_text})",
                addresses=addresses, subject=(str(_server_key(server)), server.mac or "")))
    return findings
