"""IPv6 CIDRs whose integers fit in 32 bits stay IPv6: ``::/120`` once became 0.0.0.0-0.0.0.255."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, strategies as st

from ipaudit.addresses import format_range, parse_network, parse_spec


@pytest.mark.parametrize("text, first, last", [
    ("::/120", "::", "::ff"),
    ("::/0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    ("::/96", "::", "::255.255.255.255"),
    ("::1/128", "::1", "::1"),
    ("0.0.0.0/0", "0.0.0.0", "255.255.255.255"),
])
def test_low_ipv6_cidrs_keep_their_family(text, first, last):
    (address_range,) = parse_spec(text).ranges
    assert address_range.version == ipaddress.ip_address(first).version
    assert format_range(address_range) in (f"{first}-{last}", first)


def test_low_ipv6_subnet_parses():
    assert str(parse_network("::/64")) == "::/64"
    assert parse_network("::/0").version == 6


@given(st.integers(0, (1 << 128) - 1), st.integers(0, 128))
def test_every_ipv6_cidr_matches_the_standard_library(number, prefix):
    network = ipaddress.IPv6Network((number, prefix), strict=False)
    (address_range,) = parse_spec(f"{network.network_address}/{prefix}").ranges
    assert address_range.version == 6
    assert (address_range.first, address_range.last) == (int(network.network_address),
                                                          int(network.broadcast_address))
