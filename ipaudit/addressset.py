"""AddressSet: an immutable set of IP addresses kept as sorted integer runs, for the planner's set algebra.

Why not netaddr.IPSet: every IPSet operation re-merges all its CIDRs in Python,
so a scan inventory of 65,536 scattered hosts takes about a second to build and
another per difference. Here union, intersection and difference are linear
merges over (first, last) integer pairs: the same 65,536 hosts cost
milliseconds. netaddr still parses and prints every address; this class only
does the arithmetic, with IPSet's method names.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from heapq import heappop, heappush
from typing import Iterable, Iterator, Sequence, Union

from netaddr import IPAddress, IPNetwork, IPRange, IPSet

# IPv6 keys live above every IPv4 key, so one sorted list holds both families and runs never join across them.
V6_BASE = 1 << 129

Member = Union["AddressSet", IPAddress, IPRange, IPNetwork, IPSet, str]


def _runs_of(member: Member) -> Iterator[tuple[int, int]]:
    if isinstance(member, AddressSet):
        yield from member._runs
    elif isinstance(member, IPAddress):
        key = int(member) + (V6_BASE if member.version == 6 else 0)
        yield key, key
    elif isinstance(member, (IPRange, IPNetwork)):
        base = V6_BASE if member.version == 6 else 0
        yield member.first + base, member.last + base
    elif isinstance(member, IPSet):
        for address_range in member.iter_ipranges():
            yield from _runs_of(address_range)
    elif isinstance(member, str):
        yield from _runs_of(IPNetwork(member) if "/" in member else IPAddress(member))
    else:
        raise TypeError(f"cannot put {type(member).__name__} in an AddressSet")


def _normalise(runs: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    runs.sort()
    merged: list[list[int]] = []
    for first, last in runs:
        if merged and first <= merged[-1][1] + 1 and (first < V6_BASE) == (merged[-1][0] < V6_BASE):
            if last > merged[-1][1]:
                merged[-1][1] = last
        else:
            merged.append([first, last])
    return tuple((first, last) for first, last in merged)


class AddressSet:
    """Immutable; build one from addresses, ranges, networks, IPSets or other AddressSets."""

    __slots__ = ("_runs", "_bounds", "_wide")

    def __init__(self, members: Member | Iterable[Member] = ()):
        if isinstance(members, (IPAddress, IPRange, IPNetwork, IPSet, AddressSet, str)):
            members = [members]  # one range is one member, not an iterable of its addresses
        self._set_runs(_normalise([run for member in members for run in _runs_of(member)]))

    def _set_runs(self, runs: tuple[tuple[int, int], ...]) -> None:
        self._runs = runs
        self._bounds: tuple[list[int], list[int]] | None = None
        self._wide: dict[int, AddressSet] = {}

    @property
    def _firsts(self) -> list[int]:
        return self._search_bounds()[0]

    @property
    def _lasts(self) -> list[int]:
        return self._search_bounds()[1]

    def _search_bounds(self) -> tuple[list[int], list[int]]:
        # Built on first search only: most sets in a plan are made, combined once and dropped.
        if self._bounds is None:
            self._bounds = ([first for first, _ in self._runs], [last for _, last in self._runs])
        return self._bounds

    @classmethod
    def from_spans(cls, spans: Iterable[tuple[int, int, int]]) -> AddressSet:
        """From (first, last, version) integers, clamped to the family: no netaddr objects made."""
        runs = []
        for first, last, version in spans:
            base, top = (V6_BASE, (1 << 128) - 1) if version == 6 else (0, (1 << 32) - 1)
            runs.append((max(first, 0) + base, min(last, top) + base))
        return cls._from_runs(_normalise(runs))

    @classmethod
    def _from_runs(cls, runs: tuple[tuple[int, int], ...]) -> AddressSet:
        made = cls.__new__(cls)
        made._set_runs(runs)
        return made

    # -- set algebra: each walks the smaller side and bisects into the larger -------------------------
    def __or__(self, other: AddressSet) -> AddressSet:
        return AddressSet._from_runs(_normalise(list(self._runs) + list(other._runs)))

    def __and__(self, other: AddressSet) -> AddressSet:
        small, large = (self, other) if len(self._runs) <= len(other._runs) else (other, self)
        result = []
        for first, last in small._runs:
            k = bisect_left(large._lasts, first)
            while k < len(large._runs) and large._runs[k][0] <= last:
                result.append((max(first, large._runs[k][0]), min(last, large._runs[k][1])))
                k += 1
        return AddressSet._from_runs(tuple(result))

    def __sub__(self, other: AddressSet) -> AddressSet:
        runs, position, pending = self._runs, 0, None
        result: list[tuple[int, int]] = []
        if not runs:
            return self
        # Only the cuts that reach into this set's span matter: a small set minus a huge one stays cheap.
        start = bisect_left(other._lasts, runs[0][0])
        stop = bisect_right(other._firsts, runs[-1][1], start)
        for cut_first, cut_last in other._runs[start:stop]:
            if pending is not None and pending[1] < cut_first:
                result.append(pending)
                pending = None
            if pending is None:
                # Runs wholly before this cut are copied as one slice.
                untouched = bisect_left(self._lasts, cut_first, position)
                result.extend(runs[position:untouched])
                position = untouched
                if position == len(runs):
                    break
                pending, position = runs[position], position + 1
            while pending is not None and pending[0] <= cut_last:
                if pending[0] < cut_first:
                    result.append((pending[0], cut_first - 1))
                if pending[1] > cut_last:
                    pending = (cut_last + 1, pending[1])
                    break
                if position < len(runs):
                    pending, position = runs[position], position + 1
                else:
                    pending = None
        if pending is not None:
            result.append(pending)
        result.extend(runs[position:])
        return AddressSet._from_runs(tuple(result))

    def isdisjoint(self, other: AddressSet) -> bool:
        return not (self & other)

    def issubset(self, other: AddressSet) -> bool:
        return not (self - other)

    def __contains__(self, address: IPAddress) -> bool:
        (key, _), = _runs_of(address)
        index = bisect_right(self._firsts, key) - 1
        return index >= 0 and self._runs[index][1] >= key

    # -- size and iteration ---------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return sum(last - first + 1 for first, last in self._runs)

    def __bool__(self) -> bool:
        return bool(self._runs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AddressSet) and self._runs == other._runs

    __hash__ = None  # type: ignore[assignment]  # sets of IPs are compared, not hashed

    def runs(self) -> Iterator[tuple[int, int, int]]:
        """(first, last, version) as plain integers: cheap to scan when there are many runs."""
        for first, last in self._runs:
            if first >= V6_BASE:
                yield first - V6_BASE, last - V6_BASE, 6
            else:
                yield first, last, 4

    def wide(self, size: int) -> AddressSet:
        """Only the runs of ``size`` or more addresses (remembered per size: plans ask once per pool)."""
        if size not in self._wide:
            self._wide[size] = AddressSet._from_runs(tuple(run for run in self._runs if run[1] - run[0] + 1 >= size))
        return self._wide[size]

    def largest_run(self) -> int:
        """How many addresses the longest run holds (0 when empty)."""
        return max((last - first + 1 for first, last in self._runs), default=0)

    def runs_at_least(self, size: int) -> Iterator[tuple[int, int, int]]:
        """The runs holding ``size`` or more addresses, as ``runs()`` gives them."""
        wide = [(first, last) for first, last in self._runs if last - first + 1 >= size]
        for first, last in wide:
            yield (first - V6_BASE, last - V6_BASE, 6) if first >= V6_BASE else (first, last, 4)

    def iter_ipranges(self) -> Iterator[IPRange]:
        for first, last, version in self.runs():
            yield IPRange(IPAddress(first, version), IPAddress(last, version))

    def __iter__(self) -> Iterator[IPAddress]:
        for address_range in self.iter_ipranges():
            yield from address_range

    def __repr__(self) -> str:
        shown = ", ".join(str(r) if r.size > 1 else str(r[0]) for r in list(self.iter_ipranges())[:4])
        return f"AddressSet([{shown}{', ...' if len(self._runs) > 4 else ''}])"


def covered_twice(sets: Iterable[AddressSet]) -> AddressSet:
    """The addresses that at least two of ``sets`` hold, in one sorted pass over all their runs."""
    runs = sorted(run for member in sets for run in member._runs)
    shared, reach = [], -1
    for first, last in runs:
        # A set's own runs never overlap, so a run starting inside ``reach`` overlaps another set's run.
        if first <= reach:
            shared.append((first, min(last, reach)))
        reach = max(reach, last)
    return AddressSet._from_runs(_normalise(shared))


def intersecting_pairs(sets: Sequence[AddressSet]) -> list[tuple[int, int]]:
    """Every (i, j), i < j, whose sets share an address, in that order: a sort-and-sweep, not all pairs.

    The sweep keeps the runs still open at each run's start; every one of them overlaps it, so the
    work grows with the runs and the overlaps found, not with the square of the number of sets.
    """
    runs = sorted((first, last, index) for index, member in enumerate(sets) for first, last in member._runs)
    open_runs: list[tuple[int, int]] = []
    pairs: set[tuple[int, int]] = set()
    for first, last, index in runs:
        while open_runs and open_runs[0][0] < first:
            heappop(open_runs)
        # A set's own runs are disjoint, so every open run belongs to another set.
        pairs.update((min(other, index), max(other, index)) for _, other in open_runs)
        heappush(open_runs, (last, index))
    return sorted(pairs)
