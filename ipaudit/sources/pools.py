"""Where load-balancer pools come from, behind one interface as DHCP sources are.

A pool source is the manifest files (``-`` is stdin), read together as one cluster
would hold them, the cluster through the user's ``kubectl``, or the in-cluster API;
each ``read()`` yields one ``PoolManifests``. ``read_pools`` adds the pools typed on
the command line and merges them all.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

from ipaudit.addresses import parse_spec
from ipaudit.errors import IpauditError
from ipaudit.model import Pool

# sources/manifests.py (the reader, and through it the controllers' rules) loads only when a --from
# source is read: a plain check-pool never pays for it. PoolManifests lives here for that reason.
if TYPE_CHECKING:
    from ipaudit.controllers import Rejection
    from ipaudit.controllers.services import Node, Vip


@dataclass(frozen=True)
class PoolManifests:
    """What a set of manifests held, as the controllers would load it.

    ``pools`` are only the pools the controllers accept, each with the addresses they
    can hand out; what they refuse or disable is in ``rejections`` (never also in
    ``pools``). ``advertised`` names the MetalLB and Cilium pools some L2 object
    announces; ``advertisement`` gives, per pool name, True, False or None (cannot
    tell from these objects). ``advertised`` is None when no L2 object was seen.
    """

    pools: tuple[Pool, ...] = ()
    advertised: frozenset[str] | None = None
    notes: tuple[str, ...] = field(default=())
    rejections: tuple[Rejection, ...] = ()
    advertisement: tuple[tuple[str, bool | None], ...] = ()
    vips: tuple[Vip, ...] = ()
    nodes: tuple[Node, ...] = ()
    # Set when nothing here is a pool although objects were read: the message to show instead of "give a POOL".
    empty_reason: str | None = None
    #: The pool and L2 objects as read, for ``--emit`` to keep the user's settings and never reuse their names.
    objects: tuple[dict, ...] = ()


@dataclass(frozen=True)
class PoolQuery:
    """The pools to check: address specs typed by the user, and ``--from`` sources in order."""

    specs: tuple[str, ...] = ()
    manifests: tuple[str, ...] = ()
    #: kubectl context for ``--from kubectl``.
    context: str | None = None
    #: ``NS/NAME`` of kube-vip's ConfigMap (its KUBEVIP_CONFIG_MAP); None: kube-system/kubevip.
    kube_vip_configmap: str | None = None


class PoolSource(ABC):
    """Reads the pool objects of one place."""

    def __init__(self, query: PoolQuery):
        self.query = query

    @abstractmethod
    def read(self) -> PoolManifests:
        """The pools found, or an IpauditError naming the place."""


class ManifestFiles(PoolSource):
    """Every ``--from`` file at once: an L2Advertisement in one may select pools in another."""

    def read(self) -> PoolManifests:
        paths = [where for where in self.query.manifests if where not in CLUSTER_SOURCES]
        if not paths:
            return PoolManifests()
        from ipaudit.sources.manifests import load_manifests

        return load_manifests(paths, self.query.kube_vip_configmap)


class KubectlCluster(PoolSource):
    """The cluster the user's kubectl reaches (their kubeconfig, context and auth plugins)."""

    def read(self) -> PoolManifests:
        from ipaudit.sources.kubectl import fetch_documents

        fetched = fetch_documents(self.query.context, kube_vip_configmap=self.query.kube_vip_configmap)
        return _cluster(fetched.documents, fetched.notes, "kubectl", self.query)


class InClusterApi(PoolSource):
    """The API server, from inside a pod, with its service account."""

    def read(self) -> PoolManifests:
        from ipaudit.sources.k8s_api import fetch_documents

        fetched = fetch_documents(kube_vip_configmap=self.query.kube_vip_configmap)
        return _cluster(fetched.documents, fetched.notes, "k8s", self.query)


def _cluster(documents, notes: Sequence[str], where: str, query: PoolQuery) -> PoolManifests:
    from ipaudit.sources.manifests import pools_from_documents

    found = pools_from_documents(documents, where, query.kube_vip_configmap, from_cluster=True)
    return merge(PoolManifests(notes=tuple(f"{where}: {n}" for n in notes)), found)


CLUSTER_SOURCES: dict[str, type[PoolSource]] = {"kubectl": KubectlCluster, "k8s": InClusterApi}


def pool_sources(query: PoolQuery) -> list[PoolSource]:
    """The files (together, when any), then each cluster source named by ``--from``."""
    sources: list[PoolSource] = [ManifestFiles(query)]
    sources += [CLUSTER_SOURCES[where](query) for where in dict.fromkeys(query.manifests) if where in CLUSTER_SOURCES]
    return sources


def merge(first: PoolManifests, second: PoolManifests) -> PoolManifests:
    """Two sources' findings as one: lists joined, advertised names united, the first empty reason kept."""
    advertised = None if first.advertised is None and second.advertised is None else \
        frozenset((first.advertised or frozenset()) | (second.advertised or frozenset()))
    return PoolManifests(pools=first.pools + second.pools, advertised=advertised, notes=first.notes + second.notes,
                         rejections=first.rejections + second.rejections,
                         advertisement=first.advertisement + second.advertisement, vips=first.vips + second.vips,
                         nodes=first.nodes + second.nodes, objects=first.objects + second.objects,
                         empty_reason=first.empty_reason or second.empty_reason)


def typed_pools(specs: Sequence[str]) -> list[Pool]:
    """Pools typed by the user, named ``proposed``, ``proposed-2`` ..."""
    pools = []
    for index, spec in enumerate(specs, start=1):
        parsed = parse_spec(spec)
        pools.append(Pool(name="proposed" if index == 1 else f"proposed-{index}", ranges=parsed.ranges,
                          cidrs_with_host_bits=parsed.cidrs_with_host_bits))
    return pools


def read_pools(query: PoolQuery) -> PoolManifests:
    """Typed pools first, then every source; pool names must be unique across them."""
    found = PoolManifests(pools=tuple(typed_pools(query.specs)))
    for source in pool_sources(query):
        found = merge(found, source.read())
    seen: set[str] = set()
    for pool in found.pools:
        if pool.name in seen:
            raise IpauditError(f"pool name {pool.name!r} appears twice; every pool needs its own name",
                               hint="pools of different controllers or namespaces need distinct names here")
        seen.add(pool.name)
    return found
