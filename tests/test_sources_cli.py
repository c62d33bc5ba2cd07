"""`ipaudit sources` and `ipaudit sources show URI` on the real fixtures: what users see, and exit statuses."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from ipaudit.cli.main import program
from ipaudit.report.interface import OutputFormat
from ipaudit.sources.registry import SCHEMES, open_source

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sources"


def run(*args: str):
    return CliRunner().invoke(program, list(args), catch_exceptions=False)


def test_sources_lists_every_registered_scheme_with_an_example():
    result = run("sources")
    assert result.exit_code == 0 and result.stderr == ""
    for scheme in SCHEMES:
        assert scheme in result.stdout
    rows = json.loads(run("sources", "--format", "json").stdout)["sources"]
    assert sorted(s for row in rows for s in row["schemes"]) == sorted(SCHEMES)
    for row in rows:
        assert row["example"].split(":", 1)[0] in row["schemes"], row
        assert row["reads"] and "not available" not in row["reads"], row
        open_source(row["example"])  # every example is a URI its class accepts


@pytest.mark.parametrize("output_format", [f.value for f in OutputFormat])
def test_show_renders_in_every_format(output_format):
    result = run("sources", "show", f"dnsmasq:{FIXTURES}/dnsmasq/dnsmasq.conf", "--format", output_format)
    assert result.exit_code == 0 and result.stderr == ""
    assert "198.51.100.100-198.51.100.199" in result.stdout
    assert "02:00:00:00:01:21" in result.stdout or "expired" in result.stdout


def test_show_json_shape_for_a_dhcpd_source():
    uri = f"dhcpd:{FIXTURES}/dhcpd/dhcpd.conf?leases="
    document = json.loads(run("sources", "show", uri, "--format", "json").stdout)
    assert document["source"] == uri
    first = document["ranges"][0]
    assert first == {"range": "198.51.100.100-198.51.100.149", "first": "198.51.100.100", "last": "198.51.100.149",
                     "size": 50, "subnet": "198.51.100.0/24", "label": f"dhcpd {FIXTURES}/dhcpd/dhcpd.conf subnet "
                                                                        "198.51.100.0/24"}
    assert {"ip": "198.51.100.10", "mac": "02:00:00:00:00:10", "hostname": "nas"} in document["reservations"]
    assert document["leases"] == []
    assert "no lease file read (?leases= is empty)" in document["notes"]


def test_show_table_sections_and_notes(tmp_path):
    leases = tmp_path / "dhcp.leases"
    expiry = int(time.time()) + 3600
    leases.write_text(f"{expiry} 02:00:00:00:01:50 198.51.100.150 printer *\n0 02:00:00:00:01:51 198.51.100.151 * *\n")
    result = run("sources", "show", f"openwrt:{FIXTURES}/openwrt?leases={leases}")
    assert result.exit_code == 0
    out = result.stdout
    assert "DHCP ranges (2):" in out and "Leases (2):" in out and "Reservations (2):" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("198.51.100.15")}
    assert "printer" in lines["198.51.100.150"] and lines["198.51.100.151"].rstrip().endswith("never")
    assert "  - dhcp.iot: dynamicdhcp 0" in out


def test_dnsmasq_check_pool_acceptance_on_files(tmp_path):
    # The same check as against the live servers, on a dnsmasq config and a lease file in dnsmasq's format.
    leases = tmp_path / "dnsmasq.leases"
    leases.write_text(f"{int(time.time()) + 3600} 02:00:00:00:01:50 198.51.100.150 printer *\n")
    result = run("check-pool", "198.51.100.150-160", "--subnet", "198.51.100.0/24", "--dhcp-source",
                 f"dnsmasq:{FIXTURES}/dnsmasq/dnsmasq.conf?leases={leases}", "--format", "json")
    assert result.exit_code == 2
    findings = {f["code"]: f for f in json.loads(result.stdout)["findings"]}
    assert "pool-overlaps-dhcp" in findings and "198.51.100.150" in json.dumps(findings["pool-address-leased"])


@pytest.mark.parametrize("uri, message", [
    ("nosuch:/x", "unknown DHCP source scheme 'nosuch'"),
    ("/etc/dnsmasq.conf", "has no scheme"),
    ("kea:/nonexistent-ipaK/kea-dhcp4.conf", "cannot read Kea config /nonexistent-ipaK/kea-dhcp4.conf"),
    ("dhcpd:/nonexistent-ipaK.conf", "cannot read dhcpd config"),
    ("openwrt:/nonexistent-ipaK", "cannot read UCI dhcp file"),
])
def test_show_bad_source_exits_3_with_one_line(uri, message):
    result = run("sources", "show", uri)
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.startswith("ipaudit: error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr and "Traceback" not in result.stderr
