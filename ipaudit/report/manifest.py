"""Ready-to-apply manifests (``--emit``): MetalLB IPAddressPool + L2Advertisement, or a Cilium pool."""

from __future__ import annotations

from enum import Enum
from typing import Sequence

from ipaudit.addresses import format_set
from ipaudit.model import Pool


class EmitKind(str, Enum):
    METALLB = "metallb"
    CILIUM = "cilium"


def _metallb(pools: Sequence[Pool], namespace: str) -> list[dict]:
    documents = [{
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": pool.name, "namespace": namespace},
        "spec": {"addresses": format_set(pool.addresses), "autoAssign": pool.auto_assign,
                 "avoidBuggyIPs": pool.avoid_buggy_ips},
    } for pool in pools]
    documents.append({
        "apiVersion": "metallb.io/v1beta1",
        "kind": "L2Advertisement",
        "metadata": {"name": "l2-adv", "namespace": namespace},
        "spec": {"ipAddressPools": [pool.name for pool in pools]},
    })
    return documents


def _cilium(pools: Sequence[Pool]) -> list[dict]:
    documents = []
    for pool in pools:
        blocks = []
        for address_range in pool.addresses.iter_ipranges():
            cidrs = address_range.cidrs()
            blocks.append({"cidr": str(cidrs[0])} if len(cidrs) == 1 else
                          {"start": str(address_range[0]), "stop": str(address_range[-1])})
        documents.append({
            "apiVersion": "cilium.io/v2alpha1",
            "kind": "CiliumLoadBalancerIPPool",
            "metadata": {"name": pool.name},
            "spec": {"blocks": blocks},
        })
    return documents


def render_manifest(kind: EmitKind, pools: Sequence[Pool], namespace: str = "metallb-system") -> str:
    """Multi-document YAML for ``kubectl apply -f -``; addresses always in full form."""
    import yaml

    documents = _metallb(pools, namespace) if kind is EmitKind.METALLB else _cilium(pools)
    return yaml.safe_dump_all(documents, sort_keys=False, explicit_start=True)
