"""``kea:PATH``: DHCP pools and reservations from kea-dhcp4.conf, and active leases from kea-leases4.csv.

URI forms::

    kea:/etc/kea/kea-dhcp4.conf                 lease file from lease-database "name",
                                                else /var/lib/kea/kea-leases4.csv
    kea:/etc/kea/kea-dhcp4.conf?leases=/tmp/kea-leases4.csv
    kea:/etc/kea/kea-dhcp4.conf?leases=         config only, no leases

The lease file is Kea's memfile CSV: an append-only log where the last line for
an address wins. A line with valid_lifetime 0 deletes the lease; ``state`` 0 is
a normal (active) lease, 1 declined, 2 expired-reclaimed. Kea writes commas
inside values as ``&#x2c``. While kea-lfc runs, the older halves of the log sit
in ``NAME.2`` and ``NAME.1``, read first. The config parsing here is shared with
the Control Agent source, which gets the same ``Dhcp4`` object from config-get.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from datetime import datetime

from netaddr import IPAddress

from ipaudit.addresses import parse_network, parse_spec
from ipaudit.errors import SpecError
from ipaudit.model import DhcpFacts, DhcpRange, Lease, Reservation
from ipaudit.sources.files import (MAX_LEASES, from_epoch, normal_mac, parse_file_uri, read_leases, read_lines,
                                   resolve_lease_file, too_many_leases)
from ipaudit.sources.interface import DhcpSource, SourceError
from ipaudit.sources.kea_json import load_kea_json

DEFAULT_LEASE_FILE = "/var/lib/kea/kea-leases4.csv"
STATE_DEFAULT, STATE_DECLINED, STATE_EXPIRED_RECLAIMED = 0, 1, 2
_REQUIRED_COLUMNS = ("address", "hwaddr", "valid_lifetime", "expire", "hostname", "state")


# --- the Dhcp4 configuration (files and config-get alike) -----------------------------------

def _items(container: dict, key: str, where: str, source: str) -> list:
    value = container.get(key, [])
    if not isinstance(value, list):
        raise SourceError(f"{source}: {where}.{key} should be a list")
    return value


def _all_subnets(dhcp4: dict, source: str) -> list[tuple[dict, str]]:
    subnets = [(s, "subnet4") for s in _items(dhcp4, "subnet4", "Dhcp4", source)]
    for network in _items(dhcp4, "shared-networks", "Dhcp4", source):
        if not isinstance(network, dict):
            raise SourceError(f"{source}: Dhcp4.shared-networks holds a non-object")
        name = network.get("name", "?")
        subnets += [(s, f"shared-network {name}") for s in _items(network, "subnet4", f"shared-network {name}", source)]
    return subnets


def _reservation(entry: dict, source: str, where: str) -> Reservation | None:
    if not isinstance(entry, dict):
        raise SourceError(f"{source}: a reservation in {where} is not an object")
    address = entry.get("ip-address")
    if not address:
        return None  # hostname/options-only reservations claim no address
    try:
        ip = IPAddress(str(address))
    except Exception:  # noqa: BLE001 - netaddr raises several types
        raise SourceError(f"{source}: reservation in {where} has invalid ip-address {address!r}") from None
    return Reservation(ip=ip, mac=normal_mac(entry.get("hw-address")), hostname=entry.get("hostname") or None,
                       source=source)


def facts_from_dhcp4(dhcp4: dict, source: str) -> tuple[list[DhcpRange], list[Reservation], list[str]]:
    """Ranges, reservations and notes from a ``Dhcp4`` object; SourceError on a shape Kea would reject."""
    if not isinstance(dhcp4, dict):
        raise SourceError(f"{source}: Dhcp4 is not an object")
    ranges: list[DhcpRange] = []
    reservations: list[Reservation] = []
    notes: list[str] = []
    for subnet_entry, where in _all_subnets(dhcp4, source):
        if not isinstance(subnet_entry, dict) or "subnet" not in subnet_entry:
            raise SourceError(f"{source}: a subnet4 entry in {where} has no \"subnet\"")
        try:
            subnet = parse_network(str(subnet_entry["subnet"]))
        except SpecError as problem:
            raise SourceError(f"{source}: {where}: {problem.message}") from None
        label = f"{source.split('?')[0]} subnet {subnet}" + (f" ({where})" if where != "subnet4" else "")
        for pool in _items(subnet_entry, "pools", f"subnet {subnet}", source):
            text = pool.get("pool") if isinstance(pool, dict) else None
            if not text:
                raise SourceError(f"{source}: a pool in subnet {subnet} has no \"pool\"")
            try:
                spec = parse_spec(str(text))
            except SpecError as problem:
                raise SourceError(f"{source}: subnet {subnet}: {problem.message}") from None
            ranges += [DhcpRange(addresses=r, label=label, subnet=subnet) for r in spec.ranges]
        for entry in _items(subnet_entry, "reservations", f"subnet {subnet}", source):
            reservation = _reservation(entry, source, f"subnet {subnet}")
            if reservation:
                reservations.append(reservation)
    for entry in _items(dhcp4, "reservations", "Dhcp4", source):
        reservation = _reservation(entry, source, "the global reservations")
        if reservation:
            reservations.append(reservation)
    if dhcp4.get("hosts-database") or dhcp4.get("hosts-databases"):
        notes.append("reservations kept in a hosts database are not read; only those in the config are")
    if dhcp4.get("config-control"):
        notes.append("subnets from a configuration backend (config-control) are not read from this file")
    if not ranges:
        notes.append("no DHCPv4 pools in the config")
    return ranges, reservations, notes


def _option_routers(container: dict) -> list[IPAddress]:
    """The ``routers`` (code 3, space dhcp4) in one scope's ``option-data``; hex data when csv-format is false."""
    found = []
    entries = container.get("option-data", [])
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("space", "dhcp4") != "dhcp4":
            continue
        if entry.get("name") != "routers" and entry.get("code") != 3:
            continue
        data = str(entry.get("data", ""))
        if entry.get("csv-format", True) is False:
            try:
                raw = bytes.fromhex(data.replace(":", "").replace(" ", ""))
            except ValueError:
                continue  # Kea refuses such data itself; it names no router we can use
            items = [str(IPAddress(int.from_bytes(raw[i:i + 4], "big"), 4)) for i in range(0, len(raw) - 3, 4)]
        else:
            items = [item.strip() for item in data.split(",")]
        for item in items:
            try:
                found.append(IPAddress(item, 4))
            except Exception:  # noqa: BLE001 - Kea refuses such data itself; it names no router we can use
                continue
    return found


