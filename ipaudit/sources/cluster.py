"""What ipaudit reads from a cluster to find its load-balancer pools, whichever way it gets there.

``kubectl.py`` (the user's kubeconfig) and ``k8s_api.py`` (a pod's service account)
fetch the same objects and return them raw as ``ClusterDocuments``;
``manifests.pools_from_documents`` turns them into Pools.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClusterResource:
    """One kind of object to fetch: a list of every namespace's objects, or a single ConfigMap."""

    what: str  # for notes: "MetalLB IPAddressPools"
    kubectl_type: str  # "ipaddresspools.metallb.io" or "configmap"
    api_paths: tuple[str, ...]  # API paths to try in order (newer API versions first)
    namespace: str | None = None  # a ConfigMap's namespace
    name: str | None = None  # a ConfigMap's name
    #: Services, Nodes and announcement policies sharpen the verdicts but hold no pool: a service
    #: account not allowed to read them gets a note, not a failed run.
    optional: bool = False

    @property
    def is_configmap(self) -> bool:
        return self.name is not None


POOL_RESOURCES: tuple[ClusterResource, ...] = (
    ClusterResource("MetalLB IPAddressPools", "ipaddresspools.metallb.io",
                    ("/apis/metallb.io/v1beta1/ipaddresspools",)),
    ClusterResource("MetalLB L2Advertisements", "l2advertisements.metallb.io",
                    ("/apis/metallb.io/v1beta1/l2advertisements",)),
    ClusterResource("Cilium LB IPAM pools", "ciliumloadbalancerippools.cilium.io",
                    ("/apis/cilium.io/v2/ciliumloadbalancerippools",
                     "/apis/cilium.io/v2alpha1/ciliumloadbalancerippools")),
)
# cilium pkg/k8s/apis/cilium.io/v2alpha1/l2announcement_types.go: the policy is served as v2alpha1 only.
CILIUM_POLICIES = ClusterResource("Cilium L2 announcement policies", "ciliuml2announcementpolicies.cilium.io",
                                  ("/apis/cilium.io/v2alpha1/ciliuml2announcementpolicies",), optional=True)
SERVICES = ClusterResource("Services", "services", ("/api/v1/services",), optional=True)
NODES = ClusterResource("Nodes", "nodes", ("/api/v1/nodes",), optional=True)
# MetalLB before 0.13 kept its pools in this ConfigMap.
LEGACY_METALLB = ClusterResource("legacy MetalLB ConfigMap", "configmap",
                                 ("/api/v1/namespaces/metallb-system/configmaps/config",),
                                 namespace="metallb-system", name="config")


def kube_vip_resource(kube_vip_configmap: str | None = None) -> ClusterResource:
    """kube-vip's ConfigMap, kube-system/kubevip unless ``--kube-vip-configmap NS/NAME`` says otherwise.

    # kube-vip-cloud-provider pkg/provider/provider.go: KUBEVIP_NAMESPACE and KUBEVIP_CONFIG_MAP move it.
    """
    from ipaudit.controllers.kube_vip import configmap_name

    namespace, name = configmap_name(kube_vip_configmap)
    return ClusterResource("kube-vip ConfigMap", "configmap", (f"/api/v1/namespaces/{namespace}/configmaps/{name}",),
                           namespace=namespace, name=name)


def resources(kube_vip_configmap: str | None = None) -> tuple[ClusterResource, ...]:
    """Everything read from a cluster: the pools, what announces them, the Services' VIPs and the nodes."""
    return (*POOL_RESOURCES, CILIUM_POLICIES, kube_vip_resource(kube_vip_configmap), LEGACY_METALLB,
            SERVICES, NODES)


#: The default set, for callers that do not move kube-vip's ConfigMap.
RESOURCES: tuple[ClusterResource, ...] = resources()


@dataclass(frozen=True)
class ClusterDocuments:
    """The raw objects found (each with ``apiVersion`` and ``kind``) and notes on what was missing."""

    documents: tuple[dict, ...]
    notes: tuple[str, ...] = ()
    source: str = ""


def items_of(answer: dict) -> list[dict]:
    """The objects of a list answer, each given the ``kind``/``apiVersion`` the API leaves off list items."""
    if not isinstance(answer.get("items"), list):
        return [answer]
    list_kind = str(answer.get("kind", ""))
    item_kind = list_kind[:-4] if list_kind.endswith("List") and list_kind != "List" else None
    documents = []
    for item in answer["items"]:
        if not isinstance(item, dict):
            continue
        if item_kind and "kind" not in item:
            item = {"kind": item_kind, "apiVersion": answer.get("apiVersion"), **item}
        documents.append(item)
    return documents
