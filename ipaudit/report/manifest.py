"""Ready-to-apply manifests (``--emit``): MetalLB IPAddressPool + L2Advertisement, or a Cilium pool + policy.

What is emitted must be safe to ``kubectl apply`` blindly: every address in a form the
controller takes (a one-address pool is ``a/32``), names valid in Kubernetes, the user's own
settings kept (labels, serviceAllocation, autoAssign, avoidBuggyIPs, Cilium's disabled and
serviceSelector), and no object of the user's replaced by a different one of the same name.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from netaddr import IPSet

from ipaudit.controllers import without_ipv4_ends
from ipaudit.controllers.selectors import BadSelector, labels_of, selector_matches
from ipaudit.model import Pool
from ipaudit.report.interface import EmitKind

METALLB_API = "metallb.io/v1beta1"
# cilium pkg/k8s/apis/cilium.io/v2/lbipam_types.go: v2 is the served version; v2alpha1 is deprecated.
CILIUM_POOL_API = "cilium.io/v2"
# cilium pkg/k8s/apis/cilium.io/v2alpha1/l2announcement_types.go: the policy has no v2 yet.
CILIUM_POLICY_API = "cilium.io/v2alpha1"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# k8s.io/apimachinery pkg/util/validation/validation.go IsDNS1123Label: what every name here stays within.
DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def dns1123_name(text: str) -> str:
    """``text`` as a DNS-1123 label (lowercase letters, digits and dashes, at most 63): never ``kube-vip/global``."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower())
    name = re.sub(r"-{2,}", "-", name)[:63].strip("-")
    return name or "pool"


def valid_name(text: str) -> bool:
    return bool(DNS1123.match(text))


def address_entries(addresses: IPSet) -> list[str]:
    """MetalLB entries: each run as one CIDR when it is one, else ``a-b``; one address is ``a/32`` (``a/128``).

    # metallb internal/config/config.go ParseCIDR: without a dash the entry goes to net.ParseCIDR,
    # which refuses a bare IP.
    """
    entries = []
    for address_range in addresses.iter_ipranges():
        cidrs = address_range.cidrs()
        if len(cidrs) == 1:
            entries.append(str(cidrs[0]))
        else:
            entries.append(f"{address_range[0]}-{address_range[-1]}")
    return entries


def cilium_blocks(addresses: IPSet) -> list[dict]:
    """Cilium blocks: a CIDR when the run is one (``a/32`` for one address), else start/stop."""
    blocks = []
    for address_range in addresses.iter_ipranges():
        cidrs = address_range.cidrs()
        blocks.append({"cidr": str(cidrs[0])} if len(cidrs) == 1 else
                      {"start": str(address_range[0]), "stop": str(address_range[-1])})
    return blocks


@dataclass(frozen=True)
class Existing:
    """The user's own objects, as read by ``--from``: what must be kept, reused, and never overwritten."""

    documents: tuple[dict, ...] = ()

    def of_kind(self, kind: str) -> list[dict]:
        return [d for d in self.documents if isinstance(d, dict) and d.get("kind") == kind]

    def find(self, kind: str, name: str, namespace: str | None = None) -> dict | None:
        for document in self.of_kind(kind):
            metadata = document.get("metadata") or {}
            if metadata.get("name") == name and (namespace is None or metadata.get("namespace") in (None, namespace)):
                return document
        return None

    def names(self, kind: str, namespace: str | None = None) -> set[str]:
        return {str((d.get("metadata") or {}).get("name")) for d in self.of_kind(kind)
                if namespace is None or (d.get("metadata") or {}).get("namespace") in (None, namespace)}


def _metadata(name: str, namespace: str | None, labels: Iterable[tuple[str, str]], original: dict | None) -> dict:
    """The object's metadata: the user's labels and annotations kept.

    Built afresh, so what a cluster adds (uid, resourceVersion, managedFields ...) is never sent
    back: a stale resourceVersion would make ``kubectl apply`` conflict.
    """
    metadata: dict = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    kept = dict(labels) or labels_of(original)
    if kept:
        metadata["labels"] = kept
    annotations = ((original or {}).get("metadata") or {}).get("annotations")
    annotations = {k: v for k, v in annotations.items() if k != LAST_APPLIED} if isinstance(annotations, dict) else {}
    if annotations:
        metadata["annotations"] = annotations
    return metadata