def routers_from_dhcp4(dhcp4: dict) -> list[IPAddress]:
    """Every router option in a ``Dhcp4`` object: global, shared-network, subnet and pool scopes (Kea ARM, DHCPv4
    option-data); the facts keep those inside the LAN's subnet, so a multi-subnet server stays right."""
    def objects(container, key: str) -> list[dict]:
        value = container.get(key, []) if isinstance(container, dict) else []
        return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []

    networks = objects(dhcp4, "shared-networks")
    subnets = objects(dhcp4, "subnet4") + [s for network in networks for s in objects(network, "subnet4")]
    scopes = [dhcp4, *networks, *subnets, *(pool for subnet in subnets for pool in objects(subnet, "pools"))]
    routers: list[IPAddress] = []
    for scope in scopes:
        routers += [r for r in _option_routers(scope) if r not in routers]
    return routers


def lease_file_of(dhcp4: dict) -> tuple[str | None, str | None]:
    """(lease file path, or None; a note when the leases are not in a file)."""
    database = dhcp4.get("lease-database") or {}
    if not isinstance(database, dict):
        return DEFAULT_LEASE_FILE, None
    kind = str(database.get("type", "memfile")).lower()
    if kind != "memfile":
        return None, f"leases are kept in a {kind} database, not read here; use kea+http://... for live leases"
    if str(database.get("persist", True)).lower() in ("false", "0"):
        return None, "lease-database persist is false: leases live only in kea-dhcp4's memory; use kea+http://..."
    return str(database.get("name") or DEFAULT_LEASE_FILE), None


# --- kea-leases4.csv ---------------------------------------------------------------------------

