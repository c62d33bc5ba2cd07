"""Where a pool can go: free space, the best block of N addresses, and the DHCP shrink that makes room.

All set algebra over AddressSet runs; no loop walks single addresses.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

from netaddr import IPAddress, IPRange

from ipaudit.addressset import V6_BASE, AddressSet, covered_twice
from ipaudit.model import Lan, Pool, usable

#: Addresses kept between a DHCP range and a pool, so an off-by-a-few DHCP edit does not collide.
DHCP_BUFFER = 4
#: Past this many addresses from DHCP, more distance buys nothing and a CIDR-aligned block is preferred.
FAR_FROM_DHCP = 16
#: The distance _distance gives when no DHCP range of the family exists.
NO_DHCP = 1 << 128
#: How many of best_block's top blocks the second pass for a moved pool weighs (see FreeBlocks.block_near).
NEAR_CANDIDATES = 4
#: How many free runs on each side of a moved pool the second pass looks through for one that fits.
NEAR_RUNS = 32


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
    return min(gaps, default=NO_DHCP)


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
    for candidate_space in (space - padded,) if buffer_required else (space - padded, space):
        best = max((scored for a, b, version in candidate_space.runs_at_least(size)
                    for scored in _scored(a, b, version, size, firsts, dhcp_runs)),
                   key=lambda scored: scored[0], default=None)
        if best is not None:
            return span(*best[1])
    return None


def _scored(a: int, b: int, version: int, size: int, firsts: list, dhcp: list) -> Iterable[tuple[tuple, tuple]]:
    """(score, block) for each place a block of ``size`` may take in the free run [a, b]; higher is better.

    Scores of different blocks never tie (the block's first address is in the score), so the best is one block.
    """
    step = 1 << (size - 1).bit_length()
    for first, last in _placements(a, b, size):
        distance = _distance(first, last, version, firsts, dhcp)
        yield (distance >= FAR_FROM_DHCP, first % step == 0, distance, first), (first, last, version)


def _key(address: int, version: int) -> int:
    return address + (V6_BASE if version == 6 else 0)


class FreeBlocks:
    """The LAN's free runs less every pool, indexed once, so that each pool's best block costs a few runs.

    ``best_block(free_space(...))`` scores every free run for every pool: 50 pools on a LAN of 65,536
    scattered hosts meant 50 passes over 65,537 runs. Here each run carries a bound no block inside it
    can beat (the distance of its farthest address from DHCP, then its top address), and runs sit in
    lists sorted by that bound, one list per power-of-two length class. A search walks the classes long
    enough for the block, best bound first, and stops once no run left can beat the block in hand.
    A pool's own addresses are given back only around that pool, and a claimed block splits only the
    runs it touches. The choice is exactly ``best_block``'s (tests hold the two equal).
    """

    def __init__(self, lan: Lan, pools: Sequence[Pool] = ()):
        self._dhcp = list(lan.dhcp_set.runs())  # IPv4 runs first, each family in address order
        self._dhcp_firsts = [(version, first) for first, _, version in self._dhcp]
        self._padded = AddressSet.from_spans((first - DHCP_BUFFER, last + DHCP_BUFFER, version)
                                             for first, last, version in self._dhcp)
        self._free = lan.free_set
        # Pools are told apart by identity, as recommend_for_check tells "the others" apart.
        distinct = list({id(pool): pool for pool in pools}.values())
        self._pool_ids = {id(pool) for pool in distinct}
        self._shared = covered_twice(pool.addresses for pool in distinct)
        self._claimed = AddressSet()
        runs = list((self._free - AddressSet(pool.addresses for pool in distinct)).runs())
        self._firsts = [_key(first, version) for first, _, version in runs]
        self._lasts = [_key(last, version) for _, last, version in runs]
        self._runs = runs
        self._classes: dict[int, list] = {}
        for run in runs:
            self._classes.setdefault((run[1] - run[0] + 1).bit_length(), []).append(self._bound(*run))
        for entries in self._classes.values():
            entries.sort()

    def _bound(self, first: int, last: int, version: int) -> tuple:
        """(far, distance, last, first, version): no block in the run scores above (far, True, distance, last)."""
        index = bisect_left(self._dhcp_firsts, (version, first))
        below = self._dhcp[index - 1][1] if index > 0 and self._dhcp[index - 1][2] == version else None
        above = self._dhcp[index][0] if index < len(self._dhcp) and self._dhcp[index][2] == version else None
        points = {first, last}
        if below is not None and above is not None:
            # Between two DHCP runs the distance peaks midway; only the clamped midpoints can beat the ends.
            middle = (below + above) // 2
            points.update(min(max(point, first), last) for point in (middle, middle + 1))
        distance = max(min(point - below if below is not None else NO_DHCP,
                           above - point if above is not None else NO_DHCP) for point in points)
        return distance >= FAR_FROM_DHCP, distance, last, first, version

    def _add(self, run: tuple[int, int, int]) -> None:
        position = bisect_left(self._firsts, _key(run[0], run[2]))
        self._firsts.insert(position, _key(run[0], run[2]))
        self._lasts.insert(position, _key(run[1], run[2]))
        self._runs.insert(position, run)
        entries = self._classes.setdefault((run[1] - run[0] + 1).bit_length(), [])
        bound = self._bound(*run)
        entries.insert(bisect_left(entries, bound), bound)

    def _take(self, start: int, stop: int) -> list[tuple[int, int, int]]:
        """Remove the runs at positions [start, stop) and return them."""
        taken = self._runs[start:stop]
        for run in taken:
            entries = self._classes[(run[1] - run[0] + 1).bit_length()]
            del entries[bisect_left(entries, self._bound(*run))]
        del self._firsts[start:stop], self._lasts[start:stop], self._runs[start:stop]
        return taken

    def _touching(self, first: int, last: int) -> tuple[int, int]:
        """Positions [start, stop) of the runs overlapping or adjacent to keys [first, last]."""
        return bisect_left(self._lasts, first - 1), bisect_right(self._firsts, last + 1)

    def claim(self, block: IPRange) -> None:
        """Take ``block`` out of the free runs: a recommendation already sent a pool there."""
        claimed = AddressSet([block])
        self._claimed = self._claimed | claimed
        start, stop = self._touching(_key(block.first, block.version), _key(block.last, block.version))
        for run in (AddressSet.from_spans(self._take(start, stop)) - claimed).runs():
            self._add(run)

    def _given_back(self, pool: Pool | None) -> tuple[list, set]:
        """The free runs as they are when ``pool`` itself is not in the way, and the indexed runs they replace."""
        if pool is None or id(pool) not in self._pool_ids:
            return [], set()
        released = (pool.addresses - self._shared - self._claimed) & self._free
        pieces, replaced = list(released.runs()), set()
        for first, last, version in released.runs():
            start, stop = self._touching(_key(first, version), _key(last, version))
            # Free runs only touch the released pieces: they never overlap a pool's addresses.
            pieces.extend(self._runs[start:stop])
            replaced.update(self._runs[start:stop])
        return list(AddressSet.from_spans(pieces).runs()), replaced

    def _walk(self, size: int, extra: list, replaced: set) -> Iterable[tuple[tuple | None, tuple[int, int, int]]]:
        """(bound, run): the given-back runs first (no bound), then indexed runs long enough, best bound first."""
        for run in extra:
            yield None, run
        classes = [reversed(entries) for length, entries in self._classes.items() if length >= size.bit_length()]
        for far, distance, last, first, version in heapq.merge(*classes, reverse=True):
            if last - first + 1 >= size and (first, last, version) not in replaced:
                yield (far, True, distance, last), (first, last, version)

    def _ranked(self, size: int, extra: list, replaced: set, padded: bool, most: int) -> list[tuple[tuple, tuple]]:
        """The ``most`` best (score, block) in one pass (buffer kept or not), best first."""
        ranked: list[tuple[tuple, tuple]] = []
        for bound, (first, last, version) in self._walk(size, extra, replaced):
            if bound is not None and len(ranked) >= most and bound <= ranked[-1][0]:
                break  # runs come best bound first: none left can beat the blocks in hand
            run = AddressSet.from_spans([(first, last, version)])
            for a, b, piece_version in (run - self._padded if padded else run).runs_at_least(size):
                for scored in _scored(a, b, piece_version, size, self._dhcp_firsts, self._dhcp):
                    if len(ranked) < most or scored[0] > ranked[-1][0]:
                        ranked.insert(_rank_position(ranked, scored[0]), scored)
                        del ranked[most:]
        return ranked

    def best_block(self, size: int, pool: Pool | None = None) -> IPRange | None:
        """What ``best_block(free_space(lan, others, size), size, lan.dhcp_set)`` gives.

        ``others`` are the pools given to the constructor and every claimed block, less ``pool``.
        """
        if size < 1:
            return None
        extra, replaced = self._given_back(pool)
        for padded in (True, False):
            ranked = self._ranked(size, extra, replaced, padded, 1)
            if ranked:
                return span(*ranked[0][1])
        return None

    def block_near(self, size: int, pool: Pool) -> IPRange | None:
        """A block of ``size`` for ``pool`` as close to where the user put it as the buffer allows.

        A second pass over a few candidates of ``best_block``'s first pass that finds any (buffer kept,
        else not): its NEAR_CANDIDATES best, and the nearest block on each side of the pool. The one
        whose start moves least wins; its old score breaks ties. Staying close keeps the user's plan
        (``.40-.99`` for internal services) and, for a pool beside DHCP, lands on its side away from
        DHCP, since crossing the range is the longer move; far-from-DHCP only breaks ties now.
        """
        if size < 1 or not pool.ranges:
            return None
        extra, replaced = self._given_back(pool)
        planned = min(pool.ranges, key=lambda r: (r.version, r.first))
        for padded in (True, False):
            candidates = self._ranked(size, extra, replaced, padded, NEAR_CANDIDATES)
            candidates += self._beside(size, planned, extra, replaced, padded)
            if candidates:
                def moved(scored: tuple[tuple, tuple]) -> tuple:
                    first, _, version = scored[1]
                    return version != planned.version, abs(first - planned.first), tuple(-x for x in scored[0])
                return span(*min(candidates, key=moved)[1])
        return None

    def _beside(self, size: int, planned: IPRange, extra: list, replaced: set,
                padded: bool) -> list[tuple[tuple, tuple]]:
        """(score, block) nearest ``planned`` in the runs around it: each given-back run, and the first run
        that fits on each side, looking at most NEAR_RUNS runs away."""
        version = planned.version
        position = bisect_left(self._firsts, _key(planned.first, version))
        below = (self._runs[i] for i in range(position - 1, max(position - 1 - NEAR_RUNS, -1), -1))
        above = (self._runs[i] for i in range(position, min(position + NEAR_RUNS, len(self._runs))))
        found = []
        for runs, stop_at_first in ((extra, False), (below, True), (above, True)):
            for run in runs:
                if run in replaced or run[2] != version:
                    continue
                piece = AddressSet.from_spans([run])
                pieces = list((piece - self._padded if padded else piece).runs_at_least(size))
                for a, b, _ in pieces:
                    first = min(max(planned.first, a), b - size + 1)
                    distance = _distance(first, first + size - 1, version, self._dhcp_firsts, self._dhcp)
                    step = 1 << (size - 1).bit_length()
                    found.append(((distance >= FAR_FROM_DHCP, first % step == 0, distance, first),
                                  (first, first + size - 1, version)))
                if pieces and stop_at_first:
                    break
        return found


def _rank_position(ranked: list, score: tuple) -> int:
    """Where ``score`` goes in ``ranked`` (best first): after every score at least as high."""
    position = 0
    while position < len(ranked) and ranked[position][0] >= score:
        position += 1
    return position


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


def keep_shrink(lan: Lan, pool: Pool, others: Iterable[Pool]) -> DhcpShrink | None:
    """The DHCP cut that lets ``pool`` stay where the user put it, or None when more than DHCP is in the way.

    Only DHCP may stand in the way: the pool must already lie in the usable subnet, clear of every
    owned address and every other pool. One DHCP range may touch the pool plus its buffer; it keeps
    the larger side (the lower one on a tie, so it keeps its start), or goes when no side is left.
    """
    if lan.subnet is None or len(pool.ranges) != 1 or pool.addresses.size == 0:
        return None
    block = pool.ranges[0]
    others_set = AddressSet(r for other in others if other is not pool for r in other.ranges)
    # Two small intersections, not one with the union: owned_set may hold 65,536 hosts.
    if pool.addresses - usable(lan.subnet) or pool.addresses & lan.owned_set or pool.addresses & others_set:
        return None
    low, high = block.first - DHCP_BUFFER, block.last + DHCP_BUFFER
    touching = [d for d in lan.dhcp_ranges if d.addresses.version == block.version
                and d.addresses.first <= high and d.addresses.last >= low]
    if len(touching) != 1:
        return None
    old = touching[0].addresses
    sides = [(last - first + 1, -first, span(first, last, old.version))
             for first, last in ((old.first, min(old.last, low - 1)), (max(old.first, high + 1), old.last))
             if first <= last]
    kept = max(sides, key=lambda side: side[:2])[2] if sides else None
    return DhcpShrink(old, kept, touching[0].label, block)
