"""Cilium LB IPAM: CiliumLoadBalancerIPPools and CiliumL2AnnouncementPolicies, as the operator loads them.

Cilium refuses little at apply time (the CRD schema: the allowFirstLastIPs enum, the
cidr format) and decides the rest in the operator: a pool whose blocks overlap is
marked conflicting and disabled, and of two overlapping pools the newer one is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from netaddr import IPAddress, IPRange, IPSet

from ipaudit.controllers import Rejection, netip_parse_addr, netip_parse_prefix, overlapping_pairs, ranges_of
from ipaudit.controllers.selectors import labels_of, required_labels
from ipaudit.model import Pool

LBIPAM = "cilium operator/pkg/lbipam/lbipam.go"
TYPES = "cilium pkg/k8s/apis/cilium.io/v2/lbipam_types.go"
L2_TYPES = "cilium pkg/k8s/apis/cilium.io/v2alpha1/l2announcement_types.go"
NOT_CREATED = "the API server refuses the object (CRD schema)"
NOT_LOADED = "the operator does not load this pool, so it hands out nothing"
DISABLED = "Cilium marks the pool conflicting (cilium.io/PoolConflict) and hands out nothing from it"


@dataclass
class CiliumConfig:
    pools: list[Pool] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    # pool name -> True (a policy announces its Services), False (none can), None (cannot decide from here)
    announced: dict[str, bool | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Candidate:
    name: str
    document: dict
    blocks: list[tuple[str, IPRange, bool]]  # (entry as written, range, came from a cidr)
    order: int


def _block(block: Any) -> tuple[str, IPRange, bool] | tuple[str, str, str]:
    """(entry, range, from_cidr), or (entry, rule, fix) when the block is refused."""
    if not isinstance(block, dict):
        return str(block), "a block must be a mapping with cidr, or start and optional stop", \
            "write - cidr: 192.168.1.240/29 or - start: 192.168.1.240 stop: 192.168.1.245"
    if block.get("cidr"):
        text = str(block["cidr"])
        # lbipam_types.go CiliumLoadBalancerIPPoolIPBlock: +kubebuilder:validation:Format=cidr, and
        # lbipam.go ipRangeFromBlock reads it with netip.ParsePrefix.
        parsed = netip_parse_prefix(text)
        if parsed is None:
            fix = "use start/stop for a range: - start: A stop: B" if "-" in text else \
                f"write a real CIDR such as {text.strip()}/32" if netip_parse_addr(text.strip()) else \
                "write a CIDR like 192.168.1.240/29"
            return f"cidr: {text}", "cidr must be a real CIDR (CRD format: cidr; netip.ParsePrefix)", fix
        return f"cidr: {text}", parsed, True
    start, stop = str(block.get("start") or ""), str(block.get("stop") or "")
    entry = f"start: {start}" + (f", stop: {stop}" if stop else "")
    # lbipam.go ipRangeFromBlock: start and stop through netip.ParseAddr; no stop means the single start address.
    first = netip_parse_addr(start)
    last = netip_parse_addr(stop) if stop else first
    if first is None or last is None:
        bad = start if first is None else stop
        return entry, f"{bad!r} is not an IP address (netip.ParseAddr)", "write start: and stop: as full IP addresses"
    if first.version != last.version or first > last:
        # pkg/ipalloc NewHashAllocator refuses a range whose start is after its stop (or mixes families).
        return entry, "stop is before start, or start and stop differ in family", f"write start: {last} stop: {first}"
    return entry, IPRange(first, last), False


def _reserve_first_last(blocks: list[tuple[str, IPRange, bool]]) -> IPSet:
    # lbipam.go handleNewPool: with allowFirstLastIPs: No, the first and last address of every block that came
    # from a cidr are allocated up front, unless they are the same or adjacent (/31, /32, /127, /128).
    reserved = IPSet()
    for _, address_range, from_cidr in blocks:
        if from_cidr and address_range.last - address_range.first > 1:
            reserved.add(IPAddress(address_range.first, address_range.version))
            reserved.add(IPAddress(address_range.last, address_range.version))
    return reserved


def _read_pool(document: dict, order: int, config: CiliumConfig, source: str) -> _Candidate | None:
    name = str((document.get("metadata") or {}).get("name") or "")
    spec = document.get("spec") or {}
    shown = f"CiliumLoadBalancerIPPool {name or '(no name)'}"

    def reject(entry: str, rule: str, fix: str, upstream: str, effect: str) -> None:
        config.rejections.append(Rejection("cilium", shown, entry, rule, fix, upstream, effect, source, name or None))

    if str(document.get("apiVersion", "")).endswith("v2alpha1"):
        config.notes.append(f"{source}: {shown} uses the deprecated cilium.io/v2alpha1; write apiVersion: cilium.io/v2")
    allow = spec.get("allowFirstLastIPs")
    if allow is not None and allow not in ("Yes", "No"):
        # lbipam_types.go AllowFirstLastIPType: +kubebuilder:validation:Enum=Yes;No. Unquoted No or yes in
        # YAML 1.1 (kubectl's sigs.k8s.io/yaml) is a boolean, which the schema refuses as well.
        written = {True: "true (YAML reads an unquoted Yes/yes/true as a boolean)",
                   False: "false (YAML reads an unquoted No/no/false as a boolean)"}.get(allow, repr(allow))
        wanted = "No" if allow in (False, "no", "NO", "false", "False") else "Yes"
        reject(f"allowFirstLastIPs: {written}", "allowFirstLastIPs must be exactly the string Yes or No",
               f'write allowFirstLastIPs: "{wanted}" (quoted)', f"{TYPES} AllowFirstLastIPType", NOT_CREATED)
        return None
    if "cidrs" in spec and not spec.get("blocks"):
        # lbipam_types.go CiliumLoadBalancerIPPoolSpec has only blocks: the API server prunes the unknown
        # spec.cidrs (removed in Cilium 1.16), leaving a pool with no addresses.
        reject("spec.cidrs", "spec.cidrs was removed in Cilium 1.16; the field is dropped and the pool is empty",
               "rename spec.cidrs to spec.blocks", f"{TYPES} CiliumLoadBalancerIPPoolSpec", NOT_LOADED)
        return None
    raw_blocks = spec.get("blocks")
    if not isinstance(raw_blocks, list) or not raw_blocks:
        config.notes.append(f"{source}: {shown} has no blocks, so it hands out no address")
        return None
    blocks = []
    for raw in raw_blocks:
        entry, parsed, extra = _block(raw)
        if isinstance(parsed, str):
            effect = NOT_CREATED if entry.startswith("cidr:") else NOT_LOADED
            upstream = f"{TYPES} CiliumLoadBalancerIPPoolIPBlock" if entry.startswith("cidr:") else \
                f"{LBIPAM} ipRangeFromBlock"
            reject(entry, parsed, str(extra), upstream, effect)
            return None
        blocks.append((entry, parsed, bool(extra)))
    return _Candidate(name, document, blocks, order)


def _created(candidate: _Candidate) -> tuple[str, int]:
    stamp = (candidate.document.get("metadata") or {}).get("creationTimestamp")
    return (str(stamp) if stamp else "~", candidate.order)  # no timestamp: created in file order, after the cluster's


def lb_ip_pools(documents: list[dict], policies: list[dict], source: str, policies_known: bool = False) -> CiliumConfig:
    """Every CiliumLoadBalancerIPPool the operator would hand addresses from, and which ones it disables.

    ``policies_known`` says the policies given are all there are (read from the cluster), so a
    pool no policy covers is decidedly not announced.
    """
    config = CiliumConfig()
    candidates = [c for c in (_read_pool(d, i, config, source) for i, d in enumerate(documents)) if c]
    live: list[_Candidate] = []
    for candidate in candidates:
        shown = f"CiliumLoadBalancerIPPool {candidate.name}"
        inside = overlapping_pairs((entry, r) for entry, r, _ in candidate.blocks)
        if inside:
            # lbipam.go settleConflicts -> lbrange.go areRangesInternallyConflicting: the whole pool is disabled.
            config.rejections.append(Rejection(
                "cilium", shown, inside[0][1], f"it overlaps {inside[0][0]!r} in the same pool",
                "remove the overlapping block", f"{LBIPAM} settleConflicts", DISABLED, source, candidate.name))
            continue
        live.append(candidate)
    # lbipam.go settleConflicts: of two pools that share an address, the newer one (creationTimestamp) is disabled.
    accepted: list[_Candidate] = []
    for candidate in sorted(live, key=_created):
        clash = next(((older, a, b) for older in accepted for _, a, _f in older.blocks for e, b, _g in candidate.blocks
                      if a.version == b.version and a.first <= b.last and b.first <= a.last), None)
        if clash:
            older = clash[0]
            entry = next(e for e, r, _ in candidate.blocks if r is clash[2])
            config.rejections.append(Rejection(
                "cilium", f"CiliumLoadBalancerIPPool {candidate.name}", entry,
                f"it overlaps pool {older.name}, which is older; Cilium disables the newer pool",
                f"move this block out of {older.name}'s addresses", f"{LBIPAM} settleConflicts", DISABLED, source,
                candidate.name))
            continue
        accepted.append(candidate)
    for candidate in sorted(accepted, key=lambda c: c.order):
        spec = candidate.document.get("spec") or {}
        handed_out = IPSet(r for _, r, _ in candidate.blocks)
        if spec.get("allowFirstLastIPs") == "No":
            handed_out -= _reserve_first_last(candidate.blocks)
        config.pools.append(Pool(
            name=candidate.name, ranges=ranges_of(handed_out), kind="cilium", source=source,
            # lbipam_types.go Disabled: no new IPs from this pool; existing allocations stay.
            auto_assign=spec.get("disabled", False) is not True,
            declared=tuple(e for e, _, _ in candidate.blocks), labels=tuple(sorted(labels_of(candidate.document).items()))))
        config.announced[candidate.name] = _announced(spec.get("serviceSelector"), policies, policies_known)
    return config


def _announced(pool_selector: Any, policies: list[dict], policies_known: bool) -> bool | None:
    """Does some CiliumL2AnnouncementPolicy announce the Services this pool serves? None when undecidable.

    # l2announcement_types.go CiliumL2AnnouncementPolicySpec: serviceSelector nil means every Service;
    # loadBalancerIPs must be true for LB IPs to be announced.
    """
    announcing = [p for p in policies if ((p.get("spec") or {}).get("loadBalancerIPs") is True)]
    if not announcing:
        return False if (policies or policies_known) else None
    pool_needs = required_labels(pool_selector) if pool_selector is not None else {}
    undecided = False
    for policy in announcing:
        selector = (policy.get("spec") or {}).get("serviceSelector")
        if selector is None or selector == {}:
            return True
        policy_needs = required_labels(selector)
        only_labels = not selector.get("matchExpressions")
        if pool_needs is not None and policy_needs is not None and only_labels and \
                all(pool_needs.get(k) == v for k, v in policy_needs.items()):
            return True  # every Service the pool serves carries the labels the policy asks for
        if pool_needs and policy_needs and any(k in pool_needs and pool_needs[k] != v for k, v in policy_needs.items()):
            continue  # the pool serves only Services that this policy can never select
        undecided = True
    return None if undecided else False