def _distinct(name: str, taken: set[str]) -> str:
    """``name``, or ``name-2``, ``name-3`` ... when the user already has an object called that."""
    candidate, number = name, 2
    while candidate in taken:
        candidate = f"{name[:60]}-{number}"
        number += 1
    taken.add(candidate)
    return candidate


@dataclass
class _Emitter:
    existing: Existing
    namespace: str
    comments: list[str]

    def pool_name(self, pool: Pool, kind: str, namespace: str | None, taken: set[str]) -> tuple[str, dict | None]:
        """The name to emit under, and the user's object of that name when it is this very pool."""
        name = dns1123_name(pool.name)
        if name != pool.name:
            self.comments.append(f"pool {pool.name!r} is emitted as {name!r}: Kubernetes names are DNS-1123")
        own_kind = {"IPAddressPool": ("metallb",), "CiliumLoadBalancerIPPool": ("cilium",)}[kind]
        original = self.existing.find(kind, name, namespace) if pool.kind in own_kind else None
        if original is None and name in taken:
            renamed = _distinct(name, taken)
            self.comments.append(f"you already have a {kind} named {name}: this one is {renamed}")
            return renamed, None
        taken.add(name)
        return name, original


def _l2_advertising(existing: Existing, pool_name: str, namespace: str, labels: dict) -> list[dict]:
    """The user's L2Advertisements in ``namespace`` that advertise the pool (config.go setL2AdvertisementsToPools)."""
    found = []
    for document in existing.of_kind("L2Advertisement"):
        if (document.get("metadata") or {}).get("namespace") not in (None, namespace):
            continue
        spec = document.get("spec") or {}
        named, selectors = spec.get("ipAddressPools") or [], spec.get("ipAddressPoolSelectors") or []
        try:
            matched = pool_name in named or (not named and not selectors) or \
                any(selector_matches(s, labels) for s in selectors)
        except BadSelector:
            matched = False
        if matched:
            found.append(document)
    return found


def _shared_l2_settings(existing: Existing, namespace: str) -> dict:
    """interfaces and nodeSelectors every user L2Advertisement of the namespace agrees on, for a new one."""
    settings = {(repr((d.get("spec") or {}).get("interfaces")), repr((d.get("spec") or {}).get("nodeSelectors"))): d
                for d in existing.of_kind("L2Advertisement")
                if (d.get("metadata") or {}).get("namespace") in (None, namespace)}
    if len(settings) != 1:
        return {}
    spec = next(iter(settings.values())).get("spec") or {}
    return {key: copy.deepcopy(spec[key]) for key in ("interfaces", "nodeSelectors") if spec.get(key)}


