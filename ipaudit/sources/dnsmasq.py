"""``dnsmasq:PATH``: DHCP ranges and static hosts from dnsmasq.conf (and what it includes), leases from its lease file.

URI forms::

    dnsmasq:/etc/dnsmasq.conf                       lease file from dhcp-leasefile=,
                                                    else /var/lib/misc/dnsmasq.leases
    dnsmasq:/etc/dnsmasq.d                          a directory: every file in it, as conf-dir= reads them;
                                                    Pi-hole v5 (02-pihole-dhcp.conf names /etc/pihole/dhcp.leases,
                                                    04-pihole-static-dhcp.conf holds the static leases)
    dnsmasq:/etc/dnsmasq.conf?leases=/tmp/dhcp.leases   e.g. a copy of OpenWrt's lease file

The config is read as dnsmasq reads it (``man dnsmasq``, CONFIG FILE): one long
option per line, ``#`` comments, quotes; ``conf-file=`` and ``conf-dir=`` are
followed, ``dhcp-hostsfile=``/``dhcp-hostsdir=`` add ``dhcp-host`` lines. A lease
line is ``expiry mac ip hostname client-id`` (expiry 0 = infinite, ``*`` = none);
after a ``duid`` line come DHCPv6 leases, whose second field is an IAID, not a MAC.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from datetime import datetime

from netaddr import IPAddress, IPNetwork, IPRange

from ipaudit.model import DhcpFacts, DhcpRange, Lease, Reservation
from ipaudit.sources.files import (from_epoch, normal_mac, parse_file_uri, read_leases, read_lines, resolve_lease_file,
                                   too_many_leases, MAX_CONFIG_BYTES, MAX_LEASES)
from ipaudit.sources.interface import DhcpSource, SourceError

DEFAULT_LEASE_FILE = "/var/lib/misc/dnsmasq.leases"
_LEASE_TIME = re.compile(r"^(\d+[smhdw]?|infinite|deprecated)$", re.IGNORECASE)
_MAC = re.compile(r"^([0-9a-f]{1,2}-)?([0-9a-f*]{1,2}:){5}[0-9a-f*]{1,2}$", re.IGNORECASE)
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_MAX_DEPTH = 10
# The options DnsmasqSource reads, long and short names (man dnsmasq, OPTIONS).
DHCP_OPTIONS = frozenset({"dhcp-range", "f", "dhcp-host", "g", "dhcp-leasefile", "dhcp-lease-file", "l",
                          "leasefile-ro", "read-ethers", "dhcp-option", "O", "dhcp-option-force"})
# man dnsmasq, --dhcp-option: option 3 is the router, by number or as option:router.
ROUTER_OPTION = frozenset({"3", "option:router"})


# --- the config file -----------------------------------------------------------------------------

def _strip_comment(line: str) -> str:
    """Cut at a '#' that starts the line or follows whitespace, outside double quotes."""
    quoted = False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == "#" and not quoted and (index == 0 or line[index - 1].isspace()):
            return line[:index]
    return line


def _unquote(value: str) -> str:
    if '"' not in value:
        return value
    escapes = {"\\": "\\", '"': '"', "t": "\t", "n": "\n", "r": "\r", "e": "\x1b", "b": "\b"}
    out, quoted, i = [], False, 0
    while i < len(value):
        char = value[i]
        if char == '"':
            quoted = not quoted
        elif char == "\\" and quoted and i + 1 < len(value):
            out.append(escapes.get(value[i + 1], value[i + 1]))
            i += 1
        else:
            out.append(char)
        i += 1
    return "".join(out)


def iter_options(lines: Iterable[str] | str) -> Iterator[tuple[str, str]]:
    """(option, value) per line, in order, streamed; a bare flag has value ""."""
    for raw in lines.splitlines() if isinstance(lines, str) else lines:
        line = _strip_comment(raw).strip()
        if not line:
            continue
        name, _, value = line.partition("=")
        yield name.strip().lower().lstrip("-"), _unquote(value.strip())


def _near(path: str, including: str) -> str:
    if os.path.isabs(path):
        return path
    beside = os.path.join(os.path.dirname(including), path)
    return beside if os.path.exists(beside) else path


def _conf_dir_files(spec: str, including: str, source: str) -> list[str]:
    directory, *extensions = [part.strip() for part in spec.split(",")]
    directory = _near(directory, including)
    try:
        names = sorted(os.listdir(directory))
    except OSError as problem:
        raise SourceError(f"{source}: cannot read conf-dir {directory}: {problem.strerror or problem}") from None
    wanted = [e[1:] for e in extensions if e.startswith("*")]
    skipped = [e for e in extensions if e and not e.startswith("*")]
    files = []
    for name in names:
        if name.endswith("~") or name.startswith(".") or (name.startswith("#") and name.endswith("#")):
            continue
        if wanted and not any(name.endswith(e) for e in wanted):
            continue
        if any(name.endswith(e) for e in skipped):
            continue
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            files.append(path)
    return files


def load_options(path: str, source: str, depth: int = 0) -> list[tuple[str, str, str]]:
    """Every option of a config and the files it pulls in, as (option, value, file)."""
    if depth > _MAX_DEPTH:
        raise SourceError(f"{source}: conf-file/conf-dir nested deeper than {_MAX_DEPTH} at {path}")
    if os.path.isdir(path):
        return [option for included in _conf_dir_files(path, path, source)
                for option in load_options(included, source, depth + 1)]
    collected = []
    for name, value in iter_options(read_lines(path, source, "dnsmasq config", MAX_CONFIG_BYTES)):
        if name in ("conf-file", "c") and value and value != "-":
            collected += load_options(_near(value, path), source, depth + 1)
        elif name in ("conf-dir", "7"):
            for included in _conf_dir_files(value, path, source):
                collected += load_options(included, source, depth + 1)
        elif name in ("dhcp-hostsfile", "dhcp-hostsdir"):
            target = _near(value, path)
            files = _conf_dir_files(target, path, source) if os.path.isdir(target) else [target]
            for hosts_file in files:
                for line in read_lines(hosts_file, source, name, MAX_CONFIG_BYTES):
                    line = _strip_comment(line).strip()
                    if line:
                        collected.append(("dhcp-host", line, hosts_file))
        elif name in DHCP_OPTIONS:
            # Only what DnsmasqSource reads is kept: the DNS half of a config can be large.
            collected.append((name, value, path))
        if len(collected) > MAX_LEASES:
            raise too_many_leases(source, "dnsmasq config", path, MAX_LEASES, "dhcp-range/dhcp-host lines")
    return collected


def _is_ip(text: str) -> bool:
    try:
        IPAddress(text)
    except Exception:  # noqa: BLE001 - netaddr raises several types
        return False
    return ":" in text or bool(_IPV4.match(text))


def parse_dhcp_range(value: str, label: str) -> tuple[DhcpRange | None, str | None]:
    """One ``dhcp-range=`` value as a dynamic range, or a note for static/proxy/constructor ranges."""
    items = [item.strip() for item in value.split(",")]
    tags = []
    while items and not _is_ip(items[0]):
        tag = items.pop(0)
        tags.append(tag.split(":", 1)[1] if tag.startswith(("tag:", "set:", "net:")) else tag)
    if not items:
        raise ValueError("no start address")
    name = label + (f" tag {','.join(tags)}" if tags else "")
    start = IPAddress(items[0])
    rest = items[1:]
    end = None
    if rest and _is_ip(rest[0]):
        end = IPAddress(rest.pop(0))
    modes = []
    while rest and not _is_ip(rest[0]) and not _LEASE_TIME.match(rest[0]):
        modes.append(rest.pop(0).lower())
    subnet = None
    if start.version == 4 and rest and _is_ip(rest[0]):
        subnet = IPNetwork(f"{start}/{rest.pop(0)}").cidr
    if "static" in modes:
        return None, f"{name}: static-only DHCP on {start} (only dhcp-host addresses are handed out)"
    if "proxy" in modes:
        return None, f"{name}: proxy DHCP on {start} (hands out no addresses)"
    if any(mode.startswith("constructor:") for mode in modes) or "ra-only" in modes:
        return None, f"{name}: IPv6 range {value!r} is built from an interface's prefix; not read"
    if end is None:
        raise ValueError("no end address")
    if start.version != end.version:
        raise ValueError("start and end are of different IP versions")
    low, high = sorted((start, end))
    return DhcpRange(addresses=IPRange(low, high), label=name, subnet=subnet), None


def router_option(value: str) -> tuple[list[IPAddress], str | None] | None:
    """The routers in one ``dhcp-option=`` value, or None when it sets another option.

    ``[tag:<tag>,...][encap:<opt>,][vi-encap:<ent>,][vendor:[<class>],]<opt>|option:<name>,[<value>...]``
    (man dnsmasq); old configs (OpenWrt's generated ones among them) write a tag bare or as ``net:``.
    ``0.0.0.0`` means "the address of the machine running dnsmasq", which a config file does not say.
    """
    items = [item.strip() for item in value.split(",")]
    while items and (items[0].lower().startswith(("tag:", "net:", "set:"))
                     or (not items[0].isdigit() and ":" not in items[0])):
        items.pop(0)
    if not items or items[0].lower() not in ROUTER_OPTION:
        return None  # another option, or one inside an encapsulation or vendor class
    routers, note = [], None
    for item in items[1:]:
        if not _IPV4.match(item):
            continue
        address = IPAddress(item, 4)
        if int(address) == 0:
            note = "dhcp-option=3,0.0.0.0: the router offered is dnsmasq's own address, not known from the config"
        else:
            routers.append(address)
    return routers, note


def dhcp_host_fields(value: str) -> tuple[str | None, str | None, str | None, bool]:
    """(IPv4 address, first MAC, hostname, ignore) of one ``dhcp-host=`` value (man dnsmasq, --dhcp-host).

    ``[hwaddr][,id:client_id|*][,set:tag][,tag:tag][,ipaddr][,hostname][,lease_time][,ignore]``;
    a MAC may carry a hardware-type prefix (``1-aa:bb:..``) and ``*`` wildcards. This one
    reading serves dnsmasq.conf, dhcp-hostsfile and Pi-hole's ``dhcp.hosts`` alike.
    """
    macs, ip, hostname, ignore = [], None, None, False
    for item in (part.strip() for part in value.split(",")):
        lower = item.lower()
        if not item or lower.startswith(("id:", "set:", "tag:", "net:")) or item.startswith("["):
            continue
        if lower == "ignore":
            ignore = True
        elif _MAC.match(item):
            macs.append(item.split("-", 1)[1] if "-" in item[:3] and ":" in item else item)
        elif _IPV4.match(item):
            ip = item
        elif _LEASE_TIME.match(item):
            continue
        else:
            hostname = item
    return ip, macs[0] if macs else None, hostname, ignore


def parse_dhcp_host(value: str, source: str) -> Reservation | None:
    """One ``dhcp-host=`` value as a reservation; None when it pins no IPv4 address.

    ``ignore`` still reserves the address: the man page says ignore "tells dnsmasq never
    to offer a DHCP lease to a machine" (it gets one from another server), and dnsmasq
    never hands a dhcp-host address to anyone else either (src/rfc2131.c and src/dhcp.c
    address_allocate skip every address config_find_by_address finds, ignore or not).
    So the address is set aside for that one device, which is what a reservation means.
    """
    ip, mac, hostname, _ = dhcp_host_fields(value)
    if ip is None:
        return None
    try:
        address = IPAddress(ip, 4)
    except Exception:  # noqa: BLE001 - 999.1.1.1 matches the pattern; dnsmasq refuses it too
        return None
    return Reservation(ip=address, mac=normal_mac(mac), hostname=hostname, source=source)


# --- the lease file ------------------------------------------------------------------------------

def leases_from_dnsmasq(lines: Iterable[str] | str, source: str, now: datetime,
                        file_name: str = "lease file") -> tuple[list[Lease], list[str]]:
    """Active leases in a dnsmasq lease file, plus notes on expired or unreadable lines.

    A later line for the same address replaces an earlier one, so a file of repeats
    costs memory per address, not per line; past MAX_LEASES addresses it is refused.
    """
    leases: dict[IPAddress, Lease] = {}
    expired = bad = 0
    ipv6 = False
    for line in lines.splitlines() if isinstance(lines, str) else lines:
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "duid":
            ipv6 = True
            continue
        if len(fields) < 4:
            bad += 1
            continue
        try:
            expiry = int(fields[0])
            ip = IPAddress(fields[2])
        except Exception:  # noqa: BLE001 - skip the line, as dnsmasq would
            bad += 1
            continue
        expires = None if expiry == 0 else from_epoch(expiry)
        if expires is not None and expires <= now:
            expired += 1
            continue
        mac = None if ipv6 else normal_mac(fields[1])
        hostname = None if fields[3] == "*" else fields[3]
        leases[ip] = Lease(ip=ip, mac=mac, hostname=hostname, expires=expires, source=source)
        if len(leases) > MAX_LEASES:
            raise too_many_leases(source, "dnsmasq lease file", file_name, MAX_LEASES)
    notes = []
    if expired:
        notes.append(f"{expired} expired lease(s) in {file_name} not counted")
    if bad:
        notes.append(f"{bad} unreadable line(s) in {file_name} skipped")
    return sorted(leases.values(), key=lambda lease: (lease.ip.version, lease.ip)), notes


def read_dnsmasq_leases(path: str, source: str, now: datetime) -> tuple[list[Lease], list[str]]:
    return leases_from_dnsmasq(read_lines(path, source, "dnsmasq lease file"), source, now, os.path.basename(path))


class DnsmasqSource(DhcpSource):
    """dnsmasq.conf (with conf-file/conf-dir) and dnsmasq's lease file, read from disk."""

    scheme = "dnsmasq"
    example = "dnsmasq:/etc/dnsmasq.conf?leases=/var/lib/misc/dnsmasq.leases"

    def read(self, now: datetime | None = None) -> DhcpFacts:
        target = parse_file_uri(self.uri)
        label = f"dnsmasq {target.path}"
        ranges: list[DhcpRange] = []
        reservations: list[Reservation] = []
        notes: list[str] = []
        routers: list[IPAddress] = []
        router_set = False  # an option 3 line, even an empty one ("send no router")
        lease_file = None
        lease_file_ro = False
        for name, value, where in load_options(target.path, self.uri):
            if name in ("dhcp-range", "f"):
                try:
                    dhcp_range, note = parse_dhcp_range(value, label)
                except Exception as problem:  # noqa: BLE001 - ValueError and netaddr's errors alike
                    raise SourceError(f"{self.uri}: bad dhcp-range={value} in {where} ({problem})") from None
                if dhcp_range:
                    ranges.append(dhcp_range)
                if note:
                    notes.append(note)
            elif name in ("dhcp-host", "g"):
                reservation = parse_dhcp_host(value, self.uri)
                if reservation:
                    reservations.append(reservation)
            elif name in ("dhcp-leasefile", "dhcp-lease-file", "l"):
                lease_file = _near(value, where)
            elif name == "leasefile-ro":
                lease_file_ro = True
            elif name == "read-ethers":
                notes.append("read-ethers: static hosts in /etc/ethers are not read")
            elif name in ("dhcp-option", "O", "dhcp-option-force"):
                found = router_option(value)
                if found is not None:
                    router_set = True
                    routers += [r for r in found[0] if r not in routers]
                    notes += [found[1]] if found[1] else []
        if not ranges:
            notes.append("no dynamic dhcp-range in the config")
        elif not router_set:
            notes.append("no dhcp-option=3: dnsmasq offers its own address as the router")
        why_not = None
        if lease_file_ro and not lease_file:
            why_not = "leasefile-ro: dnsmasq keeps no lease file; leases unknown"
        lease_path = resolve_lease_file(target, lease_file or DEFAULT_LEASE_FILE, notes, why_not)
        leases = read_leases(lease_path, read_dnsmasq_leases, self.uri, now, notes)
        return DhcpFacts(source=self.uri, ranges=tuple(ranges), leases=tuple(leases),
                         reservations=tuple(reservations), notes=tuple(notes), routers=tuple(routers))
