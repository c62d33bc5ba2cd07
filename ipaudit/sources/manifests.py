"""Pools from Kubernetes manifests: MetalLB, the legacy MetalLB ConfigMap, Cilium LB IPAM and kube-vip.

``pools_from_documents`` takes already-decoded objects (from a file, stdin,
kubectl or the API server) so every way of reaching the cluster yields the same
Pools. Kinds that hold no pool are reported back as notes, not errors.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

from ipaudit.errors import ManifestError
from ipaudit.model import Pool
from ipaudit.sources.pools import PoolManifests

# The controllers' rules and the YAML decoder are imported by the functions that read manifests, so
# check-pool with no --from never loads them (nor this module: see sources/pools.py).
if TYPE_CHECKING:
    from ipaudit.controllers import Rejection

TEMPLATE_MARKER = re.compile(r"\$\{[^}\s]*\}|\{\{|\{%")
POOL_KINDS = {"IPAddressPool", "CiliumLoadBalancerIPPool"}
# Objects that matter but hold no pool: read without a note.
KNOWN_KINDS = {"L2Advertisement", "CiliumL2AnnouncementPolicy", "Service", "Node"}


def _flatten(document: Any) -> Iterator[Any]:
    if isinstance(document, dict) and isinstance(document.get("items"), list) and (
            document.get("kind") == "List" or str(document.get("kind", "")).endswith("List")):
        for item in document["items"]:
            yield from _flatten(item)
    else:
        yield document


def _is_legacy_metallb(document: dict) -> bool:
    config = (document.get("data") or {}).get("config")
    return document.get("kind") == "ConfigMap" and isinstance(config, str) and "address-pools" in config


def _legacy_configmap_config(document: dict, source: str) -> Any:
    """Decode the YAML held in the legacy MetalLB ConfigMap's ``config`` key (bounded, like every file)."""
    from ipaudit.safe_decode import DecodeError, load_yaml

    where = f"{source}: MetalLB ConfigMap 'config' key"
    try:
        return load_yaml(document["data"]["config"], where) or {}
    except DecodeError as problem:
        raise ManifestError(f"{where} is not valid YAML ({problem.detail})", problem.hint) from None


def _schema_rejection(kind: str, name: Any, refused: tuple[str, str], source: str) -> Rejection:
    from ipaudit.controllers import Rejection

    path, expected = refused
    shown = f"{kind} {name}" if isinstance(name, str) and name else f"{kind} (unnamed)"
    return Rejection("the API server", shown, path, f"the API server's schema: {path} must be "
                     f"{expected}", f"write {path} as {expected}", "Kubernetes openAPIV3Schema of the CRD / core type",
                     effect="kubectl apply refuses the object, so the controller never sees it", source=source,
                     pool=name if kind in POOL_KINDS and isinstance(name, str) else None)


