"""The indexed block search (FreeBlocks) against the plain one it replaces, on random LANs.

The reference is the search as it was before the index: for each pool, the free space less every
other pool and every block already recommended, scored run by run with ``best_block``.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings, strategies as st
from netaddr import IPAddress, IPNetwork, IPRange

from ipaudit.addressset import AddressSet
from ipaudit.model import DhcpRange, Lan, Pool, usable
from ipaudit.plan.checks import check_pools
from ipaudit.plan.recommend import recommend_for_check, small_cut, troubled
from ipaudit.plan.zones import (DHCP_BUFFER, FAR_FROM_DHCP, NO_DHCP, FreeBlocks, best_block, dhcp_shrink, free_space,
                                 keep_shrink)

SUBNETS = (IPNetwork("198.51.100.0/24"), IPNetwork("203.0.113.0/25"), IPNetwork("198.18.0.0/22"))


@st.composite
def random_plans(draw) -> tuple[Lan, list[Pool]]:
    """A LAN with 0-3 DHCP ranges, scattered hosts and reservations, and 1-6 pools that may overlap
    each other, the LAN's devices, DHCP, or leave the subnet; one pool may be listed twice."""
    subnet = draw(st.sampled_from(SUBNETS))
    base, top = subnet.first, subnet.last
    offsets = st.integers(0, top - base)

    def addresses(most: int) -> list[IPAddress]:
        return [IPAddress(base + draw(offsets)) for _ in range(draw(st.integers(0, most)))]

    dhcp = []
    for _ in range(draw(st.integers(0, 3))):
        first = base + draw(offsets)
        dhcp.append(DhcpRange(IPRange(first, min(top, first + draw(st.integers(0, 80)))), "r"))
    gateway = draw(st.one_of(st.none(), st.just(IPAddress(base + 1)), offsets.map(lambda o: IPAddress(base + o))))
    lan = Lan(subnet=subnet, gateway=gateway, dhcp_ranges=tuple(dhcp), in_use=AddressSet(addresses(40)),
              reserved_addresses=AddressSet(addresses(6)), nodes=AddressSet(addresses(3)))
    pools = []
    for index in range(draw(st.integers(1, 6))):
        first = base + draw(st.integers(-8, top - base))
        last = first + draw(st.integers(0, 70))
        pools.append(Pool(f"pool-{index}", (IPRange(first, last),)))
    if draw(st.booleans()):
        pools.append(pools[0])  # the same object twice: "the other pools" are told apart by identity
    return lan, pools


def nearest_by_brute_force(lan: Lan, others: list[Pool], pool: Pool) -> IPRange | None:
    """Every start of every free place, buffer kept if any place keeps it: the one moving the pool least,
    best_block's score breaking ties. What FreeBlocks.block_near must find among its few candidates."""
    space = free_space(lan, others, at_least=pool.size)
    dhcp = list(lan.dhcp_set.runs())
    padded = AddressSet.from_spans((first - DHCP_BUFFER, last + DHCP_BUFFER, v) for first, last, v in dhcp)
    planned = pool.ranges[0].first
    step = 1 << (pool.size - 1).bit_length()
    for candidate_space in (space - padded, space):
        places = []
        for a, b, version in candidate_space.runs_at_least(pool.size):
            for first in range(a, b - pool.size + 2):
                last = first + pool.size - 1
                distance = min((max(d_first - last, first - d_last, 0) for d_first, d_last, _ in dhcp),
                               default=NO_DHCP)
                score = (distance >= FAR_FROM_DHCP, first % step == 0, distance, first)
                places.append(((abs(first - planned), tuple(-x for x in score)), IPRange(first, last)))
        if places:
            return min(places, key=lambda place: place[0])[1]
    return None


def reference_advice(lan: Lan, pools: list[Pool], movers: list[Pool]) -> list[list[tuple[str, IPRange | None]]]:
    """Each mover's (kind, block) list as the plain searches find it, blocks already given counting as pools:
    keep the pool after a small DHCP cut then move it near; else move it near; else a shrink; else no room."""
    claimed: list[Pool] = []
    expected = []
    for pool in movers:
        others = [p for p in pools if p is not pool] + claimed
        move = nearest_by_brute_force(lan, others, pool)
        keep = keep_shrink(lan, pool, others)
        if move is not None and keep is not None and small_cut(keep, pool):
            items = [("shrink-dhcp", keep.block), ("use-block", move)]
        elif move is not None:
            items = [("use-block", move)]
        else:
            # Issue 8 section 5: the shrink that keeps the pool where it is comes before any other.
            shrink = keep or dhcp_shrink(lan, others, pool.size)
            items = [("shrink-dhcp", shrink.block) if shrink is not None else ("no-room", None)]
        expected.append(items)
        claimed += [replace(pool, ranges=(block,)) for _, block in items if block is not None]
    return expected


