"""Assemble one Lan from everything the user gave: options, scan inventories and DHCP sources.

Precedence for the subnet: ``--subnet``, then a scan inventory, then a DHCP
source's subnet or offer that holds the pools, then a local interface that
holds them. Where it came from is kept in ``Lan.subnet_origin`` for the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from netaddr import IPNetwork

from ipaudit.addresses import parse_ip, parse_network, parse_spec
from ipaudit.addressset import AddressSet
from ipaudit.errors import IpauditError
from ipaudit.model import ClusterNode, DhcpFacts, DhcpRange, Host, Inventory, Lan, Lease
from ipaudit.sources.interface import SourceOptions


@dataclass(frozen=True)
class LanOptions:
    """The LAN facts typed on the command line, still as text."""

    subnet: str | None = None
    gateway: str | None = None
    dhcp_ranges: tuple[str, ...] = ()
    reserved: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()
    in_use: tuple[str, ...] = ()
    #: --node-mac: the MACs the cluster's nodes answer ARP from, each item possibly comma-separated.
    node_macs: tuple[str, ...] = ()


@dataclass(frozen=True)
class LanQuery:
    """Where the LAN's facts come from: typed options, scan inventory files and DHCP source URIs."""

    options: LanOptions = field(default_factory=LanOptions)
    inventories: tuple[str, ...] = ()
    dhcp_sources: tuple[str, ...] = ()
    source_options: SourceOptions = field(default_factory=SourceOptions)
    #: Look the subnet up on this machine's interfaces (no packet sent); tests and offline planning say no.
    local_interfaces: bool = True


def read_dhcp_sources(uris: Sequence[str], options: SourceOptions) -> list[DhcpFacts]:
    """Each source's facts; their notes (leases unknown, hook not loaded ...) travel in Lan.notes."""
    if not uris:
        return []
    from ipaudit.sources.registry import open_source

    return [open_source(uri, options).read() for uri in uris]


@dataclass(frozen=True)
class LanFacts:
    """What the files and servers of a LanQuery hold, read but not yet assembled."""

    inventories: tuple[Inventory, ...] = ()
    dhcp_facts: tuple[DhcpFacts, ...] = ()


def read_lan_facts(query: LanQuery) -> LanFacts:
    """Read the inventory files and DHCP sources; done before a live probe drops the process's privileges."""
    from ipaudit.inventory import load_inventory

    return LanFacts(tuple(load_inventory(path) for path in query.inventories),
                    tuple(read_dhcp_sources(query.dhcp_sources, query.source_options)))


def build_lan(query: LanQuery, anchor: AddressSet | None = None, live: Sequence[Inventory] = (),
              facts: LanFacts | None = None) -> Lan:
    """The Lan for ``query``; ``live`` adds inventories a probe just took; ``facts`` those already read."""
    facts = facts if facts is not None else read_lan_facts(query)
    lookup = None
    if query.local_interfaces:
        from ipaudit.sources.local_interfaces import subnet_containing as lookup
    return assemble_lan(query.options, [*facts.inventories, *live], facts.dhcp_facts, anchor=anchor,
                        local_lookup=lookup)


def _holds(network: IPNetwork, addresses: AddressSet) -> bool:
    return bool(addresses) and addresses.issubset(AddressSet([network]))


def _pick_subnet(options: LanOptions, inventories: Sequence[Inventory], dhcp_facts: Sequence[DhcpFacts],
                 anchor: AddressSet, local_lookup) -> tuple[IPNetwork | None, str]:
    if options.subnet:
        return parse_network(options.subnet), "--subnet"
    for inventory in inventories:
        if inventory.subnet is not None:
            return inventory.subnet, "scan inventory"
    candidates = [(r.subnet, r.label) for facts in dhcp_facts for r in facts.ranges if r.subnet is not None]
    candidates += [(s.subnet, f"DHCP offer from {s.server_id or s.mac}")
                   for inventory in inventories for s in inventory.dhcp_servers if s.subnet is not None]
    for subnet, label in candidates:
        if _holds(subnet, anchor):
            return subnet, label
    if anchor and local_lookup is not None:
        local = local_lookup(anchor)
        if local is not None:
            return local.network, f"interface {local.interface}"
    if candidates:
        return candidates[0]
    return None, ""


