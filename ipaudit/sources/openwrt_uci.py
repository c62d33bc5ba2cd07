"""``openwrt:PATH``: the DHCP range and static leases from OpenWrt's UCI files, leases from /tmp/dhcp.leases.

URI forms::

    openwrt:/                         on the router itself: /etc/config/dhcp, /etc/config/network,
                                      leases from the dnsmasq section's leasefile (/tmp/dhcp.leases)
    openwrt:./router-backup           a copy of the router's tree holding etc/config/ (and tmp/dhcp.leases)
    openwrt:./config                  a directory holding the dhcp and network files
    openwrt:./config/dhcp             the dhcp file, with network beside it
    openwrt:./config?leases=./dhcp.leases

The range is computed as OpenWrt's dnsmasq init script does: ``START`` is the
lan network plus ``start`` (default 100), kept inside the subnet; ``END`` is
``START + limit - 1`` (default limit 150), capped below the broadcast address.
Sections with ``ignore 1`` serve nothing; ``dynamicdhcp 0`` serves only static
leases; only ``proto static`` interfaces get DHCP. ``config host`` sections are
the static leases. The lease file is in dnsmasq's format.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from datetime import datetime

from netaddr import IPAddress, IPNetwork, IPRange

from ipaudit.model import DhcpFacts, DhcpRange, Reservation
from ipaudit.sources.dnsmasq import read_dnsmasq_leases
from ipaudit.sources.files import normal_mac, parse_file_uri, read_leases, read_text, resolve_lease_file
from ipaudit.sources.interface import DhcpSource, SourceError

DEFAULT_LEASE_FILE = "/tmp/dhcp.leases"


@dataclass
class Section:
    """One ``config TYPE 'NAME'`` block: options keep their last value, lists every value."""

    type: str
    name: str | None
    options: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)

    def values(self, key: str) -> list[str]:
        """An option or list, as a list (``option mac 'a b'`` and ``list mac`` alike)."""
        if key in self.lists:
            return self.lists[key]
        return self.options[key].split() if key in self.options else []


def parse_uci(text: str, path: str, source: str) -> list[Section]:
    sections: list[Section] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        try:
            words = shlex.split(raw, comments=True)
        except ValueError:
            raise SourceError(f"{source}: {path} line {number}: unbalanced quotes") from None
        if not words:
            continue
        kind = words[0]
        if kind == "package":
            continue
        if kind == "config" and len(words) in (2, 3):
            sections.append(Section(type=words[1], name=words[2] if len(words) == 3 else None))
        elif kind in ("option", "list") and len(words) in (2, 3):
            if not sections:
                raise SourceError(f"{source}: {path} line {number}: '{kind}' before any 'config' section")
            value = words[2] if len(words) == 3 else ""
            if kind == "option":
                sections[-1].options[words[1]] = value
            else:
                sections[-1].lists.setdefault(words[1], []).append(value)
        else:
            raise SourceError(f"{source}: {path} line {number}: not UCI syntax ({raw.strip()[:40]!r})")
    return sections


def _truthy(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.lower() in ("1", "yes", "on", "true", "enabled")


def _interface_network(section: Section, source: str) -> IPNetwork | None:
    addresses = section.values("ipaddr")
    if not addresses:
        return None
    address = addresses[0]
    try:
        if "/" in address:
            return IPNetwork(address)
        return IPNetwork(f"{address}/{section.options.get('netmask', '255.255.255.0')}")
    except Exception:  # noqa: BLE001 - netaddr raises several types
        raise SourceError(f"{source}: interface {section.name}: bad ipaddr/netmask {address!r}") from None


def _number(text: str) -> int:
    """``start`` may be written as a number or, as dnsmasq.init's dhcp_calc allows, dotted."""
    if "." in text:
        return int(IPAddress(text))
    return int(text)


def dhcp_range(interface: IPNetwork, start: int, limit: int, netmask: str | None = None) -> IPRange | None:
    """OpenWrt's ipcalc.sh arithmetic for ``start``/``limit`` on the interface's subnet."""
    network = IPNetwork(f"{interface.ip}/{netmask}") if netmask else interface
    mask, first = int(network.netmask), int(network.network)
    broadcast = int(network.broadcast) if network.broadcast is not None else network.last
    low = max(first | (start & ~mask & 0xFFFFFFFF), first + 1)
    high = min(low + max(limit - 1, 0), broadcast - 1)
    if limit <= 0 or high < low:
        return None
    return IPRange(low, high)


@dataclass(frozen=True)
class _Paths:
    dhcp: str
    network: str
    root: str | None  # a copy of the router's filesystem: lease paths are under it


