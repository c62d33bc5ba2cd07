"""Who answers for a pool address: the cluster itself (a live VIP), or a device that is not a node.

Once a pool is in use, a node answers ARP for every VIP it announces, so "something
answers here" is not a conflict by itself. What matters is which MACs answer: only
the nodes' (the cluster's own VIP), or anything else (a device that will fight the
node for the address; on a VIP, clients reach whichever answered last).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterator, Sequence

from netaddr import IPAddress

from ipaudit.addressset import AddressSet
from ipaudit.findings import Code, finding
from ipaudit.model import ClusterNode, Finding, Lan, Pool


@dataclass(frozen=True)
class LiveVip:
    """A pool address answered only by cluster nodes: the cluster owns it."""

    ip: IPAddress
    nodes: tuple[ClusterNode, ...]


@dataclass(frozen=True)
class ClaimedVip:
    """A VIP that a device other than a node answers for too (the blog's phone)."""

    ip: IPAddress
    foreign_macs: tuple[str, ...]
    nodes: tuple[ClusterNode, ...]  # the nodes also answering (may be none)
    services: str | None  # the Services whose status holds it, when known


@dataclass(frozen=True)
class Ownership:
    """The in-use addresses of one pool, sorted by who answers for them."""

    live: tuple[LiveVip, ...] = ()
    claimed: tuple[ClaimedVip, ...] = ()
    #: In use by something else, or by an unknown device (``--in-use`` names no MAC): pool-address-in-use.
    foreign: AddressSet = field(default_factory=AddressSet)


def _answered(addresses: AddressSet, lan: Lan) -> Iterator[tuple[IPAddress, tuple[str, ...]]]:
    """Each address of ``addresses`` some inventory saw answering, with its MACs, in address order.

    Walks whichever is smaller, the addresses or the hosts seen, so a /16 ``--in-use`` costs no more
    than the hosts a scan found.
    """
    table = lan.macs_by_ip
    if addresses.size <= len(table):
        for ip in addresses:
            if table.get(ip):
                yield ip, table[ip]
    else:
        for ip in sorted(table):
            if ip in addresses and table[ip]:
                yield ip, table[ip]


def classify(addresses: AddressSet, lan: Lan) -> Ownership:
    """Sort in-use ``addresses`` into live VIPs, VIPs claimed by a foreign device, and plain conflicts.

    An address answered only by node MACs is a live VIP, unless it is the node's own address
    (``pool-includes-node`` reports that). Any other MAC makes it a conflict; if the address is
    also a VIP (a Service's status holds it, or a node answers for it too) it is a claimed VIP.
    """
    nodes = lan.nodes_by_mac
    live: list[LiveVip] = []
    claimed: list[ClaimedVip] = []
    accounted: list[IPAddress] = []  # answered by the cluster, or a claimed VIP: not a plain conflict
    for ip, macs in _answered(addresses, lan):
        on_nodes = tuple(nodes[mac] for mac in macs if mac in nodes)
        others = tuple(mac for mac in macs if mac not in nodes)
        service = lan.assigned_vip_services.get(ip)
        if not others:
            accounted.append(ip)
            if ip not in lan.nodes:
                live.append(LiveVip(ip, on_nodes))
        elif on_nodes and ip in lan.nodes:
            continue  # someone else on a node's own address: a plain conflict, left in ``foreign``
        elif on_nodes or service is not None:
            accounted.append(ip)
            claimed.append(ClaimedVip(ip, others, on_nodes, service))
    return Ownership(tuple(live), tuple(claimed), addresses - AddressSet(accounted))


def _nodes_text(nodes: Sequence[ClusterNode]) -> str:
    return ", ".join(node.label for node in nodes)


def _device_text(mac: str) -> str:
    from ipaudit.scan.vendor import vendor_of

    return f"{mac} ({vendor_of(mac) or 'vendor unknown'})"


def ownership_findings(pool: Pool, owners: Ownership) -> Iterator[Finding]:
    """``vip-live-on-node`` and ``vip-claimed-by-foreign-device``, one per address, keyed by IP and MACs."""
    prefix = f"pool {pool.name}: "
    for vip in owners.live:
        yield finding(Code.VIP_LIVE_ON_NODE,
                      f"{prefix}{vip.ip} is a live VIP: only cluster node {_nodes_text(vip.nodes)} answers for it",
                      addresses=(str(vip.ip),), pool=pool.name,
                      subject=(pool.name, str(vip.ip), *sorted(node.mac for node in vip.nodes)))
    for claim in owners.claimed:
        why = [f"Service {claim.services}" if claim.services else "", f"announced by node {_nodes_text(claim.nodes)}"
               if claim.nodes else ""]
        devices = ", ".join(_device_text(mac) for mac in claim.foreign_macs)
        yield finding(Code.VIP_CLAIMED_BY_FOREIGN_DEVICE,
                      f"{prefix}VIP {claim.ip} ({'; '.join(filter(None, why))}) is also answered by {devices}, "
                      "which is not a cluster node: clients reach whichever answered last; give that device "
                      "another address (or a DHCP reservation outside the pool)",
                      addresses=(str(claim.ip),), pool=pool.name,
                      subject=(pool.name, str(claim.ip), *sorted(claim.foreign_macs)))


def with_cluster(lan: Lan, node_names: Sequence[tuple[str, Sequence[IPAddress]]],
                 assigned_vips: Sequence[tuple[IPAddress, str]]) -> Lan:
    """The Lan with node names (from the cluster's Node objects) and the VIPs Services hold."""
    names = {ip: name for name, ips in node_names for ip in ips}
    nodes = tuple(replace(node, name=names.get(node.ip, node.name)) if node.ip is not None else node
                  for node in lan.cluster_nodes)
    return replace(lan, cluster_nodes=nodes, assigned_vips=tuple(assigned_vips))


def unresolved_nodes_note(lan: Lan) -> str | None:
    """Say which --node addresses no scan or probe saw: their VIPs would look like foreign devices."""
    if not lan.hosts:
        return None  # nothing was seen on the wire, so no address is judged by its MAC
    resolved = AddressSet(node.ip for node in lan.cluster_nodes if node.ip is not None)
    missing = lan.nodes - resolved
    if not missing:
        return None
    shown = ", ".join(str(r) if r.size > 1 else str(r[0]) for r in list(missing.iter_ipranges())[:6])
    return (f"node {shown} did not answer ARP in any scan or probe, so its MAC is unknown and the VIPs it "
            "announces would look like foreign devices: give --node-mac")
