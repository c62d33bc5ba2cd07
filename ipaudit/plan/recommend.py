"""Recommendations: free zones, a replacement block per troubled pool, or the DHCP shrink that makes room."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from netaddr import IPRange

from ipaudit.addresses import format_range
from ipaudit.findings import Code
from ipaudit.model import Finding, Lan, Pool, Severity
from ipaudit.plan.zones import DHCP_BUFFER, FreeBlocks, dhcp_shrink, free_space, free_zones

#: How many free zones a report lists.
ZONES_SHOWN = 8
#: Findings a new block would fix; the other warnings have their own fix in their message.
MOVE_CODES = frozenset({Code.POOL_NO_BUFFER, Code.DHCP_RANGE_FILLS_SUBNET})
#: Critical findings a new block would not fix: the device squatting a live VIP must go, and a refused
#: manifest must be written correctly, wherever the pool is.
STAY_CODES = frozenset({Code.VIP_CLAIMED_BY_FOREIGN_DEVICE, Code.MANIFEST_REJECTED})


@dataclass(frozen=True)
class Recommendation:
    """One thing to do. ``kind`` is free-zones, use-block, shrink-dhcp or no-room (JSON contract)."""

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


def _shrink_message(shrink, size: int) -> str:
    if shrink.new_range is None:
        change = f"remove DHCP range {format_range(shrink.old_range)} ({shrink.label})"
    else:
        change = (f"shrink DHCP range {format_range(shrink.old_range)} ({shrink.label}) "
                  f"to {format_range(shrink.new_range)}")
    return (f"{change}, wait for the leases in the freed part to expire, "
            f"then use {format_range(shrink.block)} ({size} addresses)")


def place(lan: Lan, others: Sequence[Pool], size: int, pool_name: str | None) -> Recommendation:
    """The best block of ``size`` addresses clear of ``others``; a DHCP shrink when none is free."""
    return _place(lan, FreeBlocks(lan, others).best_block(size), others, size, pool_name)


def _place(lan: Lan, block: IPRange | None, others: Sequence[Pool], size: int,
           pool_name: str | None) -> Recommendation:
    target = f"pool {pool_name}" if pool_name else "a pool"
    if block is not None:
        return Recommendation("use-block", f"use {format_range(block)} ({size} addresses) for {target}: "
                              f"free, outside DHCP with a {DHCP_BUFFER}-address buffer where possible",
                              pool=pool_name, block=block)
    shrink = dhcp_shrink(lan, others, size)
    if shrink is not None:
        return Recommendation("shrink-dhcp", f"for {target}: " + _shrink_message(shrink, size), pool=pool_name,
                              block=shrink.block, dhcp_range=shrink.old_range, new_dhcp_range=shrink.new_range)
    return Recommendation("no-room", f"no block of {size} free addresses fits in {lan.subnet} for {target}, "
                          "even after shrinking one DHCP range", pool=pool_name)


def troubled(pool: Pool, findings: Sequence[Finding]) -> bool:
    return any(f.pool == pool.name and f.code not in STAY_CODES and
               (f.severity is Severity.CRITICAL or f.code in MOVE_CODES) for f in findings)


def recommend_for_check(pools: Sequence[Pool], lan: Lan, findings: Sequence[Finding]) -> list[Recommendation]:
    """What check-pool suggests: a new place for each troubled pool, and the free zones."""
    if lan.subnet is None or not any(troubled(p, findings) for p in pools):
        return []
    advice: list[Recommendation] = []
    claimed: list[Pool] = []
    # One index of the free runs serves every pool: each search reads a few runs, not all of them.
    free = FreeBlocks(lan, pools)
    for pool in pools:
        if not troubled(pool, findings):
            continue
        block = free.best_block(pool.size, pool)
        # The pools other than this one are only needed when no block is free (a DHCP shrink).
        others = [p for p in pools if p is not pool] + claimed if block is None else []
        advice.append(_place(lan, block, others, pool.size, pool.name))
        if advice[-1].block is not None:
            # The next troubled pool must not be sent to the same block.
            claimed.append(replace(pool, name=f"{pool.name} (recommended)", ranges=(advice[-1].block,)))
            free.claim(advice[-1].block)
    advice.append(_zones(lan, list(pools)))
    return advice


def recommend_block(lan: Lan, pools: Sequence[Pool], size: int, pool_name: str) -> list[Recommendation]:
    """What ``ipaudit recommend`` suggests: one block of ``size`` clear of ``pools``, and the free zones."""
    return [place(lan, pools, size, pool_name), _zones(lan, pools)]