def _paths(path: str) -> _Paths:
    if os.path.isfile(os.path.join(path, "etc", "config", "dhcp")):
        config = os.path.join(path, "etc", "config")
        return _Paths(os.path.join(config, "dhcp"), os.path.join(config, "network"), path)
    if os.path.isdir(path):
        return _Paths(os.path.join(path, "dhcp"), os.path.join(path, "network"), None)
    return _Paths(path, os.path.join(os.path.dirname(path), "network"), None)


class OpenWrtUciSource(DhcpSource):
    """OpenWrt's /etc/config/dhcp and /etc/config/network (plus its dnsmasq lease file), read from disk."""

    scheme = "openwrt"
    example = "openwrt:/etc/config?leases=/tmp/dhcp.leases"

    def read(self, now: datetime | None = None) -> DhcpFacts:
        target = parse_file_uri(self.uri)
        paths = _paths(target.path)
        dhcp = parse_uci(read_text(paths.dhcp, self.uri, "UCI dhcp file"), paths.dhcp, self.uri)
        network = parse_uci(read_text(paths.network, self.uri, "UCI network file"), paths.network, self.uri)
        interfaces = {s.name: s for s in network if s.type == "interface" and s.name}
        ranges: list[DhcpRange] = []
        notes: list[str] = []
        for section in (s for s in dhcp if s.type == "dhcp"):
            found, note = self._range(section, interfaces, paths)
            if found:
                ranges.append(found)
            if note:
                notes.append(note)
        reservations = self._hosts(dhcp)
        if any(s.type == "odhcpd" and s.options.get("maindhcp") == "1" for s in dhcp):
            notes.append("odhcpd is the main DHCPv4 server (maindhcp 1): its leases are not in dnsmasq's lease file")
        lease_path = resolve_lease_file(target, self._lease_file(dhcp, paths), notes)
        leases = read_leases(lease_path, read_dnsmasq_leases, self.uri, now, notes)
        return DhcpFacts(source=self.uri, ranges=tuple(ranges), leases=tuple(leases),
                         reservations=tuple(reservations), notes=tuple(notes))

    def _range(self, section: Section, interfaces: dict[str, Section], paths: _Paths) -> tuple[DhcpRange | None, str | None]:
        name = section.options.get("interface")
        what = f"dhcp section {section.name or '?'} (interface {name})"
        if _truthy(section.options.get("ignore"), False):
            return None, None
        if not name:
            return None, f"dhcp section {section.name or '?'}: no interface option, OpenWrt serves nothing for it"
        interface = interfaces.get(name)
        if interface is None:
            return None, f"{what}: no such interface in {paths.network}"
        if interface.options.get("proto", "none") != "static":
            return None, f"{what}: interface is not proto static, OpenWrt serves no DHCP on it"
        subnet = _interface_network(interface, self.uri)
        if subnet is None:
            return None, f"{what}: interface has no ipaddr"
        if not _truthy(section.options.get("dynamicdhcp"), True):
            return None, f"{what}: dynamicdhcp 0, only static leases are handed out"
        try:
            start = _number(section.options.get("start") or "100")
            limit = int(section.options.get("limit") or "150")
            address_range = dhcp_range(subnet, start, limit, section.options.get("netmask"))
        except Exception:  # noqa: BLE001 - ValueError and netaddr's errors alike
            raise SourceError(f"{self.uri}: {what}: bad start/limit/netmask") from None
        if address_range is None:
            return None, f"{what}: start/limit leave no addresses"
        label = f"openwrt {paths.dhcp} {section.name or name}"
        return DhcpRange(addresses=address_range, label=label, subnet=subnet.cidr), None

    def _hosts(self, dhcp: list[Section]) -> list[Reservation]:
        reservations = []
        for section in (s for s in dhcp if s.type == "host"):
            addresses = section.values("ip")
            macs = section.values("mac")
            for address in addresses:
                if address.lower() == "ignore":
                    continue
                try:
                    ip = IPAddress(address, version=4)
                except Exception:  # noqa: BLE001
                    raise SourceError(f"{self.uri}: host {section.options.get('name') or section.name}: "
                                      f"bad ip {address!r}") from None
                reservations.append(Reservation(ip=ip, mac=normal_mac(macs[0]) if macs else None,
                                                hostname=section.options.get("name") or section.name, source=self.uri))
        return reservations

    def _lease_file(self, dhcp: list[Section], paths: _Paths) -> str:
        """The dnsmasq section's leasefile (else /tmp/dhcp.leases), inside the copied tree when reading a copy."""
        configured = next((s.options["leasefile"] for s in dhcp if s.type == "dnsmasq" and s.options.get("leasefile")),
                          DEFAULT_LEASE_FILE)
        return os.path.join(paths.root, configured.lstrip("/")) if paths.root else configured
