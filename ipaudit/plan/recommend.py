"""Recommendations: free zones, a replacement block per troubled pool, or the DHCP shrink that makes room."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from netaddr import IPRange

from ipaudit.addresses import format_range
from ipaudit.addressset import AddressSet
from ipaudit.findings import Code
from ipaudit.model import Finding, Lan, Pool, Severity, usable
from ipaudit.plan.zones import (DHCP_BUFFER, DhcpShrink, FreeBlocks, dhcp_shrink, free_space, free_zones,
                                 keep_shrink, span)

#: How many free zones a report lists.
ZONES_SHOWN = 8
#: Findings a new block would fix; the other warnings have their own fix in their message.
MOVE_CODES = frozenset({Code.POOL_NO_BUFFER, Code.DHCP_RANGE_FILLS_SUBNET})
#: Critical findings a new block would not fix: the device squatting a live VIP must go, and a refused
#: manifest must be written correctly, wherever the pool is.
STAY_CODES = frozenset({Code.VIP_CLAIMED_BY_FOREIGN_DEVICE, Code.MANIFEST_REJECTED})
#: A DHCP cut of up to this many addresses is small whatever the pool's size: the buffer on both sides,
#: so a one-address VIP at the edge of DHCP (1 address plus a 4-address buffer) can stay.
SMALL_CUT_FLOOR = 2 * DHCP_BUFFER


@dataclass(frozen=True)
class Recommendation:
    """One thing to do. ``kind`` is free-zones, use-block, shrink-dhcp or no-room (JSON contract).

    A pool may get two, best first: the DHCP cut that keeps its block, then a move needing no DHCP change.
    """

    kind: str
    message: str
    pool: str | None = None
    block: IPRange | None = None
    dhcp_range: IPRange | None = None
    new_dhcp_range: IPRange | None = None
    zones: tuple[IPRange, ...] = ()


def _zones(lan: Lan, pools: Sequence[Pool]) -> Recommendation:
    zones = tuple(free_zones(free_space(lan, pools), ZONES_SHOWN))
    listed = ", ".join(f"{format_range(z)} ({z.size})" for z in zones) or "none"
    return Recommendation("free-zones", f"free zones in {lan.subnet}, largest first: {listed}", zones=zones)


def _shrink_message(shrink, size: int, kept_block: bool = False) -> str:
    if shrink.new_range is None:
        change = f"remove DHCP range {format_range(shrink.old_range)} ({shrink.label})"
    else:
        change = (f"shrink DHCP range {format_range(shrink.old_range)} ({shrink.label}) "
                  f"to {format_range(shrink.new_range)}")
    then = "keep your" if kept_block else "use"
    return (f"{change}, wait for the leases in the freed part to expire, "
            f"then {then} {format_range(shrink.block)} ({_addresses(size)})")


def _addresses(size: int) -> str:
    return f"{size} address{'es' if size != 1 else ''}"


def _unverified(lan: Lan) -> str:
    """What a block is worth when no DHCP range is known: it may sit in the middle of the router's pool."""
    if lan.dhcp_ranges:
        return f"free, outside DHCP with a {DHCP_BUFFER}-address buffer where possible"
    return ("UNVERIFIED: no DHCP range is known, so the router may hand these addresses out; give --dhcp-range "
            "or --dhcp-source before applying it")


def largest_possible(lan: Lan, others: Sequence[Pool]) -> tuple[IPRange | None, str]:
    """The largest block any recommendation could give, and what it needs ("" or the DHCP range to remove).

    Free space as it is, then each same-family DHCP range removed in turn, the others kept
    at their buffer, as ``dhcp_shrink`` would cut them.
    """
    if lan.subnet is None:
        return None, ""
    claimed = AddressSet(r for pool in others for r in pool.ranges)
    options = [(free_space(lan, others), "")]
    for dhcp_range in lan.dhcp_ranges:
        if dhcp_range.addresses.version != lan.subnet.version:
            continue
        kept = AddressSet.from_spans((d.addresses.first - DHCP_BUFFER, d.addresses.last + DHCP_BUFFER,
                                      d.addresses.version) for d in lan.dhcp_ranges if d is not dhcp_range)
        options.append((usable(lan.subnet) - lan.owned_set - claimed - kept,
                        f"after removing DHCP range {format_range(dhcp_range.addresses)} ({dhcp_range.label})"))
    best = None
    for space, needs in options:
        for first, last, version in space.runs():
            if best is None or last - first > best[0].last - best[0].first:
                best = (span(first, last, version), needs)
    return best if best is not None else (None, "")


