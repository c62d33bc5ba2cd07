"""Where a pool can go: free space, the best block of N addresses, and the DHCP shrink that makes room.

All set algebra over netaddr; no loop walks single addresses.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable

from netaddr import IPAddress, IPNetwork, IPRange, IPSet

from ipaudit.model import Lan, Pool

#: Addresses kept between a DHCP range and a pool, so an off-by-a-few DHCP edit does not collide.
DHCP_BUFFER = 4
#: Past this many addresses from DHCP, more distance buys nothing and a CIDR-aligned block is preferred.
FAR_FROM_DHCP = 16


def span(first: int, last: int, version: int) -> IPRange:
    """An IPRange from integers, clamped to the address family (a bare int would guess the family)."""
    top = (1 << (32 if version == 4 else 128)) - 1
    return IPRange(IPAddress(max(first, 0), version), IPAddress(min(last, top), version))


def usable(subnet: IPNetwork) -> IPSet:
    """The subnet without its network and broadcast addresses (IPv4 /30 and wider)."""
    space = IPSet([subnet])
    if subnet.version == 4 and subnet.prefixlen <= 30:
        space.remove(subnet.network)
        space.remove(subnet.broadcast)
    elif subnet.version == 6 and subnet.prefixlen <= 126:
        space.remove(subnet.network)  # the subnet-router anycast address
    return space


def taken(lan: Lan, pools: Iterable[Pool] = ()) -> IPSet:
    """Every address something else already owns: gateway, DHCP, reservations, hosts, leases, nodes, pools."""
    owned = lan.dhcp_set | lan.reserved_set | lan.in_use | lan.leased_set | lan.nodes
    if lan.gateway is not None:
        owned.add(lan.gateway)
    for server in lan.dhcp_servers:
        for address in (server.server_id, server.router, server.offered_ip):
            if address is not None:
                owned.add(address)
    for pool in pools:
        owned |= pool.addresses
    return owned


def free_space(lan: Lan, pools: Iterable[Pool] = ()) -> IPSet:
    if lan.subnet is None:
        return IPSet()
    return usable(lan.subnet) - taken(lan, pools)


def free_zones(space: IPSet) -> list[IPRange]:
    """Contiguous free ranges, largest first, then in address order."""
    return sorted(space.iter_ipranges(), key=lambda r: (-r.size, r.first))


def _distance(first: int, last: int, dhcp: list[IPRange]) -> int:
    """How far a block lies from the nearest DHCP address (large when there is none)."""
    gaps = [r.first - last for r in dhcp if r.first > last] + [first - r.last for r in dhcp if r.last < first]
    return min(gaps, default=1 << 128)


def _placements(zone: IPRange, size: int) -> list[tuple[int, int]]:
    """The two ends of a zone, each also snapped to a CIDR-aligned start when it still fits."""
    a, b = zone.first, zone.last
    step = 1 << (size - 1).bit_length()
    top_aligned = ((b - size + 1) // step) * step
    bottom_aligned = -(-a // step) * step
    starts = {a, b - size + 1}
    starts.update(s for s in (top_aligned, bottom_aligned) if a <= s and s + size - 1 <= b)
    return [(s, s + size - 1) for s in starts]


def best_block(space: IPSet, size: int, dhcp: IPSet, buffer: int = DHCP_BUFFER,
               buffer_required: bool = False) -> IPRange | None:
    """The block of ``size`` free addresses to recommend, or None when none fits.

    Preference: keep ``buffer`` addresses away from DHCP (dropped only when
    nothing fits with it, unless ``buffer_required``), then at least FAR_FROM_DHCP
    away, then CIDR-aligned, then as far from DHCP as possible (the far end
    of the subnet), then the higher address.
    """
    if size < 1:
        return None
    dhcp_ranges = list(dhcp.iter_ipranges())
    padded = IPSet(span(r.first - buffer, r.last + buffer, r.version) for r in dhcp_ranges)
    for candidate_space in (space - padded,) if buffer_required else (space - padded, space):
        best, best_score = None, None
        for zone in candidate_space.iter_ipranges():
            if zone.size < size:
                continue
            for first, last in _placements(zone, size):
                aligned = first % (1 << (size - 1).bit_length()) == 0
                distance = _distance(first, last, dhcp_ranges)
                score = (distance >= FAR_FROM_DHCP, aligned, distance, first)
                if best_score is None or score > best_score:
                    best, best_score = span(first, last, zone.version), score
        if best is not None:
            return best
    return None


@dataclass(frozen=True)
class DhcpShrink:
    """Shrink one DHCP range so that a block of the wanted size fits; ``new_range`` None means drop it."""

    old_range: IPRange
    new_range: IPRange | None
    label: str
    block: IPRange


def _feasible(lan: Lan, pools: list[Pool], index: int, new: IPRange | None, size: int) -> IPRange | None:
    ranges = list(lan.dhcp_ranges)
    if new is None:
        del ranges[index]
    else:
        ranges[index] = replace(ranges[index], addresses=new)
    trial = replace(lan, dhcp_ranges=tuple(ranges))
    # A shrink is a deliberate change: it must leave the buffer, or the next edit overlaps again.
    return best_block(free_space(trial, pools), size, trial.dhcp_set, buffer_required=True)


def _shrink_top(lan: Lan, pools: list[Pool], index: int, size: int) -> DhcpShrink | None:
    old = lan.dhcp_ranges[index].addresses
    # Keep [first, k]; smaller k frees more, so search the largest k that fits.
    if _feasible(lan, pools, index, None, size) is None:
        return None
    low, high = old.first - 1, old.last  # low: known feasible (range dropped), high: known infeasible
    while high - low > 1:
        middle = (low + high) // 2
        if _feasible(lan, pools, index, span(old.first, middle, old.version), size) is not None:
            low = middle
        else:
            high = middle
    new = None if low < old.first else span(old.first, low, old.version)
    return DhcpShrink(old, new, lan.dhcp_ranges[index].label, _feasible(lan, pools, index, new, size))


def _shrink_bottom(lan: Lan, pools: list[Pool], index: int, size: int) -> DhcpShrink | None:
    old = lan.dhcp_ranges[index].addresses
    if _feasible(lan, pools, index, None, size) is None:
        return None
    low, high = old.first, old.last + 1  # low: known infeasible, high: known feasible (dropped)
    while high - low > 1:
        middle = (low + high) // 2
        if _feasible(lan, pools, index, span(middle, old.last, old.version), size) is not None:
            high = middle
        else:
            low = middle
    new = None if high > old.last else span(high, old.last, old.version)
    return DhcpShrink(old, new, lan.dhcp_ranges[index].label, _feasible(lan, pools, index, new, size))


def dhcp_shrink(lan: Lan, pools: Iterable[Pool], size: int) -> DhcpShrink | None:
    """The smallest cut to one DHCP range that frees ``size`` addresses (plus buffer) inside the subnet."""
    if lan.subnet is None:
        return None
    pools = list(pools)
    options = []
    for index, dhcp_range in enumerate(lan.dhcp_ranges):
        if dhcp_range.addresses.version != lan.subnet.version:
            continue
        for shrink in (_shrink_top(lan, pools, index, size), _shrink_bottom(lan, pools, index, size)):
            if shrink is not None:
                kept = shrink.new_range.size if shrink.new_range is not None else 0
                options.append((kept, shrink.new_range is not None and shrink.new_range.first == shrink.old_range.first, shrink))
    if not options:
        return None
    return max(options, key=lambda option: (option[0], option[1]))[2]
