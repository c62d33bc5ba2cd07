"""``dhcpd:PATH``: ranges and fixed addresses from ISC dhcpd.conf, active leases from dhcpd.leases.

URI forms::

    dhcpd:/etc/dhcp/dhcpd.conf                      leases from /var/lib/dhcp/dhcpd.leases
    dhcpd:/etc/dhcp/dhcpd.conf?leases=/tmp/dhcpd.leases

Both files share one syntax (dhcpd.conf(5), dhcpd.leases(5)): statements end in
``;``, declarations carry a ``{ }`` block, ``#`` starts a comment. The config
gives ``subnet N netmask M``, ``range [dynamic-bootp] LOW [HIGH];`` (also inside
``pool { }`` and ``shared-network``), ``host { hardware ethernet; fixed-address; }``
and ``include "file";``. The lease file is a log: the last ``lease`` block per
address wins, and only ``binding state active`` (or ``abandoned``: dhcpd saw the
address answer a ping) is in use. ``ends never`` is a lease that never expires.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from netaddr import IPAddress, IPNetwork, IPRange

from ipaudit.model import DhcpFacts, DhcpRange, Lease, Reservation
from ipaudit.sources.files import (MAX_LEASES, from_epoch, normal_mac, parse_file_uri, read_lines, read_text,
                                   resolve_lease_file, too_many_leases, utc_now)
from ipaudit.sources.interface import DhcpSource, SourceError

DEFAULT_LEASE_FILE = "/var/lib/dhcp/dhcpd.leases"
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{};]|[^\s{};"]+')
_MAX_DEPTH = 10
# dhcpd.conf nests shared-network > subnet > pool > class at most a few deep; 32 keeps
# a hostile file of braces from reaching Python's recursion limit.
_MAX_NESTING = 32


@dataclass
class Statement:
    """``words ... ;`` or ``words ... { block }``; strings keep their quotes off."""

    words: list[str]
    block: list[Statement] | None = None
    line: int = 0

    @property
    def keyword(self) -> str:
        return self.words[0].lower() if self.words else ""


def _tokens(lines: Iterable[str]) -> Iterator[tuple[str, int]]:
    for number, raw in enumerate(lines, start=1):
        for match in _TOKEN.finditer(_uncomment(raw)):
            yield match.group(0), number


def _uncomment(line: str) -> str:
    quoted, escaped = False, False
    for index, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "#" and not quoted:
            return line[:index]
    return line


def iter_statements(lines: Iterable[str] | str, path: str, source: str) -> Iterator[Statement]:
    """The top-level statements of a dhcpd.conf or dhcpd.leases, one at a time (a lease log is read
    in one pass, never held whole); SourceError on unbalanced braces or absurd nesting."""
    tokens = _tokens(lines.splitlines() if isinstance(lines, str) else lines)
    yield from _statements(tokens, path, source, depth=0)


def parse_statements(text: Iterable[str] | str, path: str, source: str) -> list[Statement]:
    """The statement tree of a dhcpd.conf or dhcpd.leases text."""
    return list(iter_statements(text, path, source))


def _statements(tokens: Iterator[tuple[str, int]], path: str, source: str, depth: int) -> Iterator[Statement]:
    """Statements up to the ``}`` closing this block (or the end, at depth 0); nested blocks recurse."""
    top = depth == 0
    words: list[str] = []
    first_line = 0
    for token, line in tokens:
        if not words:
            first_line = line
        if token == ";":
            if words:
                yield Statement(words, None, first_line)
            words = []
        elif token == "{":
            if depth >= _MAX_NESTING:
                raise SourceError(f"{source}: {path} line {line}: blocks nested deeper than {_MAX_NESTING}")
            block = list(_statements(tokens, path, source, depth + 1))
            yield Statement(words, block, first_line)
            words = []
        elif token == "}":
            if top:
                raise SourceError(f"{source}: {path} line {line}: unexpected '}}'")
            if words:
                raise SourceError(f"{source}: {path} line {first_line}: missing ';' after {' '.join(words)}")
            return
        else:
            words.append(token[1:-1] if token.startswith('"') else token)
    if not top:
        raise SourceError(f"{source}: {path} ends inside a {{ }} block (missing '}}')")
    if words:
        raise SourceError(f"{source}: {path} line {first_line}: missing ';' after {' '.join(words)}")


# --- dhcpd.conf ------------------------------------------------------------------------------------

@dataclass
class _Config:
    source: str
    label: str
    ranges: list[DhcpRange] = field(default_factory=list)
    subnets: list[IPNetwork] = field(default_factory=list)
    reservations: list[Reservation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    routers: list[IPAddress] = field(default_factory=list)


def _ip(text: str, where: str, config: _Config) -> IPAddress:
    try:
        return IPAddress(text.rstrip(","), version=4)
    except Exception:  # noqa: BLE001 - netaddr raises several types
        raise SourceError(f"{config.source}: {where}: {text!r} is not an IPv4 address") from None


def _walk(statements: list[Statement], config: _Config, path: str, subnet: IPNetwork | None,
          shared: str | None, depth: int) -> None:
    for statement in statements:
        where = f"{path} line {statement.line}"
        keyword, words = statement.keyword, statement.words
        if keyword == "include" and len(words) == 2 and statement.block is None:
            if depth >= _MAX_DEPTH:
                raise SourceError(f"{config.source}: includes nested deeper than {_MAX_DEPTH} at {where}")
            target = words[1] if os.path.isabs(words[1]) else os.path.join(os.path.dirname(path), words[1])
            if not os.path.exists(target) and os.path.exists(words[1]):
                target = words[1]
            text = read_text(target, config.source, "dhcpd include")
            _walk(parse_statements(text, target, config.source), config, target, subnet, shared, depth + 1)
        elif keyword == "subnet" and statement.block is not None:
            if len(words) != 4 or words[2].lower() != "netmask":
                raise SourceError(f"{config.source}: {where}: expected 'subnet NETWORK netmask MASK'")
            network = IPNetwork(f"{_ip(words[1], where, config)}/{_ip(words[3], where, config)}")
            config.subnets.append(network.cidr)
            _walk(statement.block, config, path, network.cidr, shared, depth)
        elif keyword == "shared-network" and statement.block is not None:
            _walk(statement.block, config, path, subnet, words[1] if len(words) > 1 else "?", depth)
        elif keyword in ("pool", "group") and statement.block is not None:
            _walk(statement.block, config, path, subnet, shared, depth)
        elif keyword == "range" and statement.block is None:
            _range(words[1:], where, config, subnet, shared)
        elif keyword == "host" and statement.block is not None:
            _host(statement, where, config)
        elif keyword == "option" and len(words) > 2 and words[1].lower() == "routers" and statement.block is None:
            _routers(words[2:], config)
        elif keyword in ("subnet6", "range6") and not any("IPv6" in n for n in config.notes):
            config.notes.append("IPv6 declarations (subnet6/range6) are not read")


def _range(args: list[str], where: str, config: _Config, subnet: IPNetwork | None, shared: str | None) -> None:
    if args and args[0].lower() == "dynamic-bootp":
        args = args[1:]
    if not args or len(args) > 2:
        raise SourceError(f"{config.source}: {where}: expected 'range [dynamic-bootp] LOW [HIGH];'")
    low = _ip(args[0], where, config)
    high = _ip(args[1], where, config) if len(args) == 2 else low
    low, high = sorted((low, high))
    label = config.label + (f" subnet {subnet}" if subnet else "") + (f" (shared-network {shared})" if shared else "")
    config.ranges.append(DhcpRange(addresses=IPRange(low, high), label=label, subnet=subnet))


def _routers(args: list[str], config: _Config) -> None:
    """``option routers 192.168.1.1, 192.168.1.2;`` (dhcp-options(5)), at any scope above a host."""
    for item in " ".join(args).split(","):
        item = item.strip()
        try:
            address = IPAddress(item, version=4)
        except Exception:  # noqa: BLE001 - a DNS name, resolved by dhcpd at start, not by us
            if item:
                config.notes.append(f"option routers {item} is a name, not read")
            continue
        if address not in config.routers:
            config.routers.append(address)


def _host(statement: Statement, where: str, config: _Config) -> None:
    mac, addresses = None, []
    for inner in statement.block or []:
        words = inner.words
        if inner.keyword == "hardware" and len(words) >= 3:
            mac = normal_mac(words[2])
        elif inner.keyword == "fixed-address":
            for item in " ".join(words[1:]).split(","):
                item = item.strip()
                try:
                    addresses.append(IPAddress(item, version=4))
                except Exception:  # noqa: BLE001 - a DNS name: resolved by dhcpd at start, not by us
                    if item:
                        config.notes.append(f"host {statement.words[1] if len(statement.words) > 1 else '?'}: "
                                            f"fixed-address {item} is a name, not read")
    name = statement.words[1] if len(statement.words) > 1 else None
    for address in addresses:
        config.reservations.append(Reservation(ip=address, mac=mac, hostname=name, source=config.source))


def _containing(addresses: IPRange, subnets: list[IPNetwork]) -> IPNetwork | None:
    return next((s for s in subnets if s.first <= addresses.first and addresses.last <= s.last), None)


def config_facts(path: str, source: str) -> _Config:
    config = _Config(source=source, label=f"dhcpd {path}")
    _walk(parse_statements(read_text(path, source, "dhcpd config"), path, source), config, path, None, None, 0)
    # A pool declared in a shared-network outside any subnet still lies in one of its subnets.
    config.ranges = [r if r.subnet else replace(r, subnet=_containing(r.addresses, config.subnets))
                     for r in config.ranges]
    if not config.ranges:
        config.notes.append("no dynamic range in the config")
    return config


# --- dhcpd.leases ----------------------------------------------------------------------------------

def _lease_time(words: list[str]) -> datetime | None | str:
    """``ends 3 2026/11/26 22:00:00``, ``ends epoch 1795...``, ``ends never`` -> datetime, None, or "bad"."""
    if len(words) >= 2 and words[1].lower() == "never":
        return None
    if len(words) >= 3 and words[1].lower() == "epoch" and words[2].isdigit():
        return from_epoch(int(words[2]))
    if len(words) >= 4:
        try:
            return datetime.strptime(f"{words[2]} {words[3]}", "%Y/%m/%d %H:%M:%S").replace(tzinfo=timezone.utc)
        except ValueError:
            return "bad"
    return "bad"


def _lease_record(statement: Statement) -> tuple[str | None, str | None, str | None, datetime | None | str]:
    """(binding state, MAC, client hostname, ends) of one ``lease`` block: all the log's later lines need."""
    state, mac, hostname = None, None, None
    ends: datetime | None | str = "bad"
    for inner in statement.block or []:
        words = [w.lower() for w in inner.words]
        if words[:2] == ["binding", "state"] and len(words) == 3:
            state = words[2]
        elif inner.keyword == "hardware" and len(inner.words) >= 3:
            mac = normal_mac(inner.words[2])
        elif inner.keyword == "client-hostname" and len(inner.words) >= 2:
            hostname = inner.words[1]
        elif inner.keyword == "ends":
            ends = _lease_time(inner.words)
    return state, mac, hostname, ends


