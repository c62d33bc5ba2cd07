"""Recommendations: where the best block lands, the DHCP shrink, and properties over random LANs."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st
from netaddr import IPAddress, IPNetwork, IPRange, IPSet

from ipaudit.addresses import format_range, parse_spec
from ipaudit.addressset import AddressSet
from ipaudit.model import DhcpRange, Lan, Pool, usable
from ipaudit.plan.recommend import place, recommend_block
from ipaudit.plan.zones import DHCP_BUFFER, best_block, dhcp_shrink, free_space, free_zones

BLOG_SUBNET = IPNetwork("192.168.1.0/24")


def blog_lan(dhcp: str) -> Lan:
    return Lan(subnet=BLOG_SUBNET, gateway=IPAddress("192.168.1.1"),
               dhcp_ranges=(DhcpRange(parse_spec(dhcp).ranges[0], "router"),))


def test_blog_block_lands_far_from_dhcp_aligned():
    advice = place(blog_lan("192.168.1.2-192.168.1.120"), [], 6, "main")
    assert advice.kind == "use-block"
    assert format_range(advice.block) == "192.168.1.248-192.168.1.253"


def test_power_of_two_block_is_a_cidr():
    advice = place(blog_lan("192.168.1.2-192.168.1.120"), [], 8, "main")
    assert advice.block.cidrs() == [IPNetwork("192.168.1.240/29")]


def test_dhcp_at_top_sends_pool_to_bottom():
    lan = Lan(subnet=BLOG_SUBNET, gateway=IPAddress("192.168.1.254"),
              dhcp_ranges=(DhcpRange(parse_spec("192.168.1.100-192.168.1.253").ranges[0], "router"),))
    assert format_range(place(lan, [], 8, None).block) == "192.168.1.8-192.168.1.15"


def test_full_dhcp_gives_minimal_shrink_with_buffer():
    lan = blog_lan("192.168.1.2-192.168.1.253")
    shrink = dhcp_shrink(lan, [], 6)
    assert shrink.new_range[0] == IPAddress("192.168.1.2")
    assert shrink.block.size == 6
    gap = shrink.block.first - shrink.new_range.last - 1
    assert gap >= DHCP_BUFFER
    # Minimal: one address more in the DHCP range and the block (with buffer) no longer fits.
    tighter = Lan(subnet=BLOG_SUBNET, gateway=lan.gateway,
                  dhcp_ranges=(DhcpRange(IPRange(shrink.new_range.first, shrink.new_range.last + 1), "r"),))
    assert best_block(free_space(tighter), 6, tighter.dhcp_set, buffer_required=True) is None


def test_no_room_even_after_shrink():
    lan = Lan(subnet=IPNetwork("192.168.1.0/29"), in_use=IPSet(["192.168.1.0/29"]),
              dhcp_ranges=(DhcpRange(parse_spec("192.168.1.2-192.168.1.5").ranges[0], "r"),))
    assert place(lan, [], 4, "x").kind == "no-room"


def test_free_zones_largest_first():
    lan = blog_lan("192.168.1.2-192.168.1.120")
    pools = [Pool("a", (IPRange("192.168.1.200", "192.168.1.209"),))]
    zones = free_zones(free_space(lan, pools))
    assert [format_range(z) for z in zones] == ["192.168.1.121-192.168.1.199", "192.168.1.210-192.168.1.254"]
    assert recommend_block(lan, pools, 4, "n")[1].zones == tuple(zones)


offsets = st.integers(min_value=1, max_value=254)


@st.composite
def random_lans(draw):
    a, b = sorted((draw(offsets), draw(offsets)))
    base = int(IPAddress("198.51.100.0"))
    in_use = IPSet(IPAddress(base + draw(offsets)) for _ in range(draw(st.integers(0, 20))))
    reserved = IPSet(IPAddress(base + draw(offsets)) for _ in range(draw(st.integers(0, 5))))
    gateway = IPAddress(base + draw(offsets))
    lan = Lan(subnet=IPNetwork("198.51.100.0/24"), gateway=gateway, in_use=in_use, reserved_addresses=reserved,
              dhcp_ranges=(DhcpRange(IPRange(base + a, base + b), "r"),))
    return lan, draw(st.integers(min_value=1, max_value=64))


@settings(max_examples=300, deadline=None)
@given(random_lans())
def test_recommended_block_never_touches_anything_taken(case):
    lan, size = case
    for advice in recommend_block(lan, [], size, "p"):
        blocks = [advice.block] if advice.block is not None else list(advice.zones)
        for block in blocks:
            chosen = AddressSet([block])
            assert chosen.isdisjoint(lan.in_use)
            assert chosen.isdisjoint(lan.reserved_set)
            assert lan.gateway not in chosen
            assert chosen.issubset(usable(lan.subnet))
            if advice.kind == "shrink-dhcp":
                assert chosen.isdisjoint(AddressSet([advice.new_dhcp_range] if advice.new_dhcp_range else []))
            else:
                assert chosen.isdisjoint(lan.dhcp_set)
            if advice.kind != "free-zones":
                assert chosen.size == size
