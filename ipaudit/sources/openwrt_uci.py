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

The rules (which section serves what range) are written once, here, over the shape
``ubus call uci get`` returns; the file reader turns its sections into that shape and
``openwrt+http`` (openwrt_ubus.py) hands its answers straight in, so both agree.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from netaddr import IPAddress, IPNetwork, IPRange

from ipaudit.model import DhcpFacts
from ipaudit.sources.api_records import FactsBuilder, parse_subnet
from ipaudit.sources.dnsmasq import read_dnsmasq_leases, router_option
from ipaudit.sources.files import parse_file_uri, read_leases, read_text, resolve_lease_file
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


def uci_values(sections: list[Section]) -> dict[str, dict[str, Any]]:
    """Sections in the shape ``ubus call uci get`` answers: name -> {".type", ".index", option: str | list}.

    Anonymous sections are named ``@type[n]`` as ``uci show`` names them.
    """
    values: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}
    for index, section in enumerate(sections):
        number = counts[section.type] = counts.get(section.type, -1) + 1
        name = section.name or f"@{section.type}[{number}]"
        values[name] = {".type": section.type, ".index": index, ".anonymous": section.name is None,
                        **section.options, **section.lists}
    return values


# --- OpenWrt's rules, for the file and ubus sources alike ------------------------------------------

def _option_list(value: Any) -> list[str]:
    """UCI options are strings (maybe space-separated) or lists of strings."""
    if isinstance(value, list):
        return [str(item) for item in value]
    if isinstance(value, str):
        return value.split()
    return []


def _truthy(value: Any, default: bool) -> bool:
    """config_get_bool: 1/yes/on/true/enabled are true, 0/no/off/false/disabled false, else the default."""
    text = str(value).strip().lower() if value is not None else ""
    if text in ("1", "yes", "on", "true", "enabled"):
        return True
    if text in ("0", "no", "off", "false", "disabled"):
        return False
    return default


def _number(value: Any, default: int) -> int | None:
    """``start``/``limit``: a number, or (dnsmasq.init dhcp_calc) a dotted quad; None when neither."""
    if value in (None, ""):
        return default
    text = str(value).strip()
    try:
        if "." in text:
            return int(IPAddress(text, 4))
        return int(text, 0) if text.lower().startswith("0x") else int(text)
    except Exception:  # noqa: BLE001 - ValueError and netaddr's errors alike
        return None


def dhcp_pool(interface_ip: IPAddress, netmask_bits: int, start: int, limit: int) -> IPRange | None:
    """The pool ``start``/``limit`` give on a subnet, as dnsmasq.init + ipcalc.sh compute it.

    ``start`` is an offset inside the subnet (host bits only), at least network+1;
    the pool holds ``limit`` addresses (dnsmasq.init passes ``limit-1`` only when
    positive, so 0 still gives one) and stops at broadcast-1.
    """
    if limit < 0:
        return None
    network = IPNetwork(f"{interface_ip}/{netmask_bits}")
    host_mask = int(network.hostmask)
    first = max(network.first | (start & host_mask), network.first + 1)
    last = min(first + max(limit - 1, 0), network.last - 1)
    if last < first:
        return None
    return IPRange(first, last)


def _with_end(pool: IPRange | None, end_value: Any, address: IPAddress, prefix: int, start: int, label: str,
              facts: FactsBuilder) -> IPRange | None:
    """A section with ``option end``: the wider of the two readings, and a note saying so.

    Stock dnsmasq.init (dhcp_add) reads only ``start`` and ``limit`` and ignores ``end``; vendor
    firmware that writes ``end`` into the dhcp section serves ``start`` to ``end``. ipaudit cannot
    tell which firmware wrote the file, so it keeps every address either reading may lease:
    calling a pool address free that the router hands out is the one mistake an auditor must not make.
    """
    end = _number(end_value, 0)
    if end is None:
        facts.note(f"{label}: option end {end_value!r} is not a number or an address; only start/limit were read")
        return pool
    network = IPNetwork(f"{address}/{prefix}")
    host_mask = int(network.hostmask)
    first = max(network.first | (start & host_mask), network.first + 1)
    last = min(network.first | (end & host_mask), network.last - 1)
    if last < first:
        facts.note(f"{label}: option end {end_value!r} lies before start; only start/limit were read")
        return pool
    by_end = IPRange(first, last)
    wider = by_end if pool is None else IPRange(min(pool.first, first), max(pool.last, last))
    limit_text = "nothing" if pool is None else f"{IPAddress(pool.first)}-{IPAddress(pool.last)}"
    facts.note(f"{label}: option end {end_value!r}: stock OpenWrt ignores it (start/limit give {limit_text}), "
               f"firmware that writes it serves {IPAddress(by_end.first)}-{IPAddress(by_end.last)}; the wider "
               f"{IPAddress(wider.first)}-{IPAddress(wider.last)} is kept")
    return wider


def _sections(values: dict, section_type: str) -> list[tuple[str, dict]]:
    found = [(name, body) for name, body in values.items()
             if isinstance(body, dict) and body.get(".type") == section_type]
    return sorted(found, key=lambda item: item[1].get(".index", 0))