def read_lease_log(lines: Iterable[str] | str, source: str, now: datetime, path: str = "lease file"
                   ) -> tuple[list[Lease], list[Reservation], list[str]]:
    """Active leases and OMAPI hosts in a dhcpd.leases log, plus notes, in one streamed pass.

    The log appends a block per change: the last ``lease`` block per address wins, and
    the last ``host`` block per name (``deleted;`` removes it). Each lease block is cut
    down to four fields as it is read, so memory grows with addresses, not with the log.
    """
    latest: dict[str, tuple] = {}
    hosts: dict[str, Statement] = {}
    for statement in iter_statements(lines, path, source):
        if statement.block is None or len(statement.words) != 2:
            continue
        if statement.keyword == "lease":
            latest[statement.words[1]] = _lease_record(statement)  # DHCPv6 leases are ia-na blocks: skipped
            if len(latest) > MAX_LEASES:
                raise too_many_leases(source, "dhcpd lease file", path, MAX_LEASES)
        elif statement.keyword == "host":
            hosts[statement.words[1]] = statement
            if len(hosts) > MAX_LEASES:
                raise too_many_leases(source, "dhcpd lease file", path, MAX_LEASES)
    config = _Config(source=source, label="")
    for statement in hosts.values():
        if not any(inner.keyword == "deleted" for inner in statement.block or []):
            _host(statement, "lease file", config)
    leases, notes = _active_leases(latest, source, now, path)
    return leases, config.reservations, notes


