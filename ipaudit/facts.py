"""Assemble one Lan from everything the user gave: options, scan inventories and DHCP sources.

The subnet, per address family: ``--subnet``, then a scan inventory, then a DHCP
source's subnet or offer that holds the pools, then a local interface that holds
them, then any DHCP source's subnet; when nothing knows, the /24 holding the IPv4
DHCP range and the pools is assumed, and marked so (checks warn about it).

The gateway: ``--gateway``, then the kernel's default route through the interface
holding the subnet, then the DHCP sources' router option, then DHCP offers. Every
router anyone named is kept in ``Lan.routers``: all are protected, and when they
disagree the report names each one instead of trusting whichever answered first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from netaddr import IPAddress, IPNetwork, IPRange

from ipaudit.addresses import format_range, parse_ip, parse_network, parse_spec
from ipaudit.addressset import AddressSet
from ipaudit.errors import IpauditError, SpecError
from ipaudit.model import ClusterNode, DhcpFacts, DhcpRange, Host, Inventory, KnownRouter, KnownSubnet, Lan, Lease
from ipaudit.sources.interface import SourceOptions


@dataclass(frozen=True)
class LanOptions:
    """The LAN facts typed on the command line, still as text."""

    subnet: str | None = None
    gateway: str | None = None
    #: More subnets, at most one per address family (``subnet`` counts as one of them).
    subnets: tuple[str, ...] = ()
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
    inventories: tuple[Inventory, ...] = ()
    if query.inventories:  # the reader (and its JSON decoder) loads only when there is a file to read
        from ipaudit.inventory import load_inventory

        inventories = tuple(load_inventory(path) for path in query.inventories)
    return LanFacts(inventories, tuple(read_dhcp_sources(query.dhcp_sources, query.source_options)))


def build_lan(query: LanQuery, anchor: AddressSet | None = None, live: Sequence[Inventory] = (),
              facts: LanFacts | None = None) -> Lan:
    """The Lan for ``query``; ``live`` adds inventories a probe just took; ``facts`` those already read."""
    facts = facts if facts is not None else read_lan_facts(query)
    from ipaudit.sources import local_interfaces

    lookup = local_interfaces.subnet_containing if query.local_interfaces else None
    route_lookup = local_interfaces.default_gateway if query.local_interfaces else None
    return assemble_lan(query.options, [*facts.inventories, *live], facts.dhcp_facts, anchor=anchor,
                        local_lookup=lookup, route_lookup=route_lookup)


#: An assumed subnet is at most this wide: a home router's LAN is a /24 far more often than anything else.
ASSUMED_PREFIX = 24


def typed_subnets(options: LanOptions) -> dict[int, IPNetwork]:
    """``--subnet`` values by address family; two of one family is an error, never "the last one wins"."""
    found: dict[int, IPNetwork] = {}
    texts = [t for text in ((options.subnet,) if options.subnet else ()) + options.subnets for t in text.split(",")]
    for text in texts:
        network = parse_network(text)
        if network.version in found and found[network.version] != network:
            raise SpecError(f"two IPv{network.version} subnets given ({found[network.version]} and {network}): "
                            "give --subnet once per address family")
        found[network.version] = network
    return found


def _holds(network: IPNetwork, addresses: AddressSet) -> bool:
    return bool(addresses) and addresses.issubset(AddressSet([network]))


def _family(addresses: AddressSet, version: int) -> AddressSet:
    return AddressSet(r for r in addresses.iter_ipranges() if r.version == version)


def _assumed(anchor: AddressSet, dhcp: AddressSet) -> KnownSubnet | None:
    """The /24 holding the IPv4 DHCP ranges and the checked addresses, when one does (else None)."""
    if not anchor or not dhcp:
        return None
    both = anchor | dhcp
    network = IPNetwork(f"{next(iter(both))}/{ASSUMED_PREFIX}").cidr
    if not both.issubset(AddressSet([network])):
        return None
    return KnownSubnet(network, f"assumed: the /{ASSUMED_PREFIX} holding the DHCP range", assumed=True)


def _pick_subnet(version: int, typed: dict[int, IPNetwork], inventories: Sequence[Inventory],
                 dhcp_facts: Sequence[DhcpFacts], anchor: AddressSet, dhcp: AddressSet,
                 local_lookup) -> KnownSubnet | None:
    if version in typed:
        return KnownSubnet(typed[version], "--subnet")
    for inventory in inventories:
        if inventory.subnet is not None and inventory.subnet.version == version:
            return KnownSubnet(inventory.subnet, "scan inventory")
    candidates = [KnownSubnet(r.subnet, r.label) for facts in dhcp_facts for r in facts.ranges
                  if r.subnet is not None and r.subnet.version == version]
    candidates += [KnownSubnet(s.subnet, f"DHCP offer from {s.server_id or s.mac}")
                   for inventory in inventories for s in inventory.dhcp_servers
                   if s.subnet is not None and s.subnet.version == version]
    for candidate in candidates:
        if _holds(candidate.network, anchor):
            return candidate
    if anchor and local_lookup is not None:
        local = local_lookup(anchor)
        if local is not None:
            return KnownSubnet(local.network, f"interface {local.interface}")
    if candidates:
        return candidates[0]
    return _assumed(anchor, dhcp) if version == 4 else None


def pick_subnets(options: LanOptions, inventories: Sequence[Inventory], dhcp_facts: Sequence[DhcpFacts],
                 anchor: AddressSet, dhcp: AddressSet, local_lookup=None) -> tuple[KnownSubnet, ...]:
    """One subnet per family that the options, the checked addresses or the DHCP ranges involve."""
    typed = typed_subnets(options)
    versions = sorted(set(typed) | {r.version for r in (anchor | dhcp).iter_ipranges()})
    picked = (_pick_subnet(v, typed, inventories, dhcp_facts, _family(anchor, v), _family(dhcp, v), local_lookup)
              for v in versions)
    return tuple(s for s in picked if s is not None)


def _typed_dhcp_ranges(specs: Sequence[str]) -> tuple[tuple[DhcpRange, ...], list[str]]:
    """``--dhcp-range`` values; ``A,B`` (two single addresses) is dnsmasq's own way to write the range A-B."""
    ranges: list[DhcpRange] = []
    notes = []
    for spec in specs:
        parsed = parse_spec(spec).ranges
        if len(parsed) == 2 and all(r.first == r.last for r in parsed) and parsed[0].version == parsed[1].version \
                and parsed[0].first < parsed[1].first:
            joined = IPRange(IPAddress(parsed[0].first, parsed[0].version), IPAddress(parsed[1].last, parsed[1].version))
            notes.append(f"--dhcp-range {spec.strip()}: read as the range {format_range(joined)}, as dnsmasq "
                         "writes dhcp-range=START,END; write START-END to mean a range")
            parsed = (joined,)
        ranges += [DhcpRange(r, "--dhcp-range") for r in parsed]
    return tuple(ranges), notes