def pools_from_documents(documents: Iterable[Any], source: str, kube_vip_configmap: str | None = None,
                         from_cluster: bool = False) -> PoolManifests:
    """Every pool, refusal, advertisement, VIP and node in decoded Kubernetes objects.

    Give all the objects at once (every ``--from`` file): an L2Advertisement in one
    file selects pools in another, and MetalLB validates its configuration as a whole.
    ``from_cluster`` says the objects are all the cluster has (no announcement policy
    then means none exists); ``kube_vip_configmap`` is ``NS/NAME`` (default kube-system/kubevip).
    """
    from ipaudit.controllers import cilium, kube_vip, metallb
    from ipaudit.controllers.services import nodes_from_documents, vips_from_services
    from ipaudit.controllers.shapes import shape_problem

    wanted_kube_vip = kube_vip.configmap_name(kube_vip_configmap)
    by_kind: dict[str, list[dict]] = {}
    notes: list[str] = []
    schema_rejections: list[Rejection] = []
    for document in (d for top in documents for d in _flatten(top)):
        if document is None:
            continue
        if not isinstance(document, dict):
            raise ManifestError(f"{source}: a document is not a Kubernetes object")
        kind = str(document.get("kind") or "")
        metadata = document.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        refused = shape_problem(document) if kind in POOL_KINDS | KNOWN_KINDS | {"ConfigMap"} else None
        if refused is not None:
            schema_rejections.append(_schema_rejection(kind, name, refused, source))
            continue
        if metadata is not None and not isinstance(metadata, dict):
            notes.append(f"{source}: ignored {kind or 'an object with no kind'} (its metadata is not a mapping)")
            continue
        if _is_legacy_metallb(document):
            kind = "legacy-metallb"
        elif kube_vip.is_configmap(document, wanted_kube_vip):
            kind = "kube-vip"
        elif kind not in POOL_KINDS | KNOWN_KINDS:
            notes.append(f"{source}: ignored {kind or 'an object with no kind'}"
                         f"{' ' + str(name) if name else ''} (holds no address pool)")
            continue
        by_kind.setdefault(kind, []).append(document)
    pools: list[Pool] = []
    rejections: list[Rejection] = schema_rejections
    advertised: set[str] | None = None
    advertisement: dict[str, bool | None] = {}
    metallb_found = metallb.ipaddresspools(by_kind.get("IPAddressPool", []), by_kind.get("L2Advertisement", []), source)
    legacy = [metallb.legacy_configmap(d, _legacy_configmap_config(d, source), source)
              for d in by_kind.get("legacy-metallb", [])]
    for found in [metallb_found, *legacy]:
        pools.extend(found.pools)
        rejections.extend(found.rejections)
        notes.extend(found.notes)
        if found.advertised is not None:
            advertised = (advertised or set()) | found.advertised
            advertisement.update({p.name: p.name in found.advertised for p in found.pools})
    policies = by_kind.get("CiliumL2AnnouncementPolicy", [])
    cilium_found = cilium.lb_ip_pools(by_kind.get("CiliumLoadBalancerIPPool", []), policies, source, from_cluster)
    pools.extend(cilium_found.pools)
    rejections.extend(cilium_found.rejections)
    notes.extend(cilium_found.notes)
    advertisement.update(cilium_found.announced)
    if policies or from_cluster:
        advertised = (advertised or set()) | {n for n, v in cilium_found.announced.items() if v}
    for document in by_kind.get("kube-vip", []):
        found_kube_vip = kube_vip.pools_from_configmap(document, source)
        pools.extend(found_kube_vip.pools)
        rejections.extend(found_kube_vip.rejections)
        notes.extend(found_kube_vip.notes)
    vips, vip_notes = vips_from_services(by_kind.get("Service", []), pools, source)
    notes.extend(vip_notes)
    empty_reason = None
    if not pools and not rejections:
        held = sorted(f"{kind} {(d.get('metadata') or {}).get('name')}" for kind in KNOWN_KINDS - {"Node", "Service"}
                      for d in by_kind.get(kind, []))
        if held:
            empty_reason = (f"{source} holds {', '.join(held)} but no address pool: give the file holding the "
                            "pools too (--from pools.yaml --from l2.yaml), or read the cluster with --from kubectl")
    return PoolManifests(tuple(pools), None if advertised is None else frozenset(advertised), tuple(notes),
                         tuple(rejections), tuple(advertisement.items()), tuple(vips),
                         tuple(nodes_from_documents(by_kind.get("Node", []))), empty_reason,
                         tuple(d for kind in sorted(POOL_KINDS | KNOWN_KINDS - {"Service", "Node"})
                               for d in by_kind.get(kind, [])))


def template_marker(text: str) -> tuple[str, int] | None:
    """The first template marker (``${VAR}``, Jinja ``{{``/``{%``) outside a comment, with its line number.

    A templated file is not what the cluster sees: the addresses may be variables, so
    auditing it would be a guess. It is refused with the marker named instead.
    """
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("#"):
            continue
        match = TEMPLATE_MARKER.search(line)
        if match:
            return match.group(0), number
    return None


def read_manifest_text(text: str | bytes, source: str) -> list[Any]:
    """Decode multi-document YAML (JSON is YAML too) through ``safe_decode``, naming the file and line."""
    from ipaudit.safe_decode import DecodeError, load_yaml_documents

    try:
        return load_yaml_documents(text, source)
    except DecodeError as problem:
        raise ManifestError(problem.message, problem.hint) from None


def _read_text(path: str) -> tuple[str, str]:
    """A ``--from`` file's text (``-``: standard input), size-bounded and checked by ``safe_decode``."""
    from ipaudit.safe_decode import DecodeError, read_file_bytes, text_of

    source = "<stdin>" if path == "-" else path
    try:
        raw = read_file_bytes(path, "standard input" if path == "-" else f"manifest {path}")
        return text_of(raw, source), source
    except DecodeError as problem:
        raise ManifestError(problem.message, problem.hint) from None


def _decode(text: str, source: str) -> list[Any]:
    marker = template_marker(text)
    if marker is not None:
        raise ManifestError(f"{source} line {marker[1]}: template marker {marker[0]!r}: this is a template, "
                            "not what the cluster sees", hint="render it first (envsubst, flux build, helm template, "
                            "ansible) and check the output")
    return read_manifest_text(text, source)


def load_manifests(paths: Sequence[str], kube_vip_configmap: str | None = None) -> PoolManifests:
    """Read every ``--from`` file (``-`` is stdin) and resolve them together, as one cluster would hold them."""
    documents: list[Any] = []
    sources = []
    for path in paths:
        text, source = _read_text(path)
        documents.extend(_decode(text, source))
        sources.append(source)
    return pools_from_documents(documents, ", ".join(sources), kube_vip_configmap)


def load_manifest(path: str, kube_vip_configmap: str | None = None) -> PoolManifests:
    """Read one ``--from`` file; ``-`` reads standard input."""
    return load_manifests([path], kube_vip_configmap)
