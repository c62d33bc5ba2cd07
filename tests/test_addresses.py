"""Address specs: every accepted form, every rejected one, and parse(format(x)) == x."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st
from netaddr import IPAddress, IPRange

from ipaudit.addresses import format_range, format_set, parse_network, parse_spec
from ipaudit.errors import SpecError


@pytest.mark.parametrize("text, expected", [
    ("192.168.1.240", ["192.168.1.240"]),
    ("192.168.1.240-192.168.1.245", ["192.168.1.240-192.168.1.245"]),
    ("192.168.1.240 - 192.168.1.245", ["192.168.1.240-192.168.1.245"]),
    ("192.168.1.240-245", ["192.168.1.240-192.168.1.245"]),
    ("192.168.1.240/29", ["192.168.1.240-192.168.1.247"]),
    ("192.168.1.240-245, 192.168.1.250", ["192.168.1.240-192.168.1.245", "192.168.1.250"]),
    ("2001:db8::10-2001:db8::1f", ["2001:db8::10-2001:db8::1f"]),
    ("2001:db8::/126", ["2001:db8::-2001:db8::3"]),
    ("192.168.1.0/24,2001:db8::1", ["192.168.1.0-192.168.1.255", "2001:db8::1"]),
])
def test_accepted_forms(text, expected):
    assert [format_range(r) for r in parse_spec(text).ranges] == expected


def test_cidr_with_host_bits_is_kept_whole_and_flagged():
    spec = parse_spec("192.168.1.5/24")
    assert format_set(spec.ipset()) == ["192.168.1.0-192.168.1.255"]
    assert spec.cidrs_with_host_bits == ("192.168.1.5/24",)
    assert parse_spec("192.168.1.0/24").cidrs_with_host_bits == ()


@pytest.mark.parametrize("text, named", [
    ("192.168.1.250-240", "reversed"),
    ("192.168.1.250-192.168.1.240", "reversed"),
    ("192.168.1.256", "192.168.1.256"),
    ("192.168.1", "192.168.1"),
    ("192.168.1.1-2001:db8::1", "mixes IPv4 and IPv6"),
    ("", "empty"),
    ("192.168.1.1,,192.168.1.2", "empty item"),
    ("192.168.1.0/33", "prefix"),
    ("192.168.1.1-256", "256"),
    ("2001:db8::1-5", "'5'"),
    ("010.1.1.1", "010.1.1.1"),
])
def test_rejected_forms_name_the_problem(text, named):
    with pytest.raises(SpecError) as raised:
        parse_spec(text)
    assert named in raised.value.one_line()
    assert "\n" not in raised.value.one_line()


def test_subnet_needs_prefix_and_drops_host_bits():
    assert str(parse_network("192.168.1.5/24")) == "192.168.1.0/24"
    with pytest.raises(SpecError):
        parse_network("192.168.1.0")


ipv4 = st.integers(min_value=0, max_value=2**32 - 1)
ipv6 = st.integers(min_value=0, max_value=2**128 - 1)


@given(st.one_of(st.tuples(ipv4, ipv4, st.just(4)), st.tuples(ipv6, ipv6, st.just(6))))
def test_parse_of_format_is_identity(bounds):
    low, high, version = min(bounds[:2]), max(bounds[:2]), bounds[2]
    original = IPRange(IPAddress(low, version), IPAddress(high, version))
    (parsed,) = parse_spec(format_range(original)).ranges
    assert (parsed.first, parsed.last, parsed.version) == (original.first, original.last, original.version)