def _router_tiers(options: LanOptions, subnets: Sequence[KnownSubnet], dhcp_facts: Sequence[DhcpFacts],
                  servers: Sequence, route_lookup) -> list[list[KnownRouter]]:
    """The routers named at each level of precedence, each level kept to the LAN's subnet of its family."""
    def ours(address: IPAddress) -> bool:
        subnet = next((s.network for s in subnets if s.network.version == address.version), None)
        return subnet is None or address in subnet

    typed = [KnownRouter(parse_ip(options.gateway), "--gateway")] if options.gateway else []
    kernel = []
    ipv4 = next((s.network for s in subnets if s.network.version == 4), None)
    if route_lookup is not None and ipv4 is not None:
        route = route_lookup(ipv4)
        if route is not None:
            kernel.append(KnownRouter(route.gateway, f"default route via {route.interface}"))
    configured = [KnownRouter(router, f"router option of {facts.source}")
                  for facts in dhcp_facts for router in facts.routers if ours(router)]
    offered = [KnownRouter(s.router, f"DHCP offer from {s.server_id or s.mac}")
               for s in servers if s.router is not None and ours(s.router)]
    return [typed, kernel, configured, offered]


def pick_gateway(tiers: Sequence[Sequence[KnownRouter]]) -> tuple[KnownRouter | None, tuple[KnownRouter, ...]]:
    """The gateway of the first level that names any (None when that level disagrees), and every router named."""
    everyone: list[KnownRouter] = []
    for tier in tiers:
        everyone += [r for r in tier if r not in everyone]
    for tier in tiers:
        if tier:
            distinct = {r.address for r in tier}
            return (tier[0] if len(distinct) == 1 else None), tuple(everyone)
    return None, ()


def assemble_lan(options: LanOptions, inventories: Sequence[Inventory] = (), dhcp_facts: Sequence[DhcpFacts] = (),
                 anchor: AddressSet | None = None, local_lookup=None, route_lookup=None) -> Lan:
    """Build the Lan. ``anchor`` is the addresses the subnet must hold (the pools, or the DHCP range).

    ``local_lookup(AddressSet) -> InterfaceAddress | None`` finds a local interface's subnet and
    ``route_lookup(IPNetwork) -> DefaultRoute | None`` the kernel's default route into it; both are
    passed in so tests and offline planning can leave the host's interfaces out.
    """
    hosts = tuple(h for inventory in inventories for h in inventory.hosts)
    in_use = _union(options.in_use) | AddressSet(h.ip for h in hosts)
    dhcp_ranges, notes = _typed_dhcp_ranges(options.dhcp_ranges)
    dhcp_ranges += tuple(r for facts in dhcp_facts for r in facts.ranges)
    reserved = tuple(r for facts in dhcp_facts for r in facts.reservations)
    reserved_addresses = _union(options.reserved)
    nodes = _union(options.nodes)
    leases: tuple[Lease, ...] = tuple(lease for facts in dhcp_facts for lease in facts.leases)
    servers = tuple(s for inventory in inventories for s in inventory.dhcp_servers)

    dhcp = AddressSet(r.addresses for r in dhcp_ranges)
    # Only checked addresses earn an assumed subnet: with nothing but a DHCP range (recommend), no guess.
    subnets = pick_subnets(options, inventories, dhcp_facts, anchor if anchor else dhcp, dhcp if anchor else AddressSet(),
                           local_lookup)
    gateway, routers = pick_gateway(_router_tiers(options, subnets, dhcp_facts, servers, route_lookup))
    notes += [f"{facts.source}: {n}" for facts in dhcp_facts for n in facts.notes]
    return Lan(subnets=subnets, gateway=gateway.address if gateway else None,
               gateway_origin=gateway.origin if gateway else "", routers=routers, dhcp_ranges=dhcp_ranges,
               reserved=reserved, reserved_addresses=reserved_addresses, nodes=nodes, in_use=in_use, hosts=hosts,
               leases=leases, dhcp_servers=servers, notes=tuple(notes),
               cluster_nodes=_cluster_nodes(nodes, hosts, options.node_macs),
               proxied=tuple(block for inventory in inventories for block in inventory.proxied))


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
