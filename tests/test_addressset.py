"""AddressSet against netaddr.IPSet as the oracle: same members after every operation."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st
from netaddr import IPAddress, IPNetwork, IPRange, IPSet

from ipaudit.addressset import AddressSet, covered_twice, intersecting_pairs


@st.composite
def ranges(draw, version: int):
    width = 32 if version == 4 else 128
    base = 0xC6336400 if version == 4 else 0x20010DB8 << 96  # 198.51.100.0, 2001:db8::
    first = base + draw(st.integers(0, 300))
    last = first + draw(st.integers(0, 40))
    return IPRange(IPAddress(min(first, 2**width - 1), version), IPAddress(min(last, 2**width - 1), version))


members = st.lists(st.one_of(ranges(4), ranges(6)), max_size=8)


def same(ours: AddressSet, oracle: IPSet) -> bool:
    return [(r.first, r.last, r.version) for r in ours.iter_ipranges()] == \
        [(r.first, r.last, r.version) for r in oracle.iter_ipranges()] and ours.size == oracle.size


@settings(max_examples=300)
@given(members, members)
def test_operations_match_ipset(left, right):
    a, b = AddressSet(left), AddressSet(right)
    oracle_a, oracle_b = IPSet(left), IPSet(right)
    assert same(a, oracle_a)
    assert same(a | b, oracle_a | oracle_b)
    assert same(a & b, oracle_a & oracle_b)
    assert same(a - b, oracle_a - oracle_b)
    assert a.isdisjoint(b) == oracle_a.isdisjoint(oracle_b)
    assert a.issubset(b) == oracle_a.issubset(oracle_b)


@given(members, st.integers(0, 400))
def test_membership_matches_ipset(left, offset):
    probe = IPAddress(0xC6336400 + offset, 4)
    assert (probe in AddressSet(left)) == (probe in IPSet(left))


def test_families_never_merge_and_all_member_kinds_are_accepted():
    mixed = AddressSet([IPAddress("255.255.255.255"), IPNetwork("::/127"), "198.51.100.7", "198.51.100.8/31",
                        IPSet(["203.0.113.1"])])
    assert [str(r) for r in mixed.iter_ipranges()] == [
        "198.51.100.7-198.51.100.9", "203.0.113.1-203.0.113.1", "255.255.255.255-255.255.255.255", "::-::1"]
    assert mixed.size == 7


@settings(max_examples=200)
@given(st.lists(members, max_size=6))
def test_sweeps_match_pairwise_intersections(groups):
    sets = [AddressSet(group) for group in groups]
    pairs = [(i, j) for i in range(len(sets)) for j in range(i + 1, len(sets)) if sets[i] & sets[j]]
    assert intersecting_pairs(sets) == pairs
    twice = IPSet()
    for i, j in pairs:
        twice |= IPSet(groups[i]) & IPSet(groups[j])
    assert same(covered_twice(sets), twice)
