"""The pure checks: every way a load-balancer pool can collide with the LAN, as Findings.

Each check takes the pools and the Lan and returns findings; ``check_pools``
runs them all. Messages name exact addresses so a user can act without
re-deriving anything.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator, Mapping, Sequence

from netaddr import IPAddress, IPNetwork

from ipaudit.addressset import AddressSet, intersecting_pairs

from ipaudit.addresses import describe_set, format_range, format_set
from ipaudit.findings import Code, finding
from ipaudit.model import Finding, Lan, Pool
from ipaudit.plan.ownership import classify, ownership_findings
from ipaudit.plan.zones import DHCP_BUFFER

#: A pool spanning more /24s than this is summarised rather than listed for .0/.255.
BUGGY_IP_LIST_LIMIT = 256


def _finding(code: Code, pool: Pool | None, message: str, addresses: AddressSet) -> Finding:
    prefix = f"pool {pool.name}: " if pool is not None else ""
    return finding(code, prefix + message, addresses=format_set(addresses), pool=pool.name if pool else None)


def _count(addresses: AddressSet) -> str:
    size = addresses.size
    return f"{size} address{'es' if size != 1 else ''}"


def _family(addresses: AddressSet, version: int) -> AddressSet:
    return AddressSet(r for r in addresses.iter_ipranges() if r.version == version)


def check_subnet(pool: Pool, lan: Lan) -> Iterator[Finding]:
    """Each family of the pool against the LAN's subnet of that family: a dual-stack pool is two halves."""
    for known in lan.subnets:
        subnet = known.network
        outside = _family(pool.addresses, subnet.version) - AddressSet([subnet])
        if outside:
            yield _finding(Code.POOL_OUTSIDE_SUBNET, pool,
                           f"{describe_set(outside)} ({_count(outside)}) outside subnet {subnet}: "
                           "nodes cannot answer ARP for addresses off their LAN", outside)
        if subnet.version == 4 and subnet.prefixlen <= 30:
            for code, address, what in ((Code.POOL_INCLUDES_NETWORK_ADDRESS, subnet.network, "network"),
                                         (Code.POOL_INCLUDES_BROADCAST_ADDRESS, subnet.broadcast, "broadcast")):
                if address in pool.addresses:
                    yield _finding(code, pool, f"includes {address}, the {what} address of {subnet}",
                                   AddressSet([address]))
        elif subnet.version == 6 and subnet.prefixlen <= 126 and subnet.network in pool.addresses:
            yield _finding(Code.POOL_INCLUDES_NETWORK_ADDRESS, pool,
                           f"includes {subnet.network}, the subnet-router anycast address of {subnet}",
                           AddressSet([subnet.network]))


def check_gateway(pool: Pool, lan: Lan) -> Iterator[Finding]:
    """Every router anyone named: when sources disagree, a pool must keep clear of each of them."""
    for router in lan.routers:
        if router.address in pool.addresses:
            yield _finding(Code.POOL_INCLUDES_GATEWAY, pool,
                           f"includes the gateway {router.address} ({router.origin}): announcing it would hijack "
                           "the LAN's router", AddressSet([router.address]))


def check_dhcp(pool: Pool, lan: Lan) -> Iterator[Finding]:
    for dhcp_range in lan.dhcp_ranges:
        r = dhcp_range.addresses
        overlap = pool.addresses & AddressSet.from_spans([(r.first, r.last, r.version)])
        if overlap:
            yield _finding(Code.POOL_OVERLAPS_DHCP, pool,
                           f"{describe_set(overlap)} ({_count(overlap)}) inside DHCP range "
                           f"{format_range(dhcp_range.addresses)} ({dhcp_range.label}): the DHCP server "
                           "can lease these to any device", overlap)
    for server in lan.dhcp_servers:
        if server.offered_ip is not None and server.offered_ip in pool.addresses:
            yield _finding(Code.POOL_OVERLAPS_DHCP, pool,
                           f"DHCP server {server.server_id or server.mac} offered {server.offered_ip}, "
                           "an address inside the pool", AddressSet([server.offered_ip]))


