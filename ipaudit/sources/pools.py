"""Where load-balancer pools come from, behind one interface as DHCP sources are.

A pool source is a manifest file (or ``-``, stdin), the cluster through the user's
``kubectl``, or the in-cluster API; each ``read()`` yields one ``PoolManifests``.
``read_pools`` adds the pools typed on the command line and merges them all.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Sequence

from ipaudit.addresses import parse_spec
from ipaudit.errors import IpauditError
from ipaudit.model import Pool
from ipaudit.sources.manifests import PoolManifests, load_manifest, pools_from_documents


@dataclass(frozen=True)
class PoolQuery:
    """The pools to check: address specs typed by the user, and ``--from`` sources in order."""

    specs: tuple[str, ...] = ()
    manifests: tuple[str, ...] = ()
    #: kubectl context for ``--from kubectl``.
    context: str | None = None


class PoolSource(ABC):
    """Reads the pool objects of one place."""

    def __init__(self, where: str, context: str | None = None):
        self.where = where
        self.context = context

    @abstractmethod
    def read(self) -> PoolManifests:
        """The pools found, or an IpauditError naming ``where``."""


class ManifestFile(PoolSource):
    """A YAML or JSON file of manifests; ``-`` is standard input."""

    def read(self) -> PoolManifests:
        return load_manifest(self.where)


class KubectlCluster(PoolSource):
    """The cluster the user's kubectl reaches (their kubeconfig, context and auth plugins)."""

    def read(self) -> PoolManifests:
        from ipaudit.sources.kubectl import fetch_documents

        fetched = fetch_documents(self.context)
        return _with_notes(pools_from_documents(fetched.documents, "kubectl"), fetched.notes, "kubectl")


class InClusterApi(PoolSource):
    """The API server, from inside a pod, with its service account."""

    def read(self) -> PoolManifests:
        from ipaudit.sources.k8s_api import fetch_documents

        fetched = fetch_documents()
        return _with_notes(pools_from_documents(fetched.documents, "k8s"), fetched.notes, "k8s")


def _with_notes(found: PoolManifests, notes: Sequence[str], where: str) -> PoolManifests:
    return PoolManifests(found.pools, found.advertised, tuple(f"{where}: {n}" for n in notes) + found.notes)


CLUSTER_SOURCES: dict[str, type[PoolSource]] = {"kubectl": KubectlCluster, "k8s": InClusterApi}


def open_pool_source(where: str, context: str | None = None) -> PoolSource:
    """The source for one ``--from`` value: ``kubectl``, ``k8s``, or a file path (``-`` for stdin)."""
    return CLUSTER_SOURCES.get(where, ManifestFile)(where, context)


def typed_pools(specs: Sequence[str]) -> list[Pool]:
    """Pools typed by the user, named ``proposed``, ``proposed-2`` ..."""
    pools = []
    for index, spec in enumerate(specs, start=1):
        parsed = parse_spec(spec)
        pools.append(Pool(name="proposed" if index == 1 else f"proposed-{index}", ranges=parsed.ranges,
                          cidrs_with_host_bits=parsed.cidrs_with_host_bits))
    return pools


def read_pools(query: PoolQuery) -> PoolManifests:
    """Typed pools first, then each source in order; pool names must be unique."""
    pools = typed_pools(query.specs)
    notes: list[str] = []
    advertised: set[str] | None = None
    for where in query.manifests:
        found = open_pool_source(where, query.context).read()
        notes.extend(found.notes)
        pools.extend(found.pools)
        if found.advertised is not None:
            advertised = (advertised or set()) | found.advertised
    seen: set[str] = set()
    for pool in pools:
        if pool.name in seen:
            raise IpauditError(f"pool name {pool.name!r} appears twice; every pool needs its own name")
        seen.add(pool.name)
    return PoolManifests(tuple(pools), None if advertised is None else frozenset(advertised), tuple(notes))
