"""Pool-overlap findings from the sweep equal those of trying every pair, in content and order."""

from __future__ import annotations

from itertools import combinations

from hypothesis import given, settings, strategies as st
from netaddr import IPRange

from ipaudit.model import Pool
from ipaudit.plan.checks import check_overlapping_pools

BASE = 0xC6120000  # 198.18.0.0


@st.composite
def pool_lists(draw) -> list[Pool]:
    pools = []
    for index in range(draw(st.integers(0, 8))):
        ranges = []
        for _ in range(draw(st.integers(1, 3))):
            first = BASE + draw(st.integers(0, 200))
            ranges.append(IPRange(first, first + draw(st.integers(0, 30))))
        pools.append(Pool(f"pool-{index}", tuple(ranges), source=f"file-{index % 2}"))
    if pools and draw(st.booleans()):
        pools.append(pools[0])  # listed twice: it overlaps itself, as every pair of positions is checked
    return pools


def every_pair(pools: list[Pool]) -> list[tuple[str | None, tuple[str, ...], str]]:
    found = []
    for first, second in combinations(pools, 2):
        if first.addresses & second.addresses:
            on_first, on_second = check_overlapping_pools([first, second])
            found += [(f.pool, f.addresses, f.message) for f in (on_first, on_second)]
    return found


@settings(max_examples=200, deadline=None)
@given(pool_lists())
def test_sweep_equals_every_pair(pools):
    swept = [(f.pool, f.addresses, f.message) for f in check_overlapping_pools(pools)]
    assert swept == every_pair(pools)


def test_one_finding_per_pool_of_each_pair_with_the_exact_overlap():
    a = Pool("a", (IPRange("198.18.0.10", "198.18.0.20"), IPRange("198.18.0.40", "198.18.0.50")))
    b = Pool("b", (IPRange("198.18.0.15", "198.18.0.45"),), source="metallb.yaml")
    c = Pool("c", (IPRange("198.18.0.60", "198.18.0.70"),))
    finding, mirror = check_overlapping_pools([a, b, c])
    assert finding.pool == "a" and finding.addresses == ("198.18.0.15-198.18.0.20", "198.18.0.40-198.18.0.45")
    assert "also in pool b (metallb.yaml)" in finding.message
    assert mirror.pool == "b" and mirror.addresses == finding.addresses and "also in pool a" in mirror.message