def _active_leases(latest: dict[str, tuple], source: str, now: datetime, path: str) -> tuple[list[Lease], list[str]]:
    leases: list[Lease] = []
    abandoned: list[str] = []
    expired = 0
    for address, (state, mac, hostname, ends) in latest.items():
        try:
            ip = IPAddress(address, version=4)
        except Exception:  # noqa: BLE001
            continue
        if state == "abandoned":
            abandoned.append(address)
            state = "active"
        if state != "active":
            continue  # free, expired, released, backup, reset...
        if isinstance(ends, datetime) and ends <= now:
            expired += 1
            continue
        leases.append(Lease(ip=ip, mac=mac, hostname=hostname, expires=ends if isinstance(ends, datetime) else None,
                            source=source))
    notes = []
    if abandoned:
        notes.append(f"abandoned in {os.path.basename(path)} (dhcpd found the address in use; counted as leased): "
                     + ", ".join(sorted(abandoned, key=IPAddress)))
    if expired:
        notes.append(f"{expired} active lease(s) in {os.path.basename(path)} already past their end, not counted")
    return sorted(leases, key=lambda lease: lease.ip), notes


class DhcpdSource(DhcpSource):
    """ISC dhcpd.conf (with includes) and dhcpd.leases, read from disk."""

    scheme = "dhcpd"
    example = "dhcpd:/etc/dhcp/dhcpd.conf?leases=/var/lib/dhcp/dhcpd.leases"

    def read(self, now: datetime | None = None) -> DhcpFacts:
        target = parse_file_uri(self.uri)
        config = config_facts(target.path, self.uri)
        notes = list(config.notes)
        leases: list[Lease] = []
        reservations = list(config.reservations)
        lease_path = resolve_lease_file(target, DEFAULT_LEASE_FILE, notes)
        if lease_path:
            # Not read_leases: hosts made over OMAPI live in the lease file, and they are reservations too.
            lines = read_lines(lease_path, self.uri, "dhcpd lease file")
            leases, omapi_hosts, lease_notes = read_lease_log(lines, self.uri, now or utc_now(), lease_path)
            reservations += omapi_hosts
            notes += lease_notes
        return DhcpFacts(source=self.uri, ranges=tuple(config.ranges), leases=tuple(leases),
                         reservations=tuple(reservations), notes=tuple(notes), routers=tuple(config.routers))