def _metallb(pools: Sequence[Pool], emitter: _Emitter) -> list[dict]:
    documents, advertisements = [], []
    taken_pools: dict[str, set[str]] = {}
    taken_l2: dict[str, set[str]] = {}
    for pool in pools:
        namespace = pool.namespace if pool.kind in ("metallb", "metallb-configmap") and pool.namespace \
            else emitter.namespace
        taken = taken_pools.setdefault(namespace, emitter.existing.names("IPAddressPool", namespace))
        name, original = emitter.pool_name(pool, "IPAddressPool", namespace, taken)
        spec = copy.deepcopy((original or {}).get("spec") or {})
        spec["addresses"] = address_entries(IPSet(pool.addresses.iter_ipranges()))
        spec["autoAssign"] = pool.auto_assign
        spec["avoidBuggyIPs"] = pool.avoid_buggy_ips
        metadata = _metadata(name, namespace, pool.labels, original)
        documents.append({"apiVersion": METALLB_API, "kind": "IPAddressPool", "metadata": metadata, "spec": spec})
        if pool.protocol == "bgp":
            emitter.comments.append(f"pool {name} is a BGP pool: no L2Advertisement is emitted for it")
            continue
        reused = _l2_advertising(emitter.existing, name, namespace, metadata.get("labels") or {})
        if reused:
            shown = ", ".join(str((d.get("metadata") or {}).get("name")) for d in reused)
            emitter.comments.append(f"pool {name} stays advertised by your L2Advertisement {shown}")
            continue
        l2_taken = taken_l2.setdefault(namespace, emitter.existing.names("L2Advertisement", namespace))
        l2_spec = {"ipAddressPools": [name], **_shared_l2_settings(emitter.existing, namespace)}
        advertisements.append({"apiVersion": METALLB_API, "kind": "L2Advertisement",
                               "metadata": {"name": _distinct(dns1123_name(f"{name}-l2"), l2_taken),
                                            "namespace": namespace},
                               "spec": l2_spec})
    return documents + advertisements


def _cilium(pools: Sequence[Pool], emitter: _Emitter) -> list[dict]:
    documents, policies = [], []
    taken = emitter.existing.names("CiliumLoadBalancerIPPool")
    policy_names = emitter.existing.names("CiliumL2AnnouncementPolicy")
    announcing = [p for p in emitter.existing.of_kind("CiliumL2AnnouncementPolicy")
                  if (p.get("spec") or {}).get("loadBalancerIPs") is True]
    for pool in pools:
        name, original = emitter.pool_name(pool, "CiliumLoadBalancerIPPool", None, taken)
        addresses = IPSet(pool.addresses.iter_ipranges())
        if pool.avoid_buggy_ips:
            # A pool that avoided .0/.255 in MetalLB must not start handing them out in Cilium, which has no such flag.
            addresses = without_ipv4_ends(addresses)
        spec = copy.deepcopy((original or {}).get("spec") or {})
        spec.pop("cidrs", None)  # lbipam_types.go: spec.cidrs is gone in Cilium 1.16
        spec["blocks"] = cilium_blocks(addresses)
        if not pool.auto_assign:
            spec["disabled"] = True
        documents.append({"apiVersion": CILIUM_POOL_API, "kind": "CiliumLoadBalancerIPPool",
                          "metadata": _metadata(name, None, pool.labels, original), "spec": spec})
        if announcing:
            shown = ", ".join(str((p.get("metadata") or {}).get("name")) for p in announcing)
            emitter.comments.append(f"pool {name}: your CiliumL2AnnouncementPolicy {shown} is kept; check it "
                                    "selects this pool's Services")
            continue
        policy_spec: dict = {"loadBalancerIPs": True}
        if spec.get("serviceSelector"):
            policy_spec["serviceSelector"] = copy.deepcopy(spec["serviceSelector"])
        policies.append({"apiVersion": CILIUM_POLICY_API, "kind": "CiliumL2AnnouncementPolicy",
                         "metadata": {"name": _distinct(dns1123_name(f"{name}-l2"), policy_names)},
                         "spec": policy_spec})
    if policies:
        emitter.comments.append("L2 announcements need the Cilium agent's l2announcements.enabled=true")
    return documents + policies


def render_manifest(kind: EmitKind, pools: Sequence[Pool], namespace: str = "metallb-system",
                    existing: Sequence[dict] = (), header: Sequence[str] = ()) -> str:
    """Multi-document YAML for ``kubectl apply -f -``, with ``header`` and what was reused as ``#`` comments."""
    import yaml

    emitter = _Emitter(Existing(tuple(existing)), namespace, [])
    documents = _metallb(pools, emitter) if kind is EmitKind.METALLB else _cilium(pools, emitter)
    comments = [*header, *emitter.comments]
    text = "".join(f"# {line}\n" for comment in comments for line in str(comment).splitlines())
    return text + yaml.safe_dump_all(documents, sort_keys=False, explicit_start=True, default_flow_style=None)

