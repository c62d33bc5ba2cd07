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
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from netaddr import IPAddress, IPNetwork, IPRange

from ipaudit.model import DhcpFacts, DhcpRange, Lease, Reservation
from ipaudit.sources.files import from_epoch, normal_mac, parse_file_uri, read_text, resolve_lease_file, utc_now
from ipaudit.sources.interface import DhcpSource, SourceError

DEFAULT_LEASE_FILE = "/var/lib/dhcp/dhcpd.leases"
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{};]|[^\s{};"]+')
_MAX_DEPTH = 10


@dataclass
class Statement:
    """``words ... ;`` or ``words ... { block }``; strings keep their quotes off."""

    words: list[str]
    block: list[Statement] | None = None
    line: int = 0

    @property
    def keyword(self) -> str:
        return self.words[0].lower() if self.words else ""


def _tokens(text: str) -> list[tuple[str, int]]:
    found = []
    for number, raw in enumerate(text.splitlines(), start=1):
        for match in _TOKEN.finditer(_uncomment(raw)):
            found.append((match.group(0), number))
    return found


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


def parse_statements(text: str, path: str, source: str) -> list[Statement]:
    """The statement tree of a dhcpd.conf or dhcpd.leases text; SourceError on unbalanced braces."""
    statements, _ = _block(_tokens(text), 0, path, source, top=True)
    return statements


def _block(tokens, position, path, source, top=False):
    statements: list[Statement] = []
    words: list[str] = []
    first_line = 0
    while position < len(tokens):
        token, line = tokens[position]
        position += 1
        if not words:
            first_line = line
        if token == ";":
            if words:
                statements.append(Statement(words, None, first_line))
            words = []
        elif token == "{":
            block, position = _block(tokens, position, path, source)
            statements.append(Statement(words, block, first_line))
            words = []
        elif token == "}":
            if top:
                raise SourceError(f"{source}: {path} line {line}: unexpected '}}'")
            if words:
                raise SourceError(f"{source}: {path} line {first_line}: missing ';' after {' '.join(words)}")
            return statements, position
        else:
            words.append(token[1:-1] if token.startswith('"') else token)
    if not top:
        raise SourceError(f"{source}: {path} ends inside a {{ }} block (missing '}}')")
    if words:
        raise SourceError(f"{source}: {path} line {first_line}: missing ';' after {' '.join(words)}")
    return statements, position


# --- dhcpd.conf ------------------------------------------------------------------------------------

@dataclass
class _Config:
    source: str
    label: str
    ranges: list[DhcpRange] = field(default_factory=list)
    subnets: list[IPNetwork] = field(default_factory=list)
    reservations: list[Reservation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


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


def _host(statement: Statement, where: str, config: _Config) -> None:
    mac, addresses = None, []
    for inner in statement.block:
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


def hosts_from_dhcpd(statements: list[Statement], source: str) -> list[Reservation]:
    """Hosts created over OMAPI, which dhcpd logs in the lease file; the last block per name wins, ``deleted;`` removes."""
    latest: dict[str, Statement] = {}
    for statement in statements:
        if statement.keyword == "host" and statement.block is not None and len(statement.words) == 2:
            latest[statement.words[1]] = statement
    config = _Config(source=source, label="")
    for statement in latest.values():
        if not any(inner.keyword == "deleted" for inner in statement.block):
            _host(statement, "lease file", config)
    return config.reservations


def leases_from_dhcpd(text: str, source: str, now: datetime, path: str = "lease file",
                      statements: list[Statement] | None = None) -> tuple[list[Lease], list[str]]:
    """Active leases in a dhcpd.leases log (last block per address wins), plus notes."""
    latest: dict[str, Statement] = {}
    for statement in statements if statements is not None else parse_statements(text, path, source):
        if statement.keyword == "lease" and statement.block is not None and len(statement.words) == 2:
            latest[statement.words[1]] = statement  # DHCPv6 leases are ia-na blocks: skipped
    leases: list[Lease] = []
    abandoned: list[str] = []
    expired = 0
    for address, statement in latest.items():
        state, mac, hostname, ends = None, None, None, "bad"
        for inner in statement.block:
            words = [w.lower() for w in inner.words]
            if words[:2] == ["binding", "state"] and len(words) == 3:
                state = words[2]
            elif inner.keyword == "hardware" and len(inner.words) >= 3:
                mac = normal_mac(inner.words[2])
            elif inner.keyword == "client-hostname" and len(inner.words) >= 2:
                hostname = inner.words[1]
            elif inner.keyword == "ends":
                ends = _lease_time(inner.words)
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
            text = read_text(lease_path, self.uri, "dhcpd lease file")
            statements = parse_statements(text, lease_path, self.uri)
            leases, lease_notes = leases_from_dhcpd(text, self.uri, now or utc_now(), lease_path, statements)
            reservations += hosts_from_dhcpd(statements, self.uri)
            notes += lease_notes
        return DhcpFacts(source=self.uri, ranges=tuple(config.ranges), leases=tuple(leases),
                         reservations=tuple(reservations), notes=tuple(notes))