def leases_from_csv(text: Iterable[str] | str, source: str, now: datetime,
                    file_name: str = "lease file") -> tuple[list[Lease], list[str]]:
    """Active leases in a memfile CSV log (last line per address wins), plus notes on what was left out.

    Streamed: memory grows with the distinct addresses (at most MAX_LEASES), not the log's length.
    """
    lines = (line for line in (text.splitlines() if isinstance(text, str) else text) if line.strip())
    first = next(lines, None)
    if first is None:
        return [], []
    header = [name.strip() for name in first.split(",")]
    missing = [name for name in _REQUIRED_COLUMNS if name not in header]
    if missing:
        raise SourceError(f"{source}: {file_name} is not a Kea DHCPv4 lease file (no {missing[0]} column)")
    column = {name: index for index, name in enumerate(header)}
    latest: dict[str, list[str]] = {}
    bad_rows = 0
    for line in lines:
        if line.startswith("address,"):
            continue  # a second header, from files concatenated by kea-lfc
        fields = line.split(",")
        if len(fields) < len(header) - 1:  # user_context may be missing on old files
            bad_rows += 1
            continue
        latest[fields[column["address"]]] = fields
        if len(latest) > MAX_LEASES:
            raise too_many_leases(source, "Kea lease file", file_name, MAX_LEASES)
    leases: list[Lease] = []
    declined: list[str] = []
    expired = 0
    for address, fields in latest.items():
        try:
            ip = IPAddress(address)
            lifetime = int(fields[column["valid_lifetime"]])
            expire = int(fields[column["expire"]])
            state = int(fields[column["state"]] or 0)
        except Exception:  # noqa: BLE001 - an unparsable row is skipped, as Kea skips it
            bad_rows += 1
            continue
        if lifetime == 0:
            continue  # deleted
        if state == STATE_DECLINED:
            declined.append(str(ip))
            continue
        if state == STATE_EXPIRED_RECLAIMED:
            continue
        expires = from_epoch(expire)
        if expires is not None and expires <= now:
            expired += 1
            continue
        hostname = fields[column["hostname"]].replace("&#x2c", ",") or None
        leases.append(Lease(ip=ip, mac=normal_mac(fields[column["hwaddr"]]), hostname=hostname, expires=expires,
                            source=source))
    notes = []
    if declined:
        notes.append(f"declined in {file_name} (a client found the address in use by another device): "
                     + ", ".join(sorted(declined, key=IPAddress)))
    if expired:
        notes.append(f"{expired} expired lease(s) in {file_name} not counted")
    if bad_rows:
        notes.append(f"{bad_rows} unreadable line(s) in {file_name} skipped")
    return sorted(leases, key=lambda lease: lease.ip), notes


def read_lease_log(path: str, source: str, now: datetime) -> tuple[list[Lease], list[str]]:
    """The lease file plus the kea-lfc halves (``.2`` then ``.1``) that precede it in time, streamed in that order."""
    parts = [p for p in (path + ".2", path + ".1") if os.path.exists(p)] + [path]

    def lines() -> Iterator[str]:
        for part in parts:
            yield from read_lines(part, source, "Kea lease file")

    return leases_from_csv(lines(), source, now, file_name=os.path.basename(path))


class KeaFileSource(DhcpSource):
    """kea-dhcp4.conf plus its memfile lease file, read from disk."""

    scheme = "kea"
    example = "kea:/etc/kea/kea-dhcp4.conf?leases=/var/lib/kea/kea-leases4.csv"

    def read(self, now: datetime | None = None) -> DhcpFacts:
        target = parse_file_uri(self.uri)
        document = load_kea_json(target.path, self.uri)
        if "Dhcp4" not in document:
            raise SourceError(f"{self.uri}: {target.path} has no Dhcp4 section (is it kea-dhcp4.conf?)")
        dhcp4 = document["Dhcp4"]
        ranges, reservations, notes = facts_from_dhcp4(dhcp4, self.uri)
        configured, why_not = lease_file_of(dhcp4)
        lease_path = resolve_lease_file(target, configured, notes, why_not)
        leases = read_leases(lease_path, read_lease_log, self.uri, now, notes)
        return DhcpFacts(source=self.uri, ranges=tuple(ranges), leases=tuple(leases),
                         reservations=tuple(reservations), notes=tuple(notes), routers=tuple(routers_from_dhcp4(dhcp4)))
