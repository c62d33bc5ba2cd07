"""The DHCP servers a scan heard, kept in bounded memory at O(1) per packet, and the allow list.

A LAN host can send ten thousand forged OFFERs in a second. Each packet costs one
dict lookup here (never a pass over the servers already seen), at most
``MAX_SERVERS`` identities are kept, and an allowed server is kept past that cap:
the real server's late offer must survive a flood that came first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from netaddr import IPAddress

from ipaudit.model import DhcpServer

#: Server identities kept per scan. A LAN has one or two servers; a Kea HA pair behind two relays, four.
MAX_SERVERS = 64
#: Distinct field problems kept (each names a server and a field); the rest are only counted.
MAX_PROBLEMS = 32


def is_mac(text: str) -> bool:
    parts = text.replace("-", ":").split(":")
    return len(parts) == 6 and all(len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p) for p in parts)


@dataclass(frozen=True)
class AllowedDhcp:
    """``--allowed-dhcp``: server IPs (server id or IP source) and MACs that may answer."""

    ips: frozenset[IPAddress] = frozenset()
    macs: frozenset[str] = frozenset()

    @classmethod
    def from_texts(cls, items: Iterable | None) -> AllowedDhcp | None:
        """Each item an IP (text or IPAddress) or a MAC; None stays None (no allow list given)."""
        if items is None:
            return None
        ips, macs = set(), set()
        for item in items:
            text = str(item).strip()
            if is_mac(text):
                macs.add(text.replace("-", ":").lower())
            else:
                ips.add(IPAddress(text))
        return cls(frozenset(ips), frozenset(macs))

    def names(self, server: DhcpServer) -> bool:
        """Whether the list names this server, by its id or its MAC (not yet whether it is genuine)."""
        return server.server_id in self.ips or (server.mac or "") in self.macs

    def describe(self) -> str:
        return ", ".join(sorted(str(ip) for ip in self.ips) + sorted(self.macs)) or "nothing"


def identity(server: DhcpServer) -> tuple:
    """Who sent an offer: its claimed id, Ethernet source, IP source and relay.

    The id alone is forged by copying option 54; the MAC and IP source are what a rogue
    copying it still differs in. The offer's terms (router, address) are not part of it:
    a damaged copy of a real offer, missing its router, is not a second server.
    """
    return (server.server_id, server.mac, server.source_ip, server.relay)


@dataclass
class ServerBook:
    """Every distinct server identity heard (first offer kept), with counts of the rest."""

    allowed: AllowedDhcp | None = None
    limit: int = MAX_SERVERS
    servers: dict[tuple, DhcpServer] = field(default_factory=dict)
    replies: int = 0  # replies from servers, kept or not
    dropped: int = 0  # replies from identities past the cap
    malformed: int = 0  # DHCP packets that could not be read at all
    malformed_reasons: list[str] = field(default_factory=list)
    #: (server MAC, problem) for bad fields in packets that were otherwise kept.
    problems: dict[tuple[str, str], None] = field(default_factory=dict)
    problems_dropped: int = 0

    def add(self, server: DhcpServer, problems: Iterable[str] = ()) -> None:
        self.replies += 1
        for problem in problems:
            self._note_problem(server.mac or "", problem)
        key = identity(server)
        if key in self.servers:
            return
        if len(self.servers) >= self.limit and not (self.allowed is not None and self.allowed.names(server)):
            self.dropped += 1
            return
        self.servers[key] = server

    def skip(self, reason: str) -> None:
        self.malformed += 1
        if len(self.malformed_reasons) < MAX_PROBLEMS:
            self.malformed_reasons.append(reason)

    def _note_problem(self, mac: str, problem: str) -> None:
        key = (mac, problem)
        if key in self.problems:
            return
        if len(self.problems) >= MAX_PROBLEMS:
            self.problems_dropped += 1
            return
        self.problems[key] = None

    @property
    def heard(self) -> list[DhcpServer]:
        """The identities kept, in arrival order."""
        return list(self.servers.values())
