"""Pools from Kubernetes manifests: MetalLB, the legacy MetalLB ConfigMap, Cilium LB IPAM and kube-vip.

``pools_from_documents`` takes already-decoded objects (from a file, stdin,
kubectl or the API server) so every way of reaching the cluster yields the same
Pools. Kinds that hold no pool are reported back as notes, not errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from ipaudit.addresses import AddressSpec, parse_ip, parse_spec
from ipaudit.errors import ManifestError, SpecError
from ipaudit.model import Pool
from ipaudit.safe_decode import DecodeError, load_yaml, load_yaml_documents, read_file_bytes

KUBE_VIP_CONFIGMAP = "kubevip"


@dataclass(frozen=True)
class PoolManifests:
    """What a set of manifests held: the pools, which pools an L2Advertisement names, and notes."""

    pools: tuple[Pool, ...] = ()
    # None: no L2Advertisement was seen, so nothing can be said about advertisement.
    advertised: frozenset[str] | None = None
    notes: tuple[str, ...] = field(default=())


def _spec(text: Any, where: str) -> AddressSpec:
    try:
        return parse_spec(str(text))
    except SpecError as problem:
        raise ManifestError(f"{where}: {problem.message}") from None


def _merge(name: str, specs: Iterable[AddressSpec], **attributes: Any) -> Pool:
    specs = list(specs)
    return Pool(
        name=name,
        ranges=tuple(r for s in specs for r in s.ranges),
        cidrs_with_host_bits=tuple(c for s in specs for c in s.cidrs_with_host_bits),
        **attributes,
    )


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ManifestError(f"{where}: expected a list of address strings")
    return value


def _metallb_pool(document: dict, source: str) -> Pool:
    name = (document.get("metadata") or {}).get("name") or "unnamed"
    spec = document.get("spec") or {}
    where = f"{source}: IPAddressPool {name}"
    addresses = _strings(spec.get("addresses"), where)
    if not addresses:
        raise ManifestError(f"{where}: spec.addresses is empty")
    return _merge(name, (_spec(a, where) for a in addresses), kind="metallb", source=source,
                  auto_assign=spec.get("autoAssign", True) is not False,
                  avoid_buggy_ips=spec.get("avoidBuggyIPs", False) is True)


def _legacy_configmap_pools(document: dict, source: str) -> Iterator[Pool]:
    where = f"{source}: MetalLB ConfigMap 'config' key"
    try:
        config = load_yaml(document["data"]["config"], where) or {}
    except DecodeError as problem:
        raise ManifestError(f"{where} is not valid YAML ({problem.detail})", problem.hint) from None
    pools = config.get("address-pools") if isinstance(config, dict) else None
    if not isinstance(pools, list):
        raise ManifestError(f"{where} has no address-pools list")
    for entry in pools:
        if not isinstance(entry, dict) or "name" not in entry:
            raise ManifestError(f"{where}: every address pool needs a name")
        pool_where = f"{where}, pool {entry['name']}"
        addresses = _strings(entry.get("addresses"), pool_where)
        yield _merge(str(entry["name"]), (_spec(a, pool_where) for a in addresses), kind="metallb-configmap",
                     source=source, auto_assign=entry.get("auto-assign", True) is not False,
                     avoid_buggy_ips=entry.get("avoid-buggy-ips", False) is True)


def _cilium_block(block: Any, where: str) -> AddressSpec:
    if not isinstance(block, dict):
        raise ManifestError(f"{where}: a block must be a mapping with cidr or start/stop")
    if "cidr" in block:
        return _spec(block["cidr"], where)
    if "start" in block:
        start = block["start"]
        # Cilium allows a block with only `start`: that single address.
        stop = block.get("stop", start)
        try:
            parse_ip(str(start)), parse_ip(str(stop))
        except SpecError as problem:
            raise ManifestError(f"{where}: {problem.message}") from None
        return _spec(f"{start}-{stop}", where)
    raise ManifestError(f"{where}: a block needs cidr or start")


def _cilium_pool(document: dict, source: str) -> Pool:
    name = (document.get("metadata") or {}).get("name") or "unnamed"
    spec = document.get("spec") or {}
    where = f"{source}: CiliumLoadBalancerIPPool {name}"
    blocks = spec.get("blocks") or spec.get("cidrs") or []
    if not isinstance(blocks, list) or not blocks:
        raise ManifestError(f"{where}: spec.blocks is empty")
    # allowFirstLastIPs defaults to Yes, so first/last of a CIDR are handed out like any other.
    return _merge(name, (_cilium_block(b, where) for b in blocks), kind="cilium", source=source,
                  auto_assign=spec.get("disabled", False) is not True)


def _kube_vip_pools(document: dict, source: str) -> Iterator[Pool]:
    data = document.get("data") or {}
    for key in sorted(data):
        prefix, _, scope = key.partition("-")
        if prefix not in ("cidr", "range") or not scope:
            continue
        where = f"{source}: kube-vip ConfigMap key {key}"
        # kube-vip separates several CIDRs or ranges with commas, like our spec lists.
        yield _merge(f"kube-vip/{scope}", [_spec(data[key], where)], kind="kube-vip", source=source)


def _flatten(document: Any) -> Iterator[Any]:
    if isinstance(document, dict) and isinstance(document.get("items"), list) and (
            document.get("kind") == "List" or str(document.get("kind", "")).endswith("List")):
        for item in document["items"]:
            yield from _flatten(item)
    else:
        yield document


def pools_from_documents(documents: Iterable[Any], source: str) -> PoolManifests:
    """Every pool found in decoded Kubernetes objects, in document order."""
    pools: list[Pool] = []
    notes: list[str] = []
    advertised: set[str] | None = None
    for document in (d for top in documents for d in _flatten(top)):
        if document is None:
            continue
        if not isinstance(document, dict):
            raise ManifestError(f"{source}: a document is not a Kubernetes object")
        kind = document.get("kind")
        name = (document.get("metadata") or {}).get("name")
        if kind == "IPAddressPool":
            pools.append(_metallb_pool(document, source))
        elif kind == "L2Advertisement":
            spec = document.get("spec") or {}
            advertised = advertised or set()
            named = spec.get("ipAddressPools")
            if not named and not spec.get("ipAddressPoolSelectors"):
                advertised.add("*")  # an L2Advertisement with no pool list advertises every pool
            advertised.update(named or ())
            if spec.get("ipAddressPoolSelectors"):
                advertised.add("*selector*")
        elif kind == "CiliumLoadBalancerIPPool":
            pools.append(_cilium_pool(document, source))
        elif kind == "ConfigMap" and isinstance((document.get("data") or {}).get("config"), str) and \
                "address-pools" in document["data"]["config"]:
            pools.extend(_legacy_configmap_pools(document, source))
        elif kind == "ConfigMap" and name == KUBE_VIP_CONFIGMAP:
            pools.extend(_kube_vip_pools(document, source))
        else:
            notes.append(f"{source}: ignored {kind or 'an object with no kind'}"
                         f"{' ' + name if name else ''} (holds no address pool)")
    return PoolManifests(tuple(pools), None if advertised is None else frozenset(advertised), tuple(notes))


def read_manifest_text(text: str | bytes, source: str) -> list[Any]:
    """Decode multi-document YAML (JSON is YAML too) through ``safe_decode``, naming the file and line."""
    try:
        return load_yaml_documents(text, source)
    except DecodeError as problem:
        raise ManifestError(problem.message, problem.hint) from None


def load_manifest(path: str) -> PoolManifests:
    """Read one ``--from`` file; ``-`` reads standard input. Size-bounded: see ``safe_decode``."""
    source = "<stdin>" if path == "-" else path
    try:
        raw = read_file_bytes(path, "standard input" if path == "-" else f"manifest {path}")
    except DecodeError as problem:
        raise ManifestError(problem.message, problem.hint) from None
    return pools_from_documents(read_manifest_text(raw, source), source)