def _no_room(lan: Lan, others: Sequence[Pool], size: int, target: str, pool_name: str | None) -> Recommendation:
    """One message naming the largest block that could ever be had, so the user knows what size to ask for."""
    block, needs = largest_possible(lan, others)
    if block is None:
        largest = f"no address of {lan.subnet} is free"
    else:
        largest = f"the largest possible is {format_range(block)} ({_addresses(block.size)}" + \
            (f", {needs})" if needs else ", free now)")
    return Recommendation("no-room", f"{_addresses(size)} can never fit in {lan.subnet} for {target}: {largest}",
                          pool=pool_name)


def place(lan: Lan, others: Sequence[Pool], size: int, pool_name: str | None) -> Recommendation:
    """The best block of ``size`` addresses clear of ``others``; a DHCP shrink when none is free."""
    return _place(lan, FreeBlocks(lan, others).best_block(size), others, size, pool_name)


def _place(lan: Lan, block: IPRange | None, others: Sequence[Pool], size: int,
           pool_name: str | None, pool: Pool | None = None) -> Recommendation:
    """A free block; else the DHCP shrink that keeps ``pool`` where it is; else any shrink; else no room."""
    target = f"pool {pool_name}" if pool_name else "a pool"
    if block is not None:
        return Recommendation("use-block", f"use {format_range(block)} ({_addresses(size)}) for {target}: "
                              + _unverified(lan), pool=pool_name, block=block)
    # Keeping the user's own block beats a move: their manifests, DNS and firewall rules already name it.
    shrink = keep_shrink(lan, pool, others) if pool is not None else None
    kept_block = shrink is not None
    shrink = shrink or dhcp_shrink(lan, others, size)
    if shrink is not None:
        return Recommendation("shrink-dhcp", f"for {target}: " + _shrink_message(shrink, size, kept_block),
                              pool=pool_name, block=shrink.block, dhcp_range=shrink.old_range,
                              new_dhcp_range=shrink.new_range)
    return _no_room(lan, others, size, target, pool_name)


def troubled(pool: Pool, findings: Sequence[Finding]) -> bool:
    return any(f.pool == pool.name and f.code not in STAY_CODES and
               (f.severity is Severity.CRITICAL or f.code in MOVE_CODES) for f in findings)


def small_cut(shrink: DhcpShrink, pool: Pool) -> bool:
    """Whether keeping ``pool`` is worth the DHCP cut ``shrink`` asks, when a free block elsewhere exists.

    Small means DHCP gives up no more addresses than the pool holds (or SMALL_CUT_FLOOR, for tiny
    pools) and keeps at least as many as it loses. Then the LAN trades at most one-for-one, while a
    move costs the user every manifest, DNS record and firewall rule naming the old block; a cut
    that would halve the DHCP range risks running its clients out of leases, so a move wins there.
    """
    kept = shrink.new_range.size if shrink.new_range is not None else 0
    removed = shrink.old_range.size - kept
    return removed <= max(pool.size, SMALL_CUT_FLOOR) and kept >= removed


def _advise(lan: Lan, free: FreeBlocks, pools: Sequence[Pool], claimed: Sequence[Pool],
            pool: Pool) -> list[Recommendation]:
    """The DHCP cut that keeps ``pool`` (if small) then a move near it; or the move; or any shrink; or no room."""
    block = free.block_near(pool.size, pool)
    others = [p for p in pools if p is not pool] + list(claimed)
    keep = keep_shrink(lan, pool, others)
    if block is None or keep is None or not small_cut(keep, pool):
        return [_place(lan, block, others, pool.size, pool.name, pool)]
    target = f"pool {pool.name}"
    return [Recommendation("shrink-dhcp", f"for {target}: " + _shrink_message(keep, pool.size, kept_block=True),
                           pool=pool.name, block=keep.block, dhcp_range=keep.old_range,
                           new_dhcp_range=keep.new_range),
            Recommendation("use-block", f"or, with no DHCP change, move {target} to {format_range(block)} "
                           f"({_addresses(pool.size)}): " + _unverified(lan), pool=pool.name, block=block)]