def check_buffer(pool: Pool, lan: Lan) -> Iterator[Finding]:
    for dhcp_range in lan.dhcp_ranges:
        r = dhcp_range.addresses
        near = pool.addresses & AddressSet.from_spans([(r.first - DHCP_BUFFER, r.last + DHCP_BUFFER, r.version)])
        if near and not pool.addresses & AddressSet.from_spans([(r.first, r.last, r.version)]):
            yield _finding(Code.POOL_NO_BUFFER, pool,
                           f"{describe_set(near)} within {DHCP_BUFFER} addresses of DHCP range "
                           f"{format_range(r)} ({dhcp_range.label}): a small change to the DHCP range "
                           "would overlap the pool", near)


def _labelled(addresses: AddressSet, labels: dict[IPAddress, str], limit: int = 6) -> str:
    """The first ``limit`` addresses with what is known of each (MAC, hostname), then a count."""
    shown: list[str] = []
    for address_range in addresses.iter_ipranges():
        for ip in address_range:
            if len(shown) == limit:
                break
            shown.append(f"{ip} ({labels[ip]})" if labels.get(ip) else str(ip))
    more = addresses.size - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def check_in_use(pool: Pool, lan: Lan) -> Iterator[Finding]:
    # A node answering for a VIP is the cluster at work, not a conflict: ownership sorts who answers.
    owners = classify(pool.addresses & lan.in_use, lan)
    yield from ownership_findings(pool, owners)
    in_use = owners.foreign
    for block in lan.proxied:
        # A router answering by proxy ARP is no device to evict: the route or the proxy_arp switch must change.
        claimed = in_use & AddressSet([block.block])
        if claimed:
            router = f"router {block.router} ({block.mac})" if block.router is not None else f"router MAC {block.mac}"
            yield _finding(Code.POOL_ADDRESS_IN_USE, pool,
                           f"{describe_set(claimed)} answered by {router} by proxy ARP for {block.block}, which it "
                           "routes elsewhere: claimed by the router, not by devices; drop that route or proxy_arp "
                           "on the router, or pick another block", claimed)
            in_use -= claimed
    if in_use:
        yield _finding(Code.POOL_ADDRESS_IN_USE, pool,
                       f"{_labelled(in_use, lan.labels)} already in use on the LAN: a device answers there "
                       "and would fight the load balancer for the address", in_use)
    leased = pool.addresses & lan.leased_set
    if leased:
        yield _finding(Code.POOL_ADDRESS_LEASED, pool,
                       f"{_labelled(leased, lan.labels)} leased by the DHCP server right now", leased)


def check_reserved(pool: Pool, lan: Lan) -> Iterator[Finding]:
    reserved = pool.addresses & lan.reserved_set
    if reserved:
        plural = "es" if reserved.size > 1 else ""
        yield _finding(Code.POOL_INCLUDES_RESERVED, pool,
                       f"includes reserved address{plural} {_labelled(reserved, lan.labels)}", reserved)
    nodes = pool.addresses & lan.nodes
    if nodes:
        yield _finding(Code.POOL_INCLUDES_NODE, pool,
                       f"includes cluster node address{'es' if nodes.size > 1 else ''} {describe_set(nodes)}",
                       nodes)


def check_host_bits(pool: Pool, lan: Lan) -> Iterator[Finding]:
    for cidr in pool.cidrs_with_host_bits:
        network = IPNetwork(cidr).cidr
        yield _finding(Code.POOL_CIDR_HOST_BITS, pool,
                       f"{cidr} has host bits set; MetalLB silently uses the whole {network}",
                       AddressSet([network]))


