"""VIPs that exist or are asked for: LoadBalancer Services, and the pool each address falls in.

A pool says what could be handed out; a Service says what is in use or requested.
kube-vip announces a requested address even outside every pool, so a VIP with no
pool is still checked (as a one-address pool) by the planner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from netaddr import IPAddress

from ipaudit.controllers import netip_parse_addr
from ipaudit.model import Pool

# Where a Service names its address, in the order we report them.
REQUEST_ANNOTATIONS = (
    "metallb.universe.tf/loadBalancerIPs",  # metallb internal/k8s/controllers/service_controller (annotation)
    "metallb.io/loadBalancerIPs",  # the same, under MetalLB's newer annotation prefix
    "lbipam.cilium.io/ips",  # cilium operator/pkg/lbipam/lbipam.go getSVCRequestedIPs
    "kube-vip.io/loadbalancerIPs",  # kube-vip-cloud-provider pkg/provider/loadBalancer.go LoadbalancerIPsAnnotation
)


@dataclass(frozen=True)
class Vip:
    """One LoadBalancer address of one Service: where we read it, and the pool it falls in (None: outside all)."""

    ip: IPAddress
    service: str  # namespace/name
    origins: tuple[str, ...]  # "status.loadBalancer.ingress", "spec.loadBalancerIP" or an annotation name
    pool: str | None = None
    assigned: bool = False  # True when the Service's status holds it (an address in use, not only requested)


@dataclass(frozen=True)
class Node:
    """A cluster node and its InternalIPs, so live VIPs answered by node MACs are not called conflicts."""

    name: str
    internal_ips: tuple[IPAddress, ...]


def _addresses(value: object) -> tuple[list[IPAddress], list[str]]:
    found, bad = [], []
    for item in str(value or "").split(","):
        item = item.strip()
        if not item:
            continue
        address = netip_parse_addr(item)
        if address is None:
            bad.append(item)
        else:
            found.append(address.ipv4() if address.is_ipv4_mapped() else address)
    return found, bad


def _pool_for(ip: IPAddress, namespace: str, pools: Sequence[Pool]) -> str | None:
    for pool in pools:
        # kube-vip: a namespace pool serves only its own namespace's Services.
        if pool.service_namespace is not None and pool.service_namespace != namespace:
            continue
        if ip in pool.addresses:
            return pool.name
    return None


def vips_from_services(documents: Iterable[dict], pools: Sequence[Pool], source: str) -> tuple[list[Vip], list[str]]:
    """Every address of every LoadBalancer Service in ``documents``, with its pool; notes for unreadable values."""
    by_key: dict[tuple[str, IPAddress], tuple[list[str], bool]] = {}
    notes: list[str] = []
    for service in documents:
        spec = service.get("spec") or {}
        if spec.get("type") != "LoadBalancer":
            continue
        metadata = service.get("metadata") or {}
        namespace = str(metadata.get("namespace") or "default")
        name = f"{namespace}/{metadata.get('name')}"
        readings: list[tuple[str, object]] = []
        for ingress in ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or ():
            if isinstance(ingress, dict) and ingress.get("ip"):
                readings.append(("status.loadBalancer.ingress", ingress["ip"]))
        if spec.get("loadBalancerIP"):
            readings.append(("spec.loadBalancerIP", spec["loadBalancerIP"]))
        annotations = metadata.get("annotations") or {}
        readings.extend((key, annotations[key]) for key in REQUEST_ANNOTATIONS if annotations.get(key))
        for origin, value in readings:
            addresses, bad = _addresses(value)
            for item in bad:
                notes.append(f"{source}: Service {name} {origin} {item!r} is not an IP address")
            for address in addresses:
                origins, assigned = by_key.get((name, address), ([], False))
                by_key[(name, address)] = (origins + [origin], assigned or origin.startswith("status."))
    vips = []
    for (name, address), (origins, assigned) in by_key.items():
        vips.append(Vip(address, name, tuple(dict.fromkeys(origins)),
                        _pool_for(address, name.split("/", 1)[0], pools), assigned))
    return sorted(vips, key=lambda v: (v.ip.version, v.ip, v.service)), notes


def nodes_from_documents(documents: Iterable[dict]) -> list[Node]:
    nodes = []
    for document in documents:
        addresses = ((document.get("status") or {}).get("addresses")) or ()
        internal = [netip_parse_addr(str(a.get("address"))) for a in addresses
                    if isinstance(a, dict) and a.get("type") == "InternalIP"]
        nodes.append(Node(str((document.get("metadata") or {}).get("name")), tuple(a for a in internal if a)))
    return nodes