def assemble_lan(options: LanOptions, inventories: Sequence[Inventory] = (), dhcp_facts: Sequence[DhcpFacts] = (),
                 anchor: AddressSet | None = None, local_lookup=None) -> Lan:
    """Build the Lan. ``anchor`` is the addresses the subnet must hold (the pools, or the DHCP range).

    ``local_lookup(AddressSet) -> InterfaceAddress | None`` finds a local interface's subnet; it is passed
    in so tests and offline planning can leave the host's interfaces out.
    """
    hosts = tuple(h for inventory in inventories for h in inventory.hosts)
    in_use = _union(options.in_use) | AddressSet(h.ip for h in hosts)
    dhcp_ranges = tuple(DhcpRange(r, "--dhcp-range") for spec in options.dhcp_ranges for r in parse_spec(spec).ranges)
    dhcp_ranges += tuple(r for facts in dhcp_facts for r in facts.ranges)
    reserved = tuple(r for facts in dhcp_facts for r in facts.reservations)
    reserved_addresses = _union(options.reserved)
    nodes = _union(options.nodes)
    leases: tuple[Lease, ...] = tuple(lease for facts in dhcp_facts for lease in facts.leases)
    servers = tuple(s for inventory in inventories for s in inventory.dhcp_servers)

    anchor = anchor if anchor else AddressSet(r.addresses for r in dhcp_ranges)
    subnet, origin = _pick_subnet(options, inventories, dhcp_facts, anchor, local_lookup)
    gateway = parse_ip(options.gateway) if options.gateway else _offered_router(servers, subnet)
    return Lan(subnet=subnet, subnet_origin=origin, gateway=gateway, dhcp_ranges=dhcp_ranges,
               reserved=reserved, reserved_addresses=reserved_addresses, nodes=nodes, in_use=in_use, hosts=hosts, leases=leases,
               dhcp_servers=servers,
               notes=tuple(f"{facts.source}: {n}" for facts in dhcp_facts for n in facts.notes),
               cluster_nodes=_cluster_nodes(nodes, hosts, options.node_macs))


#: A MAC as people write it: six octets separated by ':' or '-', or Cisco's three dotted groups.
MAC_TEXT = re.compile(r"[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}|[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}")


def parse_macs(specs: Iterable[str]) -> tuple[str, ...]:
    """``--node-mac`` values (repeatable, comma-separated) as lower-case colon-separated MACs."""
    macs = []
    for spec in specs:
        for item in (part.strip().lower() for part in spec.split(",")):
            if not MAC_TEXT.fullmatch(item):
                raise IpauditError(f"--node-mac {item!r} is not a MAC address", hint="write it like 02:1a:00:00:00:0b")
            digits = re.sub(r"[^0-9a-f]", "", item)
            if int(digits[:2], 16) & 1:
                raise IpauditError(f"--node-mac {item!r} is a multicast or broadcast MAC, never a node's own")
            macs.append(":".join(digits[i:i + 2] for i in range(0, 12, 2)))
    return tuple(dict.fromkeys(macs))


def _cluster_nodes(nodes: AddressSet, hosts: Sequence[Host], node_macs: Sequence[str]) -> tuple[ClusterNode, ...]:
    """The nodes' MACs: each --node address seen answering ARP (scan or probe), and each --node-mac."""
    found = [ClusterNode(mac=mac.lower().replace("-", ":"), ip=host.ip)
             for host in hosts if host.ip in nodes for mac in host.macs]
    return tuple(dict.fromkeys(found + [ClusterNode(mac=mac) for mac in parse_macs(node_macs)]))


def _union(specs: Iterable[str]) -> AddressSet:
    return AddressSet(r for spec in specs for r in parse_spec(spec).ranges)


def _offered_router(servers: Sequence, subnet: IPNetwork | None):
    for server in servers:
        if server.router is not None and (subnet is None or server.router in subnet):
            return server.router
    return None