def _interface_subnet(network_values: dict, interface: str, netmask_override: Any) -> tuple[IPAddress, int] | str:
    """The interface's own address and prefix length, or a note saying why there is none."""
    body = network_values.get(interface)
    if not isinstance(body, dict) or body.get(".type") != "interface":
        return f"no 'config interface {interface}' in /etc/config/network"
    # openwrt package/network/services/dnsmasq/files/dnsmasq.init dhcp_add:
    #   network_get_protocol proto "$net" || return 0
    #   # Do not support non-static interfaces for now
    #   [ static = "$proto" ] || return 0
    # netifd reports an interface with no ``option proto`` as proto "none", so it gets no range.
    proto = body.get("proto") or "none"
    if proto != "static":
        return f"interface {interface} is not static (proto {proto}); OpenWrt serves no DHCP range on it"
    for candidate in _option_list(body.get("ipaddr")):
        address_text, _, prefix = candidate.partition("/")
        # dnsmasq.init lets the dhcp section's own netmask override the interface's.
        subnet = parse_subnet(address_text, netmask_override or prefix or body.get("netmask"))
        if subnet is not None and subnet.version == 4:
            return IPAddress(address_text), subnet.prefixlen
    return f"interface {interface} has no IPv4 address with a netmask"


def ranges_from_uci(dhcp_values: dict, network_values: dict, facts: FactsBuilder, origin: str = "openwrt") -> None:
    """Add one range per serving ``config dhcp`` section (pure: the two ``uci get`` answers in).

    Follows dnsmasq.init dhcp_add: no ``interface`` or ``ignore 1`` serves nothing,
    ``dhcpv4 disabled`` writes no dhcp-range, ``dynamicdhcp 0`` makes it static-only.
    """
    for name, section in _sections(dhcp_values, "dhcp"):
        interface = section.get("interface")
        label = f"dhcp.{name}"
        if not isinstance(interface, str) or not interface:
            facts.note(f"{label}: no interface option, OpenWrt serves nothing for it")
            continue
        if _truthy(section.get("ignore"), False) or str(section.get("dhcpv4", "")).lower() == "disabled":
            facts.note(f"{label}: DHCP is switched off on {interface} (ignore)")
            continue
        if not _truthy(section.get("dynamicdhcp"), True):
            facts.note(f"{label}: dynamicdhcp 0, only static leases are served on {interface}")
            continue
        where = _interface_subnet(network_values, interface, section.get("netmask"))
        if isinstance(where, str):
            facts.note(f"{label}: {where}")
            continue
        address, prefix = where
        start, limit = _number(section.get("start"), 100), _number(section.get("limit"), 150)
        if start is None or limit is None:
            facts.note(f"{label}: start/limit are not numbers ({section.get('start')!r}, {section.get('limit')!r})")
            continue
        pool = dhcp_pool(address, prefix, start, limit)
        if section.get("end") not in (None, ""):
            pool = _with_end(pool, section.get("end"), address, prefix, start, label, facts)
        if pool is None:
            facts.note(f"{label}: start {start} / limit {limit} leave no addresses on {address}/{prefix}")
            continue
        facts.add_range(str(IPAddress(pool.first, pool.version)), str(IPAddress(pool.last, pool.version)), f"{origin} {label} ({interface})",
                        subnet=IPNetwork(f"{address}/{prefix}").cidr)
        for router in _routers(section, address):
            facts.add_router(str(router), what=f"{label} router")


def _routers(section: dict, interface_address: IPAddress) -> list[IPAddress]:
    """What dnsmasq offers as the router: ``list dhcp_option '3,IP'`` (or option:router), else its own address.

    dnsmasq.init passes each dhcp_option to dnsmasq as ``dhcp-option=<tag>,<value>``; with no option 3,
    dnsmasq names its own address on the interface (man dnsmasq, --dhcp-option).
    """
    for key in ("dhcp_option", "dhcp_option_force"):
        for value in _option_list(section.get(key)):
            found = router_option(value)
            if found is not None:
                return found[0]
    return [interface_address]


def reservations_from_uci(dhcp_values: dict, facts: FactsBuilder) -> None:
    """``config host`` static leases; ``ip 'ignore'`` pins nothing (dnsmasq.init writes no address)."""
    for _, host in _sections(dhcp_values, "host"):
        macs = _option_list(host.get("mac"))
        for ip in _option_list(host.get("ip")):
            if ip.lower() != "ignore":
                facts.add_reservation(ip, macs[0] if macs else None, host.get("name"),
                                      what="static lease (config host)")


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
        dhcp = uci_values(parse_uci(read_text(paths.dhcp, self.uri, "UCI dhcp file"), paths.dhcp, self.uri))
        network = uci_values(parse_uci(read_text(paths.network, self.uri, "UCI network file"), paths.network,
                                       self.uri))
        facts = FactsBuilder(self.uri)
        ranges_from_uci(dhcp, network, facts, origin=f"openwrt {paths.dhcp}")
        reservations_from_uci(dhcp, facts)
        if any(body.get("maindhcp") == "1" for _, body in _sections(dhcp, "odhcpd")):
            facts.note("odhcpd is the main DHCPv4 server (maindhcp 1): its leases are not in dnsmasq's lease file")
        notes = list(facts.notes)
        lease_path = resolve_lease_file(target, self._lease_file(dhcp, paths), notes)
        leases = read_leases(lease_path, read_dnsmasq_leases, self.uri, now, notes)
        return DhcpFacts(source=self.uri, ranges=tuple(facts.ranges), leases=tuple(leases),
                         reservations=tuple(facts.reservations), notes=tuple(notes), routers=tuple(facts.routers))

    @staticmethod
    def _lease_file(dhcp: dict, paths: _Paths) -> str:
        """The dnsmasq section's leasefile (else /tmp/dhcp.leases), inside the copied tree when reading a copy."""
        configured = next((str(body["leasefile"]) for _, body in _sections(dhcp, "dnsmasq") if body.get("leasefile")),
                          DEFAULT_LEASE_FILE)
        return os.path.join(paths.root, configured.lstrip("/")) if paths.root else configured