def _buggy_addresses(pool: Pool) -> AddressSet:
    buggy = []
    for r in pool.ranges:
        if r.version != 4:
            continue
        blocks: Sequence[int] = range(r.first >> 8, (r.last >> 8) + 1)
        if len(blocks) > BUGGY_IP_LIST_LIMIT:
            blocks = list(blocks[:BUGGY_IP_LIST_LIMIT // 2]) + list(blocks[-BUGGY_IP_LIST_LIMIT // 2:])
        for block in blocks:
            for address in ((block << 8), (block << 8) | 0xFF):
                if r.first <= address <= r.last:
                    buggy.append(IPAddress(address, 4))
    return AddressSet(buggy)


def check_buggy_ips(pool: Pool, lan: Lan) -> Iterator[Finding]:
    if pool.avoid_buggy_ips:
        return
    buggy = _buggy_addresses(pool)
    if lan.subnet is not None and lan.subnet.version == 4:
        buggy -= AddressSet([lan.subnet.network, lan.subnet.broadcast])  # already critical above
    if buggy:
        yield _finding(Code.POOL_BUGGY_IPS, pool,
                       f"includes {describe_set(buggy)}, ending in .0 or .255, which some consumer devices "
                       "drop; set avoidBuggyIPs: true or leave them out", buggy)


def check_room(pools: Sequence[Pool], lan: Lan) -> Iterator[Finding]:
    if lan.subnet is None or not lan.dhcp_ranges:
        return
    largest = lan.free_set.largest_run()
    for pool in pools:
        if largest < pool.size:
            yield _finding(Code.DHCP_RANGE_FILLS_SUBNET, pool,
                           f"outside the DHCP ranges the largest free block in {lan.subnet} has {largest} "
                           f"address{'es' if largest != 1 else ''}, fewer than the pool's {pool.size}: "
                           "shrink the DHCP range to make room", AddressSet())


PoolCheck = Callable[[Pool, Lan], Iterable[Finding]]
POOL_CHECKS: tuple[PoolCheck, ...] = (
    check_dhcp, check_in_use, check_subnet, check_gateway, check_reserved,
    check_host_bits, check_buggy_ips, check_buffer,
)


def check_overlapping_pools(pools: Sequence[Pool]) -> Iterator[Finding]:
    """``pool-overlaps-pool`` on each of the two pools that share addresses: both hand them out."""
    # A sort-and-sweep finds the overlapping pairs, in combinations() order: trying every pair took
    # 12 s for 4,000 pools.
    for i, j in intersecting_pairs([pool.addresses for pool in pools]):
        first, second = pools[i], pools[j]
        overlap = first.addresses & second.addresses
        if overlap:
            for pool, other in ((first, second), (second, first)):
                yield finding(Code.POOL_OVERLAPS_POOL,
                              f"pool {pool.name}: {describe_set(overlap)} ({_count(overlap)}) also in pool "
                              f"{other.name} ({other.source}): two pools would hand out the same address",
                              addresses=format_set(overlap), pool=pool.name,
                              subject=(pool.name, other.name, *format_set(overlap)))


def _families(pools: Sequence[Pool], lan: Lan) -> list[int]:
    """The address families being checked: the pools', or for ``recommend`` (no pools) the DHCP ranges'."""
    addresses = AddressSet(r for pool in pools for r in pool.ranges) if pools else lan.dhcp_set
    return sorted({r.version for r in addresses.iter_ipranges()}) or [4]


def check_subnet_known(pools: Sequence[Pool], lan: Lan) -> Iterator[Finding]:
    """``subnet-unknown`` for each checked family with no subnet, or only an assumed one."""
    for version in _families(pools, lan):
        known = lan.subnet_for(version)
        if known is None:
            yield finding(Code.SUBNET_UNKNOWN,
                          f"no IPv{version} subnet given or found (no DHCP source, scan inventory or local interface "
                          "holds the pool), so the subnet, network, broadcast and free-zone checks were skipped; "
                          "give --subnet CIDR", subject=(f"ipv{version}",))
        elif known.assumed:
            yield finding(Code.SUBNET_UNKNOWN,
                          f"no IPv{version} subnet given or found: assumed {known.network}, the "
                          f"/{known.network.prefixlen} holding the DHCP range and the checked addresses; if the "
                          "LAN is wider or narrower the network, broadcast and free-zone verdicts are wrong: "
                          "give --subnet CIDR", subject=(f"ipv{version}",))


def check_gateway_known(pools: Sequence[Pool], lan: Lan) -> Iterator[Finding]:
    """``gateway-unknown`` when an IPv4 check ran without any router, ``gateways-disagree`` when several are named."""
    distinct = sorted({r.address for r in lan.routers})
    if len(distinct) > 1:
        named = "; ".join(f"{address} ({', '.join(r.origin for r in lan.routers if r.address == address)})"
                          for address in distinct)
        chosen = f"checks use {lan.gateway} ({lan.gateway_origin}) and keep pools clear of all of them" \
            if lan.gateway is not None else "no single gateway was chosen; pools are kept clear of all of them"
        yield finding(Code.GATEWAYS_DISAGREE,
                      f"the LAN's sources name {len(distinct)} different routers: {named}; {chosen}. Check which "
                      "is the router, and fix the DHCP server or route that names the wrong one",
                      addresses=[str(a) for a in distinct], subject=[str(a) for a in distinct])
    elif not distinct and 4 in _families(pools, lan):
        yield finding(Code.GATEWAY_UNKNOWN,
                      "no gateway known, so a pool holding the router cannot be caught. Give it with "
                      "--gateway IP (your router's address), --dhcp-source URI (its router option), or "
                      "--inventory from 'ipaudit scan' (the DHCP offer's router)")


def check_dhcp_ranges_in_subnet(lan: Lan) -> Iterator[Finding]:
    """``dhcp-range-outside-subnet`` for a range that spills out of the LAN's subnet of its family.

    A range a source files under another subnet (a second VLAN in one Kea config) is that LAN's business,
    not a mistake, so only ranges with no subnet of their own, or one overlapping ours, are judged.
    """
    for dhcp_range in lan.dhcp_ranges:
        known = lan.subnet_for(dhcp_range.addresses.version)
        if known is None:
            continue
        subnet = known.network
        own = dhcp_range.subnet
        if own is not None and own != subnet and not (own in subnet or subnet in own):
            continue
        outside = AddressSet([dhcp_range.addresses]) - AddressSet([subnet])
        if outside:
            text = format_range(dhcp_range.addresses)
            yield finding(Code.DHCP_RANGE_OUTSIDE_SUBNET,
                          f"DHCP range {text} ({dhcp_range.label}) is not inside subnet {subnet} "
                          f"({known.origin}): {describe_set(outside)} lie outside it. Either the range or the "
                          "subnet is wrong; the DHCP overlap checks used the range as given",
                          addresses=format_set(outside), subject=(text, str(subnet)))


def check_lan_knowledge(pools: Sequence[Pool], lan: Lan) -> Iterator[Finding]:
    """What the LAN's facts leave unchecked or contradict: unknown DHCP range, subnet or gateway."""
    if not lan.dhcp_ranges:
        offers = [s for s in lan.dhcp_servers if s.offered_ip is not None]
        seen = ""
        if offers:
            seen = " DHCP servers seen offering: " + ", ".join(
                f"{s.server_id or s.mac} offered {s.offered_ip}" + (f" in {s.subnet}" if s.subnet else "")
                for s in offers) + "."
        yield finding(Code.DHCP_RANGE_UNKNOWN,
                      "no DHCP range known, so overlap with DHCP cannot be checked." + seen +
                      " Give it with --dhcp-range FIRST-LAST (from your router's DHCP settings), "
                      "--dhcp-source URI, or --inventory from 'ipaudit scan'")
    yield from check_dhcp_ranges_in_subnet(lan)
    yield from check_subnet_known(pools, lan)
    yield from check_gateway_known(pools, lan)


#: What announces a pool in layer-2 mode, by the controller that owns the pool.
ANNOUNCERS = {"metallb": "no L2Advertisement selects this pool, so MetalLB will not answer ARP for it",
              "metallb-configmap": "the pool's protocol is not layer2, so MetalLB will not answer ARP for it",
              "cilium": "no CiliumL2AnnouncementPolicy covers this pool's Services, so Cilium will not answer "
                        "ARP for it"}


def check_advertised(pools: Sequence[Pool], advertisement: Mapping[str, bool | None]) -> Iterator[Finding]:
    """``pool-not-advertised`` for each pool the L2 objects read are known not to announce (None: cannot tell)."""
    for pool in pools:
        if advertisement.get(pool.name) is False and pool.kind in ANNOUNCERS:
            yield _finding(Code.POOL_NOT_ADVERTISED, pool, ANNOUNCERS[pool.kind], AddressSet())


def check_pools(pools: Sequence[Pool], lan: Lan, advertisement: Mapping[str, bool | None] | None = None) -> list[Finding]:
    """Every finding for these pools on this LAN, pools in order, LAN-wide findings last."""
    findings: list[Finding] = []
    for pool in pools:
        for check in POOL_CHECKS:
            findings.extend(check(pool, lan))
    findings.extend(check_room(pools, lan))
    findings.extend(check_overlapping_pools(pools))
    findings.extend(check_advertised(pools, advertisement or {}))
    findings.extend(check_lan_knowledge(pools, lan))
    return findings
