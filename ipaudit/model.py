"""What ipaudit knows about a LAN: frozen records that every source (wire, files, APIs) yields.

The planner in ``ipaudit.plan`` reads only these types, so a fact learned from a
scan, a lease file or a router API is checked the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime
from enum import Enum

from netaddr import IPAddress, IPNetwork, IPRange

from ipaudit.addressset import AddressSet


class Severity(str, Enum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    """One thing wrong (or worth knowing); ``code`` is stable kebab-case, part of the JSON contract.

    Make findings with ``ipaudit.findings.finding``, which fills the severity and key from the registry.
    """

    code: str
    severity: Severity
    message: str
    addresses: tuple[str, ...] = ()
    pool: str | None = None
    #: The identity key (code plus subject, see ipaudit.findings): equal across runs seeing the same problem.
    key: str = ""


@dataclass(frozen=True)
class Pool:
    """A load-balancer address pool, proposed on the command line or read from a manifest."""

    name: str
    ranges: tuple[IPRange, ...]
    kind: str = "cli"  # cli, metallb, metallb-configmap, cilium, kube-vip
    source: str = "command line"
    auto_assign: bool = True
    avoid_buggy_ips: bool = False
    cidrs_with_host_bits: tuple[str, ...] = ()
    # From manifests (ipaudit.controllers): ``ranges`` above are the addresses the controller can hand out;
    # ``declared`` keeps the entries as written, for messages.
    declared: tuple[str, ...] = ()
    namespace: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    protocol: str | None = None  # MetalLB legacy ConfigMap: layer2 or bgp
    # kube-vip: the namespace whose Services this pool serves, or None for a global pool.
    service_namespace: str | None = None

    @cached_property
    def addresses(self) -> AddressSet:
        return AddressSet(self.ranges)

    @property
    def size(self) -> int:
        return self.addresses.size


@dataclass(frozen=True)
class DhcpRange:
    """An address range a DHCP server hands out dynamically; ``label`` says who told us."""

    addresses: IPRange
    label: str
    subnet: IPNetwork | None = None


@dataclass(frozen=True)
class Lease:
    """An active DHCP lease."""

    ip: IPAddress
    mac: str | None = None
    hostname: str | None = None
    expires: datetime | None = None
    source: str = ""


@dataclass(frozen=True)
class Reservation:
    """A static lease / host reservation: the address belongs to one device even when it is off."""

    ip: IPAddress
    mac: str | None = None
    hostname: str | None = None
    source: str = ""


@dataclass(frozen=True)
class DhcpFacts:
    """Everything one DHCP source (a server config, a lease file, a router API) told us."""

    source: str
    ranges: tuple[DhcpRange, ...] = ()
    leases: tuple[Lease, ...] = ()
    reservations: tuple[Reservation, ...] = ()
    notes: tuple[str, ...] = ()
    #: The router option the server hands its clients (dnsmasq option 3, ISC/Kea ``routers``), in config order.
    routers: tuple[IPAddress, ...] = ()


@dataclass(frozen=True)
class Host:
    """A live IP and every distinct MAC that answered for it."""

    ip: IPAddress
    macs: tuple[str, ...]
    vendor: str | None = None
    #: From a DHCP lease or source, when one names the address (outside text: sanitised when shown).
    hostname: str | None = None


@dataclass(frozen=True)
class DhcpServer:
    """A DHCP server seen answering a DISCOVER (or seen offering/acking passively).

    ``source_ip`` is the IP source of its packet: with ``mac`` it tells a server from a
    rogue that copies its id (option 54), which costs nothing to forge.
    """

    server_id: IPAddress | None
    mac: str | None
    offered_ip: IPAddress | None = None
    subnet_mask: IPAddress | None = None
    router: IPAddress | None = None
    dns: tuple[IPAddress, ...] = ()
    lease_time: int | None = None
    relay: IPAddress | None = None
    source_ip: IPAddress | None = None

    @property
    def subnet(self) -> IPNetwork | None:
        """The offered address's network; None when unknown or the mask is no netmask (255.0.255.0)."""
        if self.offered_ip is None or self.subnet_mask is None or not self.subnet_mask.is_netmask():
            return None
        return IPNetwork(f"{self.offered_ip}/{self.subnet_mask}").cidr


