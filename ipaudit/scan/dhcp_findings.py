"""What is wrong with the DHCP servers a scan heard: more than one, one nobody allowed, one
that forges another's id, or packets that could not be read.

Pure: servers in, findings out. A second server on a LAN hands out addresses the
first one (and the load-balancer pools planned around it) knows nothing about. A
server is named by its id (option 54), but that id is one option anyone can copy,
so each offer is also held against the MAC and IP source it came from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from netaddr import IPAddress

from ipaudit.findings import Code, finding
from ipaudit.model import DhcpServer, Finding, Severity
from ipaudit.scan.dhcp_servers import AllowedDhcp, ServerBook, identity


def describe_server(server: DhcpServer) -> str:
    """``198.51.100.1 (02:1a:00:00:00:01, offered 198.51.100.181)``: who it is and what it offered."""
    source = (f"from {server.source_ip}" if server.source_ip is not None and server.source_ip != server.server_id
              else None)
    details = [part for part in (server.mac, source, f"offered {server.offered_ip}" if server.offered_ip else None,
                                 f"router {server.router}" if server.router else None,
                                 f"via relay {server.relay}" if server.relay else None) if part]
    name = str(server.server_id) if server.server_id is not None else "a server without an id"
    return f"{name} ({', '.join(details)})" if details else name


def _genuine(server: DhcpServer, allowed: AllowedDhcp | None, mac_ids: set) -> bool:
    """Whether the offer comes from where its id says: the id's own IP (or its relay, or an allowed
    IP), and, for an id that an allowed MAC answers for (``mac_ids``), an allowed MAC (a relayed
    offer carries the relay's MAC, so it is held to its IP source only)."""
    sources = {server.server_id, server.relay, *(allowed.ips if allowed else ())}
    if server.source_ip is not None and server.source_ip not in sources:
        return False
    if (allowed is not None and server.server_id in mac_ids and server.relay is None
            and (server.mac or "") not in allowed.macs):
        return False
    return True


def _spoofers(servers: list[DhcpServer], allowed: AllowedDhcp | None) -> dict[int, str]:
    """index in ``servers`` -> why that offer is a forgery of another server's id."""
    protected = set(allowed.ips) if allowed else set()
    mac_ids: set = set()
    if allowed is not None:
        # A server allowed by MAC protects its id too: a copy of that id from another MAC is a forgery.
        mac_ids = {s.server_id for s in servers if s.relay is None and (s.mac or "") in allowed.macs}
        protected |= mac_ids
    direct: dict = defaultdict(list)
    for index, server in enumerate(servers):
        if server.relay is None:
            direct[server.server_id].append(index)
    found: dict[int, str] = {}
    for index, server in enumerate(servers):
        shared = len(direct.get(server.server_id, ())) > 1
        if server.server_id in protected or shared:
            if not _genuine(server, allowed, mac_ids):
                found[index] = (f"uses server id {server.server_id} but comes from MAC {server.mac}, "
                                f"IP {server.source_ip}")
    for server_id, members in direct.items():
        if len(members) > 1 and not any(i in found for i in members):
            # Every copy looks right by MAC and IP: a full forgery; which one is real cannot be told.
            for index in members:
                found[index] = f"is one of {len(members)} senders that all claim server id {server_id}"
    return found


def _malformed_findings(book: ServerBook) -> list[Finding]:
    findings = []
    if book.malformed:
        findings.append(finding(
            Code.DHCP_PACKET_MALFORMED,
            f"{book.malformed} DHCP packet(s) could not be read and were skipped "
            f"({'; '.join(book.malformed_reasons[:3])}); the rest of the report stands",
            subject=("unreadable",)))
    by_mac: dict[str, list[str]] = defaultdict(list)
    for mac, problem in book.problems:
        by_mac[mac].append(problem)
    for mac in sorted(by_mac):
        more = f" (and more, {book.problems_dropped} not listed)" if book.problems_dropped else ""
        findings.append(finding(
            Code.DHCP_PACKET_MALFORMED,
            f"DHCP server {mac} sent garbage fields, left out of its offer: {'; '.join(by_mac[mac])}{more}",
            subject=(mac,)))
    return findings


def dhcp_findings(servers: Iterable[DhcpServer] | ServerBook, allowed: Iterable | AllowedDhcp | None = None
                  ) -> list[Finding]:
    """The findings about what answered DHCP.

    ``multiple-dhcp-servers`` when more than one server answers: critical, or info when
    every one is in ``allowed`` (a Kea HA pair, a split scope). ``unauthorized-dhcp-server``
    for each server ``allowed`` does not name (None: no allow list, nothing checked).
    ``dhcp-server-spoofed`` for an offer that carries a protected id from another MAC or IP
    source, and ``dhcp-packet-malformed`` for what a ServerBook could not read.
    """
    if not isinstance(allowed, AllowedDhcp | None):
        allowed = AllowedDhcp.from_texts(allowed)
    if not isinstance(servers, ServerBook):
        kept: dict = {}
        for server in servers:
            kept.setdefault(identity(server), server)  # the same offer heard twice is one sender
        heard = list(kept.values())
        book = None
    else:
        book = servers
        heard = book.heard
    spoofed = _spoofers(heard, allowed)

    distinct: dict = {}
    for index, server in enumerate(heard):
        # One server may answer through two paths (direct and relayed): its id names it, unless forged.
        key = (server.server_id, server.mac, server.source_ip) if index in spoofed else server.server_id
        if server.server_id is None and index not in spoofed:
            key = server.mac
        distinct.setdefault(key, (index, server))
    trusted = {key: allowed is not None and index not in spoofed and allowed.names(server)
               for key, (index, server) in distinct.items()}

    findings: list[Finding] = []
    dropped = book.dropped if book is not None else 0
    if len(distinct) > 1 or dropped:
        ordered = sorted(distinct.items(), key=lambda item: str(item[0]))
        names = "; ".join(describe_server(server) for _, (_, server) in ordered)
        more = f", and {dropped} more offer(s) from servers past the first {len(heard)} kept" if dropped else ""
        all_allowed = all(trusted.values()) and not dropped
        consequence = ("all are in --allowed-dhcp (an HA pair or a split scope)" if all_allowed else
                       "clients take whichever answers first, so addresses come from ranges nobody planned "
                       "pools around")
        findings.append(finding(
            Code.MULTIPLE_DHCP_SERVERS, f"{len(distinct)} DHCP servers answered: {names}{more}. {consequence}",
            addresses=tuple(sorted({str(s.server_id) for _, (_, s) in ordered if s.server_id is not None},
                                   key=_ip_order)),
            subject=sorted(str(key) for key in distinct),
            severity=Severity.INFO if all_allowed else None))
    for index in sorted(spoofed, key=lambda i: str(identity(heard[i]))):
        server = heard[index]
        findings.append(finding(
            Code.DHCP_SERVER_SPOOFED,
            f"DHCP offer {describe_server(server)} {spoofed[index]}: a rogue server copying the real one's id",
            addresses=tuple(str(a) for a in (server.server_id, server.source_ip, server.offered_ip) if a is not None),
            subject=(str(server.server_id), server.mac or "", str(server.source_ip))))
    if allowed is not None:
        for key, (index, server) in sorted(distinct.items(), key=lambda item: str(item[0])):
            if trusted[key] or index in spoofed:
                continue
            addresses = tuple(str(a) for a in (server.server_id, server.offered_ip) if a is not None)
            findings.append(finding(
                Code.UNAUTHORIZED_DHCP_SERVER,
                f"DHCP server {describe_server(server)} is not in --allowed-dhcp ({allowed.describe()})",
                addresses=addresses, subject=(str(server.server_id or server.mac), server.mac or "")))
    if book is not None:
        findings += _malformed_findings(book)
    return findings


def _ip_order(text: str) -> int:
    return int(IPAddress(text))
