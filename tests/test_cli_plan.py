"""check-pool and recommend through the CLI: exit codes, stdout and stderr kept apart."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from netaddr import IPRange, IPSet

from ipaudit.report.interface import OutputFormat

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
BLOG = ["--subnet", "192.168.1.0/24", "--gateway", "192.168.1.1", "--dhcp-range"]


def test_blog_before_the_shrink_is_critical_with_shrink_advice(run_cli):
    result = run_cli("check-pool", "192.168.1.240-245", *BLOG, "192.168.1.2-192.168.1.253", "--format", "json")
    assert result.exit_code == 2
    assert result.stderr == ""
    report = json.loads(result.stdout)
    assert report["status"] == "critical"
    overlap = [f for f in report["findings"] if f["code"] == "pool-overlaps-dhcp"]
    assert overlap and overlap[0]["addresses"] == ["192.168.1.240-192.168.1.245"]
    assert "192.168.1.240-192.168.1.245" in overlap[0]["message"]
    shrink = [r for r in report["recommendations"] if r["kind"] == "shrink-dhcp"]
    assert shrink and shrink[0]["new_dhcp_range"].startswith("192.168.1.2-")


def test_blog_after_the_shrink_is_ok(run_cli):
    result = run_cli("check-pool", "192.168.1.240-245", *BLOG, "192.168.1.2-192.168.1.120", "--format", "json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["status"] == "ok" and report["findings"] == [] and report["recommendations"] == []


def test_manifest_pool_with_address_in_use(run_cli):
    result = run_cli("check-pool", "--from", str(FIXTURES / "metallb-config.yaml"), *BLOG,
                     "192.168.1.2-192.168.1.120", "--in-use", "192.168.1.242", "--format", "json")
    assert result.exit_code == 2
    (finding,) = [f for f in json.loads(result.stdout)["findings"] if f["code"] == "pool-address-in-use"]
    assert finding["pool"] == "main-pool" and finding["addresses"] == ["192.168.1.242"]


def test_recommend_emit_metallb_is_applyable_yaml(run_cli):
    result = run_cli("recommend", "--subnet", "192.168.1.0/24", "--gateway", "192.168.1.1",
                     "--dhcp-range", "192.168.1.2-192.168.1.120", "--size", "6", "--emit", "metallb")
    assert result.exit_code == 0
    documents = list(yaml.safe_load_all(result.stdout))
    assert [d["kind"] for d in documents] == ["IPAddressPool", "L2Advertisement"]
    (spec,) = documents[0]["spec"]["addresses"]
    first, last = spec.split("-")
    block = IPSet(IPRange(first, last))
    assert block.size == 6 and block.issubset(IPSet(IPRange("192.168.1.121", "192.168.1.254")))
    assert documents[1]["spec"]["ipAddressPools"] == [documents[0]["metadata"]["name"]]
    assert "use-block" in result.stderr  # the report moved to stderr


def test_recommend_emit_cilium(run_cli):
    result = run_cli("recommend", "--subnet", "192.168.1.0/24", "--gateway", "192.168.1.1",
                     "--dhcp-range", "192.168.1.2-192.168.1.120", "--size", "8", "--emit", "cilium")
    document, policy = list(yaml.safe_load_all(result.stdout))
    assert document["kind"] == "CiliumLoadBalancerIPPool" and document["apiVersion"] == "cilium.io/v2"
    assert document["spec"]["blocks"] == [{"cidr": "192.168.1.240/29"}]
    assert policy["kind"] == "CiliumL2AnnouncementPolicy" and policy["spec"] == {"loadBalancerIPs": True}


def test_check_pool_emit_rewrites_shorthand_and_moves_bad_pool(run_cli):
    result = run_cli("check-pool", "192.168.1.240-245", "192.168.1.100-105", *BLOG, "192.168.1.2-192.168.1.120",
                     "--emit", "metallb")
    assert result.exit_code == 2
    documents = list(yaml.safe_load_all(result.stdout))
    addresses = [d["spec"]["addresses"] for d in documents if d["kind"] == "IPAddressPool"]
    assert addresses[0] == ["192.168.1.240-192.168.1.245"]
    moved = IPSet(IPRange(*addresses[1][0].split("-")))
    assert moved.isdisjoint(IPSet(IPRange("192.168.1.2", "192.168.1.120")))
    assert moved.isdisjoint(IPSet(IPRange("192.168.1.240", "192.168.1.245")))


def test_stdin_manifest_and_a_report_note_for_other_kinds(run_cli):
    text = (FIXTURES / "metallb-config.yaml").read_text() + "---\nkind: Deployment\nmetadata: {name: web}\n"
    result = run_cli("check-pool", "--from", "-", *BLOG, "192.168.1.2-192.168.1.120", input=text)
    assert result.exit_code == 0
    assert "main-pool" in result.stdout
    # Notes travel in the report itself, so a --format json reader sees them too.
    assert "ignored Deployment web" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize("output_format", [f.value for f in OutputFormat])
def test_every_format_renders(run_cli, output_format):
    result = run_cli("check-pool", "--from", str(FIXTURES / "kubectl-list.yaml"), *BLOG, "192.168.1.2-192.168.1.120",
                     "--format", output_format)
    # metallb internal/allocator/allocator.go ipConfusesBuggyFirmwares: dmz has avoidBuggyIPs: true, so its
    # broadcast .255 is never handed out and is no finding.
    assert result.exit_code == 0
    assert "dmz" in result.stdout and "pool-includes-broadcast-address" not in result.stdout


def test_output_file_and_quiet(run_cli, tmp_path):
    target = tmp_path / "report.json"
    result = run_cli("check-pool", "192.168.1.240-245", *BLOG, "192.168.1.2-192.168.1.120", "--format", "json",
                     "--output", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(target.read_text())["status"] == "ok"
    quiet = run_cli("check-pool", "192.168.1.240-245", *BLOG, "192.168.1.2-192.168.1.120", "--quiet")
    assert quiet.exit_code == 0 and quiet.stdout == ""


def test_inventory_feeds_in_use_and_offers(run_cli, tmp_path):
    inventory = {"version": 1, "hosts": [{"ip": "192.168.1.241", "macs": ["02:00:00:00:00:01"], "vendor": None}],
                 "dhcp_servers": [{"server_id": "192.168.1.1", "mac": "02:00:00:00:00:fe", "offered_ip": "192.168.1.77",
                                   "subnet_mask": "255.255.255.0", "router": "192.168.1.1", "dns": [],
                                   "lease_time": 3600, "relay": None}]}
    path = tmp_path / "scan.json"
    path.write_text(json.dumps(inventory))
    result = run_cli("check-pool", "192.168.1.240-245", "--inventory", str(path), "--format", "json")
    report = json.loads(result.stdout)
    codes = {f["code"] for f in report["findings"]}
    assert {"pool-address-in-use", "dhcp-range-unknown"} <= codes
    assert report["subnet"] == "192.168.1.0/24" and report["gateway"] == "192.168.1.1"
    assert result.exit_code == 2


def test_real_entry_point_and_module_run():
    for command in (["ipaudit"], [sys.executable, "-m", "ipaudit"]):
        done = subprocess.run(command + ["check-pool", "192.168.1.250-240"], capture_output=True, text=True)
        assert done.returncode == 3
        assert done.stdout == ""
        assert done.stderr.count("\n") == 1 and "reversed range" in done.stderr
        assert "Traceback" not in done.stderr


def test_source_notes_reach_the_report(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # the note names a long temporary path: keep it on one line
    conf = tmp_path / "dnsmasq.conf"
    conf.write_text(f"dhcp-range=192.168.1.2,192.168.1.120,12h\ndhcp-option=option:router,192.168.1.1\n"
                    f"dhcp-leasefile={tmp_path / 'gone.leases'}\n")
    result = run_cli("check-pool", "192.168.1.240-245", "--subnet", "192.168.1.0/24",
                     "--dhcp-source", f"dnsmasq:{conf}", "--format", "json")
    report = json.loads(result.stdout)
    assert result.exit_code == 0
    assert report["dhcp_ranges"][0]["range"] == "192.168.1.2-192.168.1.120"
    assert report["gateway"] == "192.168.1.1"
    assert report["gateway_origin"] == f"router option of dnsmasq:{conf}"
    (note,) = report["notes"]
    assert note.startswith(f"dnsmasq:{conf}: ") and "leases unknown" in note
    table = run_cli("check-pool", "192.168.1.240-245", "--subnet", "192.168.1.0/24", "--dhcp-source", f"dnsmasq:{conf}")
    assert "notes:" in table.stdout and "leases unknown" in table.stdout
    assert f"gateway 192.168.1.1 (router option of dnsmasq:{conf})" in table.stdout