def recommend_for_check(pools: Sequence[Pool], lan: Lan, findings: Sequence[Finding]) -> list[Recommendation]:
    """What check-pool suggests: for each troubled pool, keep it or move it (see _advise); and the free zones."""
    if lan.subnet is None or not any(troubled(p, findings) for p in pools):
        return []
    advice: list[Recommendation] = []
    claimed: list[Pool] = []
    # One index of the free runs serves every pool: each search reads a few runs, not all of them.
    free = FreeBlocks(lan, pools)
    for pool in pools:
        if not troubled(pool, findings):
            continue
        for item in _advise(lan, free, pools, claimed, pool):
            advice.append(item)
            if item.block is not None:
                # The next troubled pool must not be sent to a block already offered.
                claimed.append(replace(pool, name=f"{pool.name} (recommended)", ranges=(item.block,)))
                free.claim(item.block)
    advice.append(_zones(lan, list(pools)))
    return advice


def recommend_block(lan: Lan, pools: Sequence[Pool], size: int, pool_name: str) -> list[Recommendation]:
    """What ``ipaudit recommend`` suggests: one block of ``size`` clear of ``pools``, and the free zones."""
    return [place(lan, pools, size, pool_name), _zones(lan, pools)]


def _placed(pool_name: str, advice: Sequence[Recommendation]) -> Recommendation | None:
    """The recommendation ``--emit`` follows for a pool: a block safe now (a move) over one safe after a shrink.

    When a pool may stay after a small DHCP cut or move, the manifest for staying is the one the user
    already has; what is worth writing, and safe to apply at once, is the move.
    """
    placed = [item for item in advice if item.pool == pool_name and item.block is not None]
    return next((item for item in placed if item.kind == "use-block"), placed[0] if placed else None)


def emitted_pools(pools: Sequence[Pool], advice: Sequence[Recommendation]) -> tuple[Pool, ...]:
    """The pools as ``--emit`` writes them: each moved to its recommended block, if it has one.

    A pool typed on the command line gets avoidBuggyIPs (nothing of the user's says otherwise);
    a pool from a manifest keeps its own setting, its kind, namespace and labels.
    """
    emitted = []
    for pool in pools:
        placed = _placed(pool.name, advice)
        block = placed.block if placed is not None else None
        avoid = pool.avoid_buggy_ips or pool.kind == "cli"
        if block is not None:
            emitted.append(replace(pool, ranges=(block,), source="recommended", avoid_buggy_ips=avoid, declared=(),
                                   cidrs_with_host_bits=()))
        else:
            emitted.append(replace(pool, avoid_buggy_ips=avoid))
    return tuple(emitted)


@dataclass(frozen=True)
class EmitBlockers:
    """Why a manifest is not yet safe to apply: DHCP shrinks to do first, and pools with no safe block at all."""

    shrinks: tuple[str, ...] = ()
    unsafe: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.shrinks or self.unsafe)


def emit_blockers(emitted: Sequence[Pool], findings: Sequence[Finding],
                  advice: Sequence[Recommendation]) -> EmitBlockers:
    """What stands between ``emitted`` and a blind ``kubectl apply``: nothing, or the steps and problems."""
    shrinks, unsafe = [], []
    for pool in emitted:
        placed = _placed(pool.name, advice)
        if placed is not None:
            if placed.kind == "shrink-dhcp":
                shrinks.append(placed.message)
            continue
        if troubled(pool, findings):
            worst = next((f for f in findings if f.pool == pool.name and f.severity is Severity.CRITICAL),
                         next(f for f in findings if f.pool == pool.name))
            unsafe.append(f"pool {pool.name}: {worst.message}")
    return EmitBlockers(tuple(shrinks), tuple(unsafe))
