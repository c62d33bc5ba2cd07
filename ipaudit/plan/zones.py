"""Where a pool can go: free space, the best block of N addresses, and the DHCP shrink that makes room.

All set algebra over AddressSet runs; no loop walks single addresses.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from dataclasses import dataclass, replace
from typing import Iterable

from netaddr import IPAddress, IPRange

from ipaudit.addressset import AddressSet
from ipaudit.model import Lan, Pool, usable

#: Addresses kept between a DHCP range and a pool, so an off-by-a-few DHCP edit does not collide.
DHCP_BUFFER = 4
#: Past this many addresses from DHCP, more distance buys nothing and a CIDR-aligned block is preferred.
FAR_FROM_DHCP = 16


def span(first: int, last: int, version: int) -> IPRange:
    """An IPRange from integers, clamped to the address family (a bare int would guess the family)."""
    top = (1 << (32 if version == 4 else 128)) - 1
    return IPRange(IPAddress(max(first, 0), version), IPAddress(min(last, top), version))


def free_space(lan: Lan, pools: Iterable[Pool] = (), at_least: int = 1) -> AddressSet:
    """The LAN's free addresses, less those of ``pools``; only runs of ``at_least`` addresses if asked.

    Taking pools away only splits runs, so runs already too short can be dropped first: on a LAN
    of thousands of scattered hosts that keeps every later step small.
    """
    space = lan.free_set.wide(at_least) if at_least > 1 else lan.free_set
    claimed = AddressSet(r for pool in pools for r in pool.ranges)
    return space - claimed if claimed else space


def free_zones(space: AddressSet, most: int | None = None) -> list[IPRange]:
    """Contiguous free ranges, largest first, then in address order; the first ``most`` of them."""
    order = (lambda run: (-(run[1] - run[0]), run[2], run[0]))
    runs = sorted(space.runs(), key=order) if most is None else heapq.nsmallest(most, space.runs(), key=order)
    return [span(*run) for run in runs]


def _distance(first: int, last: int, version: int, firsts: list, dhcp: list) -> int:
    """How far a block lies from the nearest DHCP address of its family (large when there is none)."""
    index = bisect_left(firsts, (version, first))
    gaps = []
    # DHCP runs are disjoint and sorted, so only the neighbours around the block can be nearest.
    for neighbour in (index - 1, index):
        if 0 <= neighbour < len(dhcp) and dhcp[neighbour][2] == version:
            dhcp_first, dhcp_last, _ = dhcp[neighbour]
            gaps.append(dhcp_first - last if dhcp_first > last else first - dhcp_last if dhcp_last < first else 0)
    return min(gaps, default=1 << 128)


def _placements(a: int, b: int, size: int) -> list[tuple[int, int]]:
    """The two ends of a zone [a, b], each also snapped to a CIDR-aligned start when it still fits."""
    step = 1 << (size - 1).bit_length()
    top_aligned = ((b - size + 1) // step) * step
    bottom_aligned = -(-a // step) * step
    starts = {a, b - size + 1}
    starts.update(s for s in (top_aligned, bottom_aligned) if a <= s and s + size - 1 <= b)
    return [(s, s + size - 1) for s in starts]


def best_block(space: AddressSet, size: int, dhcp: AddressSet, buffer: int = DHCP_BUFFER,
               buffer_required: bool = False) -> IPRange | None:
    """The block of ``size`` free addresses to recommend, or None when none fits.

    Preference: keep ``buffer`` addresses away from DHCP (dropped only when
    nothing fits with it, unless ``buffer_required``), then at least FAR_FROM_DHCP
    away, then CIDR-aligned, then as far from DHCP as possible (the far end
    of the subnet), then the higher address.
    """
    if size < 1:
        return None
    dhcp_runs = list(dhcp.runs())  # IPv4 runs first, each family in address order
    firsts = [(version, first) for first, _, version in dhcp_runs]
    padded = AddressSet.from_spans((first - buffer, last + buffer, version) for first, last, version in dhcp_runs)
    step = 1 << (size - 1).bit_length()
    for candidate_space in (space - padded,) if buffer_required else (space - padded, space):
        best, best_score = None, None
        for a, b, version in candidate_space.runs_at_least(size):
            for first, last in _placements(a, b, size):
                distance = _distance(first, last, version, firsts, dhcp_runs)
                score = (distance >= FAR_FROM_DHCP, first % step == 0, distance, first)
                if best_score is None or score > best_score:
                    best, best_score = (first, last, version), score
        if best is not None:
            return span(*best)
    return None


@dataclass(frozen=True)
class DhcpShrink:
    """Shrink one DHCP range so that a block of the wanted size fits; ``new_range`` None means drop it."""

    old_range: IPRange
    new_range: IPRange | None
    label: str
    block: IPRange


class _CutTrial:
    """Free space around one DHCP range, to try cuts to it cheaply.

    Only called when no block fits anywhere, so a block can appear only where
    the cut frees addresses: within ``size`` of the range. The window adds the
    buffer on top, so DHCP further away cannot matter.
    """

    def __init__(self, lan: Lan, claimed: AddressSet, index: int, size: int):
        r = self.range = lan.dhcp_ranges[index].addresses
        reach = size + DHCP_BUFFER
        low, high = r.first - reach, r.last + reach
        window = AddressSet.from_spans([(low, high, r.version)])
        nearby = [(d.first, d.last, d.version) for i, d in enumerate(d.addresses for d in lan.dhcp_ranges)
                  if i != index and d.version == r.version and d.last >= low and d.first <= high]
        self.others = AddressSet.from_spans(nearby) & window
        self.space = (usable(lan.subnet) & window) - lan.owned_set - claimed - self.others
        self.size = size

    def kept(self, bound: int, from_top: bool) -> IPRange | None:
        """What stays of the range when the cut starts above ``bound`` (from_top) or below it."""
        first, last = (self.range.first, bound) if from_top else (bound, self.range.last)
        return span(first, last, self.range.version) if first <= last else None

    def block(self, kept: IPRange | None) -> IPRange | None:
        # A shrink is a deliberate change: it must leave the buffer, or the next edit overlaps again.
        new = AddressSet(kept) if kept is not None else AddressSet()
        return best_block(self.space - new, self.size, self.others | new, buffer_required=True)

    def smallest_cut(self, from_top: bool) -> DhcpShrink | None:
        r = self.range
        # Binary search between a bound known to fit (range dropped) and one known not to (range kept whole).
        fits, fails = (r.first - 1, r.last) if from_top else (r.last + 1, r.first)
        if self.block(None) is None:
            return None
        while abs(fits - fails) > 1:
            middle = (fits + fails) // 2
            if self.block(self.kept(middle, from_top)) is not None:
                fits = middle
            else:
                fails = middle
        kept = self.kept(fits, from_top)
        return DhcpShrink(r, kept, "", self.block(kept))


def dhcp_shrink(lan: Lan, pools: Iterable[Pool], size: int) -> DhcpShrink | None:
    """The smallest cut to one DHCP range that frees ``size`` addresses (plus buffer) inside the subnet."""
    if lan.subnet is None:
        return None
    claimed = AddressSet(r for pool in pools for r in pool.ranges)
    options = []
    for index, dhcp_range in enumerate(lan.dhcp_ranges):
        if dhcp_range.addresses.version != lan.subnet.version:
            continue
        trial = _CutTrial(lan, claimed, index, size)
        for from_top in (True, False):
            shrink = trial.smallest_cut(from_top)
            if shrink is not None:
                kept = shrink.new_range.size if shrink.new_range is not None else 0
                # Most addresses kept for DHCP wins; on a tie, cut the top (the range keeps its start).
                options.append((kept, from_top, replace(shrink, label=dhcp_range.label)))
    return max(options, key=lambda option: option[:2])[2] if options else None
