"""kube-vip-cloud-provider: the pools in its ConfigMap, read the way the provider reads them per Service.

The provider looks keys up per Service namespace, in the order ``cidr-<ns>``,
``cidr-global``, ``range-<ns>``, ``range-global`` (pkg/provider/loadBalancer.go
discoverPool), so a key can be shadowed and a namespace can fall back to a global
pool. It parses the chosen value only when a Service needs an address, so a bad
value refuses nothing at apply time: that scope's Services just stay ``<pending>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from netaddr import IPRange, IPSet

from ipaudit.controllers import Rejection, netip_parse_addr, netip_parse_prefix, ranges_of, without_ipv4_ends
from ipaudit.model import Pool

DEFAULT_CONFIGMAP = ("kube-system", "kubevip")  # pkg/provider/provider.go KubeVipClientConfig(Namespace)
PROVIDER = "kube-vip-cloud-provider pkg/provider/loadBalancer.go"
BUILDER = "kube-vip-cloud-provider pkg/ipam/addressbuilder.go"
DHCP_MODE = "0.0.0.0/32"


@dataclass
class KubeVipConfig:
    pools: list[Pool] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def configmap_name(text: str | None) -> tuple[str, str]:
    """``--kube-vip-configmap NS/NAME`` (the provider's KUBEVIP_NAMESPACE / KUBEVIP_CONFIG_MAP)."""
    if not text:
        return DEFAULT_CONFIGMAP
    namespace, slash, name = text.partition("/")
    if not slash or not namespace or not name or "/" in name:
        from ipaudit.errors import ManifestError

        raise ManifestError(f"--kube-vip-configmap {text!r}: write NAMESPACE/NAME, like kube-system/kubevip")
    return namespace, name


def is_configmap(document: dict, wanted: tuple[str, str]) -> bool:
    metadata = document.get("metadata") or {}
    namespace = metadata.get("namespace")
    return document.get("kind") == "ConfigMap" and metadata.get("name") == wanted[1] and \
        (namespace is None or namespace == wanted[0])


def _cidr_addresses(value: str, skip_ends: bool) -> IPSet | str:
    """The addresses of a cidr- value, or the refusal rule."""
    merged = IPSet()
    for item in value.split(","):
        # addressbuilder.go parseCidrs: strings.Split on "," then netip.ParsePrefix, no trimming.
        prefix = netip_parse_prefix(item)
        if prefix is None:
            if "-" in item:
                return f"{item!r} is a range inside a cidr- value (a value holding a '/' is read as CIDRs only)"
            return f"{item!r} is not a CIDR (netip.ParsePrefix; no spaces around commas)"
        merged.add(prefix)
    handed_out = IPSet()
    for cidr in merged.iter_cidrs():
        # addressbuilder.go buildHostsFromCidr: per merged prefix; skip-end-ips-in-cidr drops its first and last
        # address, except in a /31 and a /32.
        if cidr.version == 4 and skip_ends and cidr.prefixlen < 31:
            handed_out.add(IPRange(cidr.first + 1, cidr.last - 1))
        else:
            handed_out.add(cidr)
    return handed_out


def _range_addresses(value: str) -> IPSet | str:
    handed_out = IPSet()
    for item in value.split(","):
        # addressbuilder.go buildAddressesFromRange: Split on "," then on "-" into exactly two netip.ParseAddr.
        parts = item.split("-")
        if len(parts) != 2:
            return f"{item!r} is not a range a-b" + (" (a bare IP is not a range)" if len(parts) == 1 else "")
        first, last = netip_parse_addr(parts[0]), netip_parse_addr(parts[1])
        if first is None or last is None:
            bad = parts[0] if first is None else parts[1]
            hint = " (the shorthand is not a range)" if bad.strip().isdigit() else \
                " (no spaces around '-' or ',')" if bad != bad.strip() else ""
            return f"{bad!r} is not an IP address{hint}"
        if first.version != last.version or first > last:
            # netipx IPSetBuilder.AddRange drops an invalid range silently: the scope gets no address from it.
            return f"{item!r} is reversed or mixes families, so it yields no address"
        handed_out.add(IPRange(first, last))
    return handed_out


def _fix(key: str, value: str) -> str:
    from ipaudit.addresses import format_range, parse_spec

    try:
        ranges = parse_spec(value).ranges
    except Exception:  # noqa: BLE001 - only a hint
        return f"write {key}: a comma-separated list of CIDRs (a/len) or of ranges a-b, never both"
    if "/" in value:
        cidrs = [str(c) for r in ranges for c in r.cidrs()]
        return f"write {key}: {','.join(cidrs)} (CIDRs only, no spaces), or move ranges to a range- key"
    return f"write {key}: {','.join(format_range(r) if r.first != r.last else f'{format_range(r)}-{format_range(r)}' for r in ranges)}"


def pools_from_configmap(document: dict, source: str) -> KubeVipConfig:
    """The pools the provider hands out from, one per key some namespace really uses."""
    config = KubeVipConfig()
    data = {str(k): str(v) for k, v in (document.get("data") or {}).items()}
    # pkg/config/config.go GetKubevipLBConfig: only the exact string "true" turns it on.
    skip_ends = data.get("skip-end-ips-in-cidr") == "true"
    scopes = sorted({key.partition("-")[2] for key in data if key.partition("-")[0] in ("cidr", "range")} - {""})
    effective: dict[str, list[str]] = {}  # key -> namespaces it serves ("*" = every namespace without its own key)
    for scope in scopes:
        ns = "*" if scope == "global" else scope
        # loadBalancer.go discoverPool/getConfig: cidr-<ns>, cidr-global, range-<ns>, range-global.
        order = ["cidr-global", "range-global"] if ns == "*" else \
            [f"cidr-{scope}", "cidr-global", f"range-{scope}", "range-global"]
        chosen = next(k for k in order if k in data)
        effective.setdefault(chosen, []).append(ns)
    for key in sorted(k for k in data if k.partition("-")[0] in ("cidr", "range") and k.partition("-")[2]):
        if key not in effective:
            winner = next(k for k, served in effective.items() if key.partition("-")[2] in served
                          or ("*" in served and key.partition("-")[2] == "global"))
            config.notes.append(f"{source}: kube-vip never reads {key}: {winner} comes first for the same "
                                "Services (order cidr-<ns>, cidr-global, range-<ns>, range-global)")
    for key, served in effective.items():
        value = data[key]
        scope = key.partition("-")[2]
        who = "Services in namespaces without their own key" if served == ["*"] else \
            "Services in namespace " + ", ".join(n for n in served if n != "*")
        if value == DHCP_MODE:
            # loadBalancer.go discoverVIPs: exactly 0.0.0.0/32 means DHCP mode; no pool at all.
            config.notes.append(f"{source}: kube-vip {key} is {DHCP_MODE}: {who} get addresses by DHCP, no pool")
            continue
        mode_cidr = "/" in value  # loadBalancer.go discoverAddress: a "/" anywhere means CIDRs, else ranges
        if not value:
            found: IPSet | str = "the value is empty (could not discover address: pool is not specified)"
        else:
            found = _cidr_addresses(value, skip_ends) if mode_cidr else _range_addresses(value)
        if isinstance(found, str):
            config.rejections.append(Rejection(
                "kube-vip", f"ConfigMap {document.get('metadata', {}).get('name')} key {key}", value, found,
                _fix(key, value), f"{BUILDER} {'buildHostsFromCidr' if mode_cidr else 'buildAddressesFromRange'}",
                f"{who} stay <pending>", source, key))
            continue
        # pkg/ipam/ipam.go FindFreeAddress: every IPv4 address ending in .0 or .255 is skipped, ranges too.
        handed_out = without_ipv4_ends(found)
        config.pools.append(Pool(
            name=key, ranges=ranges_of(handed_out), kind="kube-vip", source=source,
            declared=tuple(value.split(",")), namespace=document.get("metadata", {}).get("namespace"),
            service_namespace=None if scope == "global" else scope))
    return config