@dataclass(frozen=True)
class ProxiedBlock:
    """Addresses a router answers ARP for because it routes them (proxy ARP): its MAC, not devices."""

    block: IPNetwork
    mac: str
    router: IPAddress | None = None


@dataclass(frozen=True)
class Inventory:
    """What a scan saw on the wire; ``ipaudit scan --format json`` writes it, ``--inventory`` reads it."""

    hosts: tuple[Host, ...] = ()
    dhcp_servers: tuple[DhcpServer, ...] = ()
    interface: str | None = None
    subnet: IPNetwork | None = None
    findings: tuple[Finding, ...] = ()
    #: Blocks the router answers for by proxy ARP: their hosts are the router's MAC, not devices.
    proxied: tuple[ProxiedBlock, ...] = ()


def usable(subnet: IPNetwork) -> AddressSet:
    """The subnet without its network and broadcast addresses (IPv4 /30 and wider; IPv6 anycast)."""
    if subnet.version == 4 and subnet.prefixlen <= 30:
        return AddressSet([subnet]) - AddressSet([subnet.network, subnet.broadcast])
    if subnet.version == 6 and subnet.prefixlen <= 126:
        return AddressSet([subnet]) - AddressSet([subnet.network])  # the subnet-router anycast address
    return AddressSet([subnet])


@dataclass(frozen=True)
class ClusterNode:
    """A cluster node as the LAN sees it: the MAC it answers ARP from, and its IP and name when known.

    A node answers ARP for every VIP it announces, so a pool address answered only by
    these MACs is the cluster's own live VIP, not a conflict.
    """

    mac: str
    ip: IPAddress | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        """``worker-1 (198.51.100.11, 02:..)``: the name when known, else the IP, else the MAC."""
        if self.name:
            return f"{self.name} ({', '.join(str(p) for p in (self.ip, self.mac) if p is not None)})"
        return f"{self.ip} ({self.mac})" if self.ip is not None else self.mac


@dataclass(frozen=True)
class KnownSubnet:
    """The LAN's subnet of one address family, and who told us (``--subnet``, ``interface eth0`` ...)."""

    network: IPNetwork
    origin: str
    #: Guessed (the /24 holding the DHCP range and the pools), not learned: checks say so.
    assumed: bool = False


@dataclass(frozen=True)
class KnownRouter:
    """A router address somebody named, and who: ``--gateway``, the kernel's default route, a DHCP source or offer."""

    address: IPAddress
    origin: str


