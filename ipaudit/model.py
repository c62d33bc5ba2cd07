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
class Inventory:
    """What a scan saw on the wire; ``ipaudit scan --format json`` writes it, ``--inventory`` reads it."""

    hosts: tuple[Host, ...] = ()
    dhcp_servers: tuple[DhcpServer, ...] = ()
    interface: str | None = None
    subnet: IPNetwork | None = None
    findings: tuple[Finding, ...] = ()


def usable(subnet: IPNetwork) -> AddressSet:
    """The subnet without its network and broadcast addresses (IPv4 /30 and wider; IPv6 anycast)."""
    if subnet.version == 4 and subnet.prefixlen <= 30:
        return AddressSet([subnet]) - AddressSet([subnet.network, subnet.broadcast])
    if subnet.version == 6 and subnet.prefixlen <= 126:
        return AddressSet([subnet]) - AddressSet([subnet.network])  # the subnet-router anycast address
    return AddressSet([subnet])


@dataclass(frozen=True)
class Lan:
    """All facts about one LAN that the planner checks pools against."""

    subnet: IPNetwork | None = None
    subnet_origin: str = ""
    gateway: IPAddress | None = None
    dhcp_ranges: tuple[DhcpRange, ...] = ()
    reserved: tuple[Reservation, ...] = ()
    # Addresses typed with --reserved: no MAC or name, and possibly whole ranges.
    reserved_addresses: AddressSet = field(default_factory=AddressSet)
    nodes: AddressSet = field(default_factory=AddressSet)
    in_use: AddressSet = field(default_factory=AddressSet)
    hosts: tuple[Host, ...] = ()
    leases: tuple[Lease, ...] = ()
    dhcp_servers: tuple[DhcpServer, ...] = ()
    notes: tuple[str, ...] = ()

    def __post_init__(self):
        # Accept any address collection (an IPSet, a list of ranges) and keep AddressSets.
        for name in ("reserved_addresses", "nodes", "in_use"):
            value = getattr(self, name)
            if not isinstance(value, AddressSet):
                object.__setattr__(self, name, AddressSet(value))

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
        if self.gateway is not None:
            singles.append(self.gateway)
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
