"""The engine called directly, as `ipaudit audit` will: typed requests in, reports out, findings with identity."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipaudit.errors import IpauditError
from ipaudit.exitstatus import ExitStatus
from ipaudit.facts import LanOptions, LanQuery
from ipaudit.model import DhcpFacts, Inventory
from ipaudit.findings import RULES, Code, finding, markdown_table
from ipaudit.plan.engine import CheckRequest, LiveProbe, RecommendRequest, run_check, run_recommend
from ipaudit.report.interface import OutputFormat, PlanReport, RenderOptions, ScanReport, SchemesReport, SourceReport
from ipaudit.report.registry import RENDERERS, formats_for, render
from ipaudit.scan.arp_findings import ArpObservation, arp_findings
from ipaudit.sources.pools import PoolQuery
from ipaudit.sources.show import list_schemes

ROOT = Path(__file__).resolve().parent.parent
OFFLINE = dict(local_interfaces=False)
BLOG_LAN = LanQuery(LanOptions(subnet="192.168.1.0/24", gateway="192.168.1.1",
                               dhcp_ranges=("192.168.1.2-192.168.1.253",)), **OFFLINE)


def test_check_reports_the_blogs_overlap_with_a_shrink_and_an_emittable_pool():
    report = run_check(CheckRequest(PoolQuery(specs=("192.168.1.240-245",)), BLOG_LAN))
    assert report.status is ExitStatus.CRITICAL
    assert [f.code for f in report.findings] == [Code.POOL_OVERLAPS_DHCP, Code.DHCP_RANGE_FILLS_SUBNET]
    assert report.recommendations[0].kind == "shrink-dhcp"
    # Section 5: keeping the user's own block beats a move; DHCP shrinks to end 4 addresses below it.
    assert str(report.recommendations[0].new_dhcp_range) == "192.168.1.2-192.168.1.235"
    assert [str(r) for r in report.emitted[0].ranges] == ["192.168.1.240-192.168.1.245"]


def test_the_same_conflict_gives_the_same_key_on_every_run():
    first = run_check(CheckRequest(PoolQuery(specs=("192.168.1.240-245",)), BLOG_LAN))
    second = run_check(CheckRequest(PoolQuery(specs=("192.168.1.240-245",)), BLOG_LAN))
    assert [f.key for f in first.findings] == [f.key for f in second.findings]
    assert first.findings[0].key == "pool-overlaps-dhcp|proposed|192.168.1.240-192.168.1.245"


def test_duplicate_ip_key_names_the_mac_set_whatever_the_arrival_order():
    macs = ("02:1a:00:00:00:0b", "02:1a:00:00:00:0a")
    forward = arp_findings([ArpObservation("198.51.100.20", m) for m in macs])
    backward = arp_findings([ArpObservation("198.51.100.20", m) for m in reversed(macs)])
    assert forward[0].key == backward[0].key == \
        "duplicate-ip|198.51.100.20|02:1a:00:00:00:0a|02:1a:00:00:00:0b"


def test_recommend_returns_a_block_far_from_dhcp():
    lan = LanQuery(LanOptions(subnet="192.168.1.0/24", gateway="192.168.1.1",
                              dhcp_ranges=("192.168.1.2-192.168.1.120",)), **OFFLINE)
    report = run_recommend(RecommendRequest(size=6, lan=lan))
    assert report.status is ExitStatus.OK
    assert [str(r) for r in report.emitted[0].ranges] == ["192.168.1.248-192.168.1.253"]


def test_recommend_without_a_subnet_is_refused():
    with pytest.raises(IpauditError, match="needs the subnet"):
        run_recommend(RecommendRequest(size=6, lan=LanQuery(**OFFLINE)))


def test_a_live_probe_of_more_than_a_slash_16_is_refused_before_any_packet():
    request = CheckRequest(PoolQuery(specs=("198.18.0.0/15",)), BLOG_LAN, probe=LiveProbe("lo"))
    with pytest.raises(IpauditError, match="more than the 65536"):
        run_check(request)


def test_every_finding_is_made_from_the_registry_at_its_default_severity():
    made = finding(Code.POOL_NO_BUFFER, "close to DHCP", addresses=("192.0.2.10",), pool="p")
    assert made.severity is RULES[Code.POOL_NO_BUFFER].severity and made.key == "pool-no-buffer|p|192.0.2.10"


def test_readme_findings_table_is_the_registry():
    assert markdown_table() in (ROOT / "README.md").read_text()


def test_no_module_outside_the_registry_spells_a_finding_code():
    codes = {f'"{code.value}"' for code in Code}
    for path in (ROOT / "ipaudit").rglob("*.py"):
        if path.name == "findings.py":
            continue
        text = path.read_text()
        assert not [c for c in codes if c in text], path


@pytest.mark.parametrize("report_type", list(RENDERERS))
def test_every_format_of_every_report_renders(report_type):
    samples = {PlanReport: lambda: run_check(CheckRequest(PoolQuery(specs=("192.168.1.240-245",)), BLOG_LAN)),
               ScanReport: lambda: ScanReport(Inventory(), ExitStatus.OK),
               SourceReport: lambda: SourceReport(DhcpFacts("dnsmasq:/etc/dnsmasq.conf")),
               SchemesReport: list_schemes}
    sample = samples[report_type]()
    for output_format in formats_for(report_type):
        text = render(sample, OutputFormat(output_format), RenderOptions(width=80))
        assert text.strip()


def test_the_readme_python_example_runs(capsys):
    text = (ROOT / "README.md").read_text()
    example = text.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(example, "README.md", "exec"), {})
    assert "gateway-unknown" in capsys.readouterr().out


def test_merging_pool_sources_keeps_every_field():
    from dataclasses import fields

    from ipaudit.sources.manifests import PoolManifests
    from ipaudit.sources.pools import merge

    # A field added to PoolManifests must be merged too: fill each with a marker and look for it.
    tuples = {f.name: (f"{f.name}-marker",) for f in fields(PoolManifests)
              if f.name not in ("advertised", "empty_reason")}
    merged = merge(PoolManifests(**tuples, empty_reason="why"), PoolManifests(advertised=frozenset({"p"})))
    for name, value in tuples.items():
        assert getattr(merged, name) == value, name
    assert merged.advertised == frozenset({"p"}) and merged.empty_reason == "why"


def test_a_live_probe_of_an_ipv6_pool_sends_nothing_and_says_so():
    # ARP is IPv4 only: the interface is never opened (this one does not even exist), and a note explains.
    lan = LanQuery(LanOptions(subnets=("2001:db8::/64",), dhcp_ranges=("2001:db8::80-2001:db8::1ff",)),
                   **OFFLINE)
    report = run_check(CheckRequest(PoolQuery(specs=("2001:db8::/120",)), lan,
                                    probe=LiveProbe("ipaudit-no-such-if0")))
    assert any("IPv6 pool addresses are not probed" in note for note in report.notes)
    assert [f.code for f in report.findings if f.code == Code.POOL_OVERLAPS_DHCP]
