"""MetalLB: IPAddressPools, L2Advertisements and the legacy ConfigMap, as metallb's own config parser sees them.

MetalLB validates the whole configuration at once (internal/config/config.go For);
one bad object makes the controller refuse all of it (it keeps the last good
configuration, or none), and the admission webhook refuses the object that brought
the error. So one rejection here means no MetalLB pool is checked as if it were live.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from netaddr import IPNetwork, IPRange, IPSet

from ipaudit.controllers import (EntryRefused, Rejection, go_parse_ip, overlapping_pairs, ranges_of,
                                 without_ipv4_ends)
from ipaudit.controllers.selectors import BadSelector, labels_of, selector_matches
from ipaudit.model import Pool

CONFIG_GO = "metallb internal/config/config.go"
PARSE_CIDR = f"{CONFIG_GO} ParseCIDR"
WHOLE_CONFIG = "MetalLB refuses its whole configuration (the webhook refuses this object on apply)"
# metallb v0.12 internal/config/config.go addressPool: yaml.UnmarshalStrict refuses any other key.
LEGACY_POOL_KEYS = {"protocol", "name", "addresses", "avoid-buggy-ips", "auto-assign", "bgp-advertisements"}
LEGACY_TOP_KEYS = {"peers", "bgp-communities", "address-pools", "bfd-profiles"}


@dataclass
class MetallbConfig:
    """What MetalLB would load: its pools (empty when refused), the refusals, and the L2-advertised pool names."""

    pools: list[Pool] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    advertised: set[str] | None = None
    notes: list[str] = field(default_factory=list)


def _full_form_fix(entry: str) -> str:
    """How to write the entry so MetalLB takes it, from what the user meant (ipaudit's lenient reading)."""
    from ipaudit.addresses import format_range, parse_spec

    forms = []
    for item in (part.replace(" ", "") for part in entry.split(",")):
        try:
            ranges = parse_spec(item).ranges
        except Exception:  # noqa: BLE001 - the fix is a hint; the rule already says what is wrong
            return "write a CIDR like 192.168.1.240/29 or a full range like 192.168.1.240-192.168.1.245"
        if "/" in item:
            forms.append(item)
        elif ranges[0].first == ranges[0].last:
            forms.append(f"{item}/{32 if ranges[0].version == 4 else 128}")
        else:
            forms.append(format_range(ranges[0]))
    if len(forms) == 1:
        return f"write {forms[0]}"
    return "write one entry per item: " + ", ".join(forms)


def parse_entry(entry: Any) -> list[IPRange]:
    """One ``spec.addresses`` entry, exactly as MetalLB's ParseCIDR reads it; EntryRefused when it would refuse."""
    if not isinstance(entry, str):
        raise EntryRefused("an address entry must be a string", "quote it", "metallb api/v1beta1 ipaddresspool_types.go")
    if "-" not in entry:
        # metallb internal/config/config.go ParseCIDR: no dash means net.ParseCIDR, which wants a/len,
        # takes no spaces, no list and no bare IP.
        address_text, slash, prefix = entry.partition("/")
        address = go_parse_ip(address_text) if slash else None
        width = None if address is None else (32 if address.version == 4 else 128)
        if ":" in address_text and address is not None and address.version == 4:
            width = 128  # ::ffff:a.b.c.d/len: Go keeps an IPv6 mask and applies its last 32 bits
        if address is None or width is None or not prefix.isdigit() or int(prefix) > width:
            if "," in entry:
                rule = "a comma list inside one entry is not a CIDR"
            elif not slash and go_parse_ip(entry.strip()) is not None:
                rule = "a bare IP is not a CIDR"
            elif entry != entry.strip() or " " in entry:
                rule = "a CIDR with spaces is not a CIDR"
            else:
                rule = "not a CIDR"
            raise EntryRefused(f"{rule} (net.ParseCIDR fails)", _full_form_fix(entry), PARSE_CIDR)
        prefix_len = int(prefix) - (96 if width == 128 and address.version == 4 else 0)
        network = IPNetwork(f"{address}/{max(prefix_len, 0)}").cidr  # host bits are dropped silently
        return [IPRange(network.first, network.last)]
    # ParseCIDR: a dash means a range, split once, each side trimmed and read by net.ParseIP.
    start_text, end_text = entry.split("-", 1)
    start, end = go_parse_ip(start_text.strip()), go_parse_ip(end_text.strip())
    if start is None or end is None:
        side = end_text if start is not None else start_text
        if "," in entry:
            rule = "a comma list inside one entry is not a range"
        elif start is not None and side.strip().isdigit():
            rule = "the shorthand a-NNN is not a range: the end must be a full IP"
        else:
            rule = f"invalid {'end' if start is not None else 'start'} IP {side.strip()!r}"
        raise EntryRefused(rule, _full_form_fix(entry), PARSE_CIDR)
    if start.version != end.version:
        return []  # ipaddr.Summarize returns nothing for mixed families: the entry is accepted and empty
    if start > end:
        raise EntryRefused(f"start IP {start} is after the end IP {end}", f"write {end}-{start}", PARSE_CIDR)
    return [IPRange(start, end)]


def _name(document: dict) -> tuple[str, str]:
    metadata = document.get("metadata") or {}
    name = str(metadata.get("name") or "")
    namespace = metadata.get("namespace")
    return name, f"{name}" if not namespace else f"{namespace}/{name}"


def _host_bits(declared: list[str]) -> tuple[str, ...]:
    """CIDR entries written with host bits (192.168.1.5/24): MetalLB silently takes the whole network."""
    found = []
    for entry in declared:
        if "/" in entry and "-" not in entry:
            address = go_parse_ip(entry.partition("/")[0])
            if address is not None and address.version == 4 and ":" not in entry and \
                    IPNetwork(f"{address}/{entry.partition('/')[2]}").cidr.ip != address:
                found.append(entry)
    return tuple(found)


def _pool(name: str, declared: list[str], ranges: list[IPRange], avoid_buggy: bool, **extra: Any) -> Pool:
    handed_out = IPSet(ranges)
    if avoid_buggy:
        # metallb internal/allocator/allocator.go ipConfusesBuggyFirmwares: with avoidBuggyIPs no IPv4
        # address ending in .0 or .255 is ever handed out, from CIDRs and ranges alike.
        handed_out = without_ipv4_ends(handed_out)
    return Pool(name=name, ranges=ranges_of(handed_out), avoid_buggy_ips=avoid_buggy, declared=tuple(declared),
                cidrs_with_host_bits=_host_bits(declared), **extra)


def _check_overlaps(entries: list[tuple[str, str, IPRange]], config: MetallbConfig, kind: str, source: str) -> None:
    # metallb internal/config/config.go poolsFor: every CIDR is checked against every one defined before it,
    # in the same pool too ("CIDR %q in pool %q overlaps with already defined CIDR %q").
    labelled = [(f"{index}", r) for index, (_, _, r) in enumerate(entries)]
    for first, second in overlapping_pairs(labelled):
        a, b = entries[int(first)], entries[int(second)]
        where = "inside pool " + a[0] if a[0] == b[0] else f"between pools {a[0]} and {b[0]}"
        config.rejections.append(Rejection(
            "metallb", f"{kind} {b[0]}", b[1], f"it overlaps {a[1]!r} ({where}); MetalLB refuses overlapping CIDRs",
            "remove the overlap: every address may belong to one entry of one pool only",
            f"{CONFIG_GO} poolsFor", WHOLE_CONFIG, source, b[0]))
        return  # MetalLB stops at the first overlap


def _parse_addresses(name: str, addresses: list, entries: list[tuple[str, str, IPRange]],
                     on_refused: Callable[[str, EntryRefused], None]) -> tuple[list[IPRange], list[str]] | None:
    """Each entry of one pool parsed as MetalLB parses it: the ranges, and the entries that yield none.

    None when any entry is refused (each refusal reported through ``on_refused``). The
    ranges are also added to ``entries`` for the overlap check across pools.
    """
    ranges: list[IPRange] = []
    empty: list[str] = []
    refused = False
    for entry in addresses:
        try:
            parsed = parse_entry(entry)
        except EntryRefused as refusal:
            on_refused(str(entry), refusal)
            refused = True
            continue
        if not parsed:
            empty.append(str(entry))
        ranges.extend(parsed)
        entries.extend((name, str(entry), r) for r in parsed)
    return None if refused else (ranges, empty)


def ipaddresspools(pool_documents: list[dict], l2_documents: list[dict], source: str) -> MetallbConfig:
    """The MetalLB CRD configuration (IPAddressPool + L2Advertisement) in ``source``."""
    config = MetallbConfig()
    seen: set[str] = set()
    entries: list[tuple[str, str, IPRange]] = []
    labels_by_pool: dict[str, dict[str, str]] = {}
    for document in pool_documents:
        name, shown = _name(document)
        spec = document.get("spec") or {}
        kind = "IPAddressPool"
        reject = lambda entry, rule, fix, upstream: config.rejections.append(  # noqa: E731
            Rejection("metallb", f"{kind} {shown or '(no name)'}", entry, rule, fix, upstream, WHOLE_CONFIG, source,
                      name or None))
        if not name:
            reject("", "missing pool name", "set metadata.name", f"{CONFIG_GO} addressPoolFromCR")
            continue
        if name in seen:
            reject(name, f"duplicate definition of pool {name!r}", "give each pool its own name",
                   f"{CONFIG_GO} poolsFor")
            continue
        seen.add(name)
        addresses = spec.get("addresses")
        if not isinstance(addresses, list) or not addresses:
            reject("", "pool has no prefixes defined (spec.addresses is empty)",
                   "list at least one CIDR or range in spec.addresses", f"{CONFIG_GO} addressPoolFromCR")
            continue
        parsed = _parse_addresses(name, addresses, entries,
                                  lambda entry, refusal: reject(entry, refusal.rule, refusal.fix, refusal.upstream))
        if parsed is None:
            continue
        ranges, empty = parsed
        config.notes.extend(f"{source}: IPAddressPool {name} entry {entry!r} mixes IPv4 and IPv6: MetalLB accepts "
                            "it but hands out nothing from it" for entry in empty)
        labels_by_pool[name] = labels_of(document)
        config.pools.append(_pool(name, [str(a) for a in addresses], ranges, spec.get("avoidBuggyIPs") is True,
                                  kind="metallb", source=source,
                                  auto_assign=spec.get("autoAssign", True) is not False,
                                  namespace=(document.get("metadata") or {}).get("namespace"),
                                  labels=tuple(sorted(labels_by_pool[name].items())), protocol="layer2"))
    _check_overlaps(entries, config, "IPAddressPool", source)
    if l2_documents:
        config.advertised = _advertised(l2_documents, labels_by_pool, config, source)
    return _refuse_all_if_any(config)


def _advertised(l2_documents: list[dict], labels_by_pool: dict[str, dict[str, str]], config: MetallbConfig,
                source: str) -> set[str]:
    advertised: set[str] = set()
    for document in l2_documents:
        _, shown = _name(document)
        spec = document.get("spec") or {}
        named = [str(n) for n in spec.get("ipAddressPools") or ()]
        selectors = spec.get("ipAddressPoolSelectors") or []
        duplicated = sorted({n for n in named if named.count(n) > 1})
        if duplicated:
            # metallb internal/config/config.go l2AdvertisementFromCR -> validateDuplicate.
            config.rejections.append(Rejection(
                "metallb", f"L2Advertisement {shown}", duplicated[0],
                f"duplicate definition of ipAddressPools {duplicated[0]!r}",
                f"name {duplicated[0]} once in spec.ipAddressPools", f"{CONFIG_GO} l2AdvertisementFromCR",
                WHOLE_CONFIG, source))
            continue
        if any(selectors.count(s) > 1 for s in selectors):
            config.rejections.append(Rejection(
                "metallb", f"L2Advertisement {shown}", "ipAddressPoolSelectors",
                "duplicate definition of ipAddressPoolSelectors", "keep each selector once",
                f"{CONFIG_GO} validateLabelSelectorDuplicate", WHOLE_CONFIG, source))
            continue
        if not named and not selectors:
            # config.go setL2AdvertisementsToPools: no pool list and no selector advertises every pool.
            advertised.update(labels_by_pool)
            continue
        advertised.update(n for n in named if n in labels_by_pool)
        try:
            # config.go filterPoolsWithLabelSelector: a selector matching no pool advertises nothing.
            advertised.update(pool for pool, labels in labels_by_pool.items()
                              if any(selector_matches(s, labels) for s in selectors))
        except BadSelector as problem:
            config.rejections.append(Rejection(
                "metallb", f"L2Advertisement {shown}", "ipAddressPoolSelectors", f"invalid label selector: {problem}",
                "use matchLabels or matchExpressions with In, NotIn, Exists or DoesNotExist",
                f"{CONFIG_GO} filterWithLabelSelector", WHOLE_CONFIG, source))
    return advertised


def _refuse_all_if_any(config: MetallbConfig) -> MetallbConfig:
    if config.rejections and config.pools:
        config.notes.append("MetalLB refuses its whole configuration when one object is invalid, so pools "
                            f"{', '.join(p.name for p in config.pools)} are not checked as live pools")
        config.pools = []
        config.advertised = None
    return config


def legacy_configmap(document: dict, parsed: Any, source: str) -> MetallbConfig:
    """MetalLB < 0.13: the decoded ``config`` key of ConfigMap metallb-system/config (metallb v0.12 internal/config)."""
    config = MetallbConfig()
    _, shown = _name(document)
    kind = "ConfigMap"
    upstream = "metallb v0.12 internal/config/config.go"
    if not isinstance(parsed, dict) or not isinstance(parsed.get("address-pools"), list):
        config.rejections.append(Rejection("metallb", f"{kind} {shown}", "config", "no address-pools list",
                                           "add address-pools: with at least one pool", f"{upstream} Parse",
                                           WHOLE_CONFIG, source))
        return config
    unknown = sorted(set(parsed) - LEGACY_TOP_KEYS)
    if unknown:
        config.rejections.append(Rejection("metallb", f"{kind} {shown}", unknown[0], "unknown key (yaml.UnmarshalStrict)",
                                           f"remove or fix the key {unknown[0]!r}", f"{upstream} Parse", WHOLE_CONFIG,
                                           source))
    entries: list[tuple[str, str, IPRange]] = []
    names: set[str] = set()
    for index, pool in enumerate(parsed["address-pools"], start=1):
        pool = pool if isinstance(pool, dict) else {}
        name = str(pool.get("name") or "")
        label = f"{kind} {shown} pool {name or f'#{index}'}"
        reject = lambda entry, rule, fix, fn="parseAddressPool": config.rejections.append(  # noqa: E731
            Rejection("metallb", label, entry, rule, fix, f"{upstream} {fn}", WHOLE_CONFIG, source, name or None))
        if set(pool) - LEGACY_POOL_KEYS:
            bad = sorted(set(pool) - LEGACY_POOL_KEYS)[0]
            reject(bad, "unknown key in an address pool (yaml.UnmarshalStrict)", f"remove or fix the key {bad!r}",
                   "Parse")
            continue
        if not name:
            reject("", "missing pool name", "add name:")
            continue
        if name in names:
            reject(name, f"duplicate definition of pool {name!r}", "give each pool its own name", "Parse")
            continue
        names.add(name)
        addresses = pool.get("addresses")
        if not isinstance(addresses, list) or not addresses:
            reject("", "pool has no prefixes defined", "list at least one CIDR or range under addresses:")
            continue
        protocol = pool.get("protocol")
        if protocol in (None, ""):
            reject("", "address pool is missing the protocol field", "add protocol: layer2 (or bgp)")
            continue
        if protocol not in ("layer2", "bgp"):
            reject(str(protocol), f"unknown protocol {protocol!r}", "write protocol: layer2 or protocol: bgp")
            continue
        if protocol == "layer2" and pool.get("bgp-advertisements"):
            reject("bgp-advertisements", "cannot have bgp-advertisements configuration element in a layer2 "
                   "address pool", "remove bgp-advertisements, or make the pool protocol: bgp")
            continue
        parsed = _parse_addresses(name, addresses, entries,
                                  lambda entry, refusal: reject(entry, refusal.rule, refusal.fix))
        if parsed is None:
            continue
        ranges = parsed[0]
        config.pools.append(_pool(name, [str(a) for a in addresses], ranges, pool.get("avoid-buggy-ips") is True,
                                  kind="metallb-configmap", source=source,
                                  auto_assign=pool.get("auto-assign", True) is not False, protocol=protocol,
                                  namespace=(document.get("metadata") or {}).get("namespace")))
    _check_overlaps(entries, config, f"{kind} {shown} pool", source)
    # Before 0.13 a layer2 pool is advertised by ARP/NDP by definition; a bgp pool never is.
    config.advertised = {p.name for p in config.pools if p.protocol == "layer2"}
    return _refuse_all_if_any(config)