@settings(max_examples=200, deadline=None)
@given(random_plans())
def test_index_finds_the_same_block_as_the_plain_search(plan):
    lan, pools = plan
    free = FreeBlocks(lan, pools)
    claimed: list[Pool] = []
    for pool in pools:
        others = [p for p in pools if p is not pool] + claimed
        expected = best_block(free_space(lan, others, at_least=pool.size), pool.size, lan.dhcp_set)
        assert free.best_block(pool.size, pool) == expected
        if expected is not None:
            claimed.append(replace(pool, ranges=(expected,)))
            free.claim(expected)
    # A size no pool has, clear of every pool and claim: what ``ipaudit recommend`` asks.
    size = 1 + sum(len(pool.name) for pool in pools) % 40
    assert free.best_block(size) == best_block(free_space(lan, list(pools) + claimed, at_least=size), size,
                                               lan.dhcp_set)


@settings(max_examples=150, deadline=None)
@given(random_plans())
def test_check_pool_advice_equals_reference_and_never_touches_anything_taken(plan):
    lan, pools = plan
    findings = check_pools(pools, lan)
    movers = [pool for pool in pools if troubled(pool, findings)]
    advice = [a for a in recommend_for_check(pools, lan, findings) if a.kind != "free-zones"]
    expected = reference_advice(lan, pools, movers)
    assert [(a.kind, a.block) for a in advice] == [item for items in expected for item in items]
    given_blocks = AddressSet()
    owners = [pool for pool, items in zip(movers, expected) for _ in items]
    for recommendation, pool in zip(advice, owners):
        if recommendation.block is None:
            continue
        block = AddressSet([recommendation.block])
        assert block.size == pool.size
        assert block.issubset(usable(lan.subnet))  # never the network or broadcast address
        for taken in (lan.in_use, lan.reserved_set, lan.nodes, given_blocks,
                      AddressSet(r for p in pools if p is not pool for r in p.ranges)):
            assert block.isdisjoint(taken)
        assert lan.gateway is None or lan.gateway not in block
        if recommendation.kind == "shrink-dhcp":
            kept = AddressSet([recommendation.new_dhcp_range] if recommendation.new_dhcp_range else [])
            assert block.isdisjoint(kept)
        else:
            assert block.isdisjoint(lan.dhcp_set)
        if recommendation.block != pool.ranges[0]:
            given_blocks = given_blocks | block


def test_a_pool_may_move_within_its_own_addresses_but_not_into_another_pools():
    lan = Lan(subnet=IPNetwork("198.51.100.0/24"), gateway=IPAddress("198.51.100.1"),
              dhcp_ranges=(DhcpRange(IPRange("198.51.100.2", "198.51.100.200"), "r"),))
    low = Pool("low", (IPRange("198.51.100.190", "198.51.100.254"),))  # overlaps DHCP: must move
    high = Pool("high", (IPRange("198.51.100.240", "198.51.100.247"),))
    free = FreeBlocks(lan, [low, high])
    # For "high", its own addresses are free again; "low" covers them too, so they stay taken.
    assert free.best_block(8, high) is None
    assert free.best_block(8, low) == IPRange("198.51.100.232", "198.51.100.239")
    alone = FreeBlocks(lan, [high])
    assert alone.best_block(8, high) == IPRange("198.51.100.240", "198.51.100.247")


def test_a_run_between_two_dhcp_ranges_is_judged_by_its_middle_not_its_ends():
    # Both ends of .101-.140 touch DHCP, yet an aligned block inside sits 12 addresses from it: the
    # search must not stop at .201-.220 (best block 6 away) because .101-.140's ends look worse.
    ranges = ("198.51.100.2-198.51.100.100", "198.51.100.141-198.51.100.200", "198.51.100.221-198.51.100.254")
    lan = Lan(subnet=IPNetwork("198.51.100.0/24"),
              dhcp_ranges=tuple(DhcpRange(IPRange(*spec.split("-")), "r") for spec in ranges))
    expected = IPRange("198.51.100.112", "198.51.100.119")
    assert best_block(free_space(lan), 8, lan.dhcp_set) == expected
    assert FreeBlocks(lan).best_block(8) == expected