@dataclass(frozen=True)
class Lan:
    """All facts about one LAN that the planner checks pools against.

    ``subnet`` is the IPv4 subnet when one is known (else the only one), for callers that think in one
    family; ``subnets`` holds one per family, and ``subnet_for(version)`` picks a pool range's own.
    """

    subnet: IPNetwork | None = None
    subnet_origin: str = ""
    gateway: IPAddress | None = None
    #: Who named ``gateway``; empty when it was built directly.
    gateway_origin: str = ""
    #: Every router named by anyone, in precedence order: all are protected, and disagreement is reported.
    routers: tuple[KnownRouter, ...] = ()
    subnets: tuple[KnownSubnet, ...] = ()
    dhcp_ranges: tuple[DhcpRange, ...] = ()
    reserved: tuple[Reservation, ...] = ()
    # Addresses typed with --reserved: no MAC or name, and possibly whole ranges.
    reserved_addresses: AddressSet = field(default_factory=AddressSet)
    nodes: AddressSet = field(default_factory=AddressSet)
    in_use: AddressSet = field(default_factory=AddressSet)
    hosts: tuple[Host, ...] = ()
    leases: tuple[Lease, ...] = ()
    dhcp_servers: tuple[DhcpServer, ...] = ()
    #: Blocks a router answers ARP for by proxy ARP (from a scan): claimed by the router, not by devices.
    proxied: tuple[ProxiedBlock, ...] = ()
    notes: tuple[str, ...] = ()
    #: The nodes whose MACs are known (from --node-mac, or a --node IP seen answering ARP).
    cluster_nodes: tuple[ClusterNode, ...] = ()
    #: VIPs a Service's status holds (in use, not only requested), with the Service (namespace/name).
    assigned_vips: tuple[tuple[IPAddress, str], ...] = ()

    def __post_init__(self):
        # Accept any address collection (an IPSet, a list of ranges) and keep AddressSets.
        for name in ("reserved_addresses", "nodes", "in_use"):
            value = getattr(self, name)
            if not isinstance(value, AddressSet):
                object.__setattr__(self, name, AddressSet(value))
        # ``subnet`` and ``subnets`` describe one thing: fill whichever the caller left out.
        if not self.subnets and self.subnet is not None:
            object.__setattr__(self, "subnets", (KnownSubnet(self.subnet, self.subnet_origin),))
        elif self.subnets and self.subnet is None:
            primary = next((s for s in self.subnets if s.network.version == 4), self.subnets[0])
            object.__setattr__(self, "subnet", primary.network)
            object.__setattr__(self, "subnet_origin", primary.origin)
        if self.gateway is not None and not any(r.address == self.gateway for r in self.routers):
            object.__setattr__(self, "routers", (KnownRouter(self.gateway, self.gateway_origin or "gateway"),
                                                 *self.routers))

    def subnet_for(self, version: int) -> KnownSubnet | None:
        """The LAN's subnet of address family ``version`` (4 or 6), if known."""
        return next((s for s in self.subnets if s.network.version == version), None)

    # Derived sets are cached: the planner asks for them once per pool.
    @cached_property
    def dhcp_set(self) -> AddressSet:
        return AddressSet(r.addresses for r in self.dhcp_ranges)

    @cached_property
    def reserved_set(self) -> AddressSet:
        return AddressSet(r.ip for r in self.reserved) | self.reserved_addresses

    @cached_property
    def leased_set(self) -> AddressSet:
        return AddressSet(lease.ip for lease in self.leases)

    @cached_property
    def owned_set(self) -> AddressSet:
        """Every address a device owns: gateway, reservations, hosts, leases, nodes, DHCP servers and offers."""
        singles = [a for s in self.dhcp_servers for a in (s.server_id, s.router, s.offered_ip) if a is not None]
        singles += [router.address for router in self.routers]
        return AddressSet([self.reserved_set, self.in_use, self.leased_set, self.nodes, *singles])

    @cached_property
    def taken_set(self) -> AddressSet:
        """Every address a pool must not use: the owned ones and the DHCP ranges."""
        return self.owned_set | self.dhcp_set

    @cached_property
    def free_set(self) -> AddressSet:
        """The usable part of the subnet nothing on the LAN owns (pools not counted)."""
        if self.subnet is None:
            return AddressSet()
        return usable(self.subnet) - self.taken_set

    @cached_property
    def macs_by_ip(self) -> dict[IPAddress, tuple[str, ...]]:
        """Every MAC seen answering for each live address, over all inventories, lower-case and sorted."""
        seen: dict[IPAddress, set[str]] = {}
        for host in self.hosts:
            seen.setdefault(host.ip, set()).update(mac.lower().replace("-", ":") for mac in host.macs)
        return {ip: tuple(sorted(macs)) for ip, macs in seen.items()}

    @cached_property
    def nodes_by_mac(self) -> dict[str, ClusterNode]:
        """The known cluster nodes by MAC; a named record wins over a bare one for the same MAC."""
        known: dict[str, ClusterNode] = {}
        for node in self.cluster_nodes:
            if node.mac not in known or (node.name and not known[node.mac].name):
                known[node.mac] = node
        return known

    @cached_property
    def assigned_vip_services(self) -> dict[IPAddress, str]:
        services: dict[IPAddress, list[str]] = {}
        for ip, service in self.assigned_vips:
            services.setdefault(ip, []).append(service)
        return {ip: ", ".join(sorted(set(names))) for ip, names in services.items()}

    @cached_property
    def labels(self) -> dict[IPAddress, str]:
        """What is known of an address (MACs, hostname, source), for messages."""
        known: dict[IPAddress, str] = {}
        for reservation in self.reserved:
            known[reservation.ip] = " ".join(filter(None, (reservation.hostname, reservation.mac,
                                                             reservation.source)))
        for lease in self.leases:
            known[lease.ip] = " ".join(filter(None, (lease.hostname, lease.mac)))
        for host in self.hosts:
            known[host.ip] = ", ".join(host.macs)
        return known
