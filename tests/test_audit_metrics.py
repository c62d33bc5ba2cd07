"""The metrics textfile: the exposition format by the book (promtool), read by a real node_exporter,
written atomically; and the shipped stale-audit rule, checked and unit-tested with promtool."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from audit_servers import node_exporter  # noqa: F401 - fixture
from ipaudit.audit.metrics import FAMILIES, LanMetrics, MetricsError, escape_label_value, render, write_textfile
from ipaudit.errors import IpauditError

RULES = Path(__file__).resolve().parent.parent / "deploy" / "prometheus"
HOSTILE_LAN = 'site "A"\\b\nnext'


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is not installed: run .ci/setup (Debian package prometheus)")
    return path


def home(**changes) -> LanMetrics:
    values = dict(lan="home", findings={("vip-claimed-by-foreign-device", "critical"): 1, ("arp-flux", "warning"): 2},
                  hosts=14, dhcp_servers=1, pool_free={"metallb/default": 5, "cilium/lb": 0},
                  last_run=1_717_000_000.5, last_success=1_717_000_000.5, duration=12.25)
    return LanMetrics(**{**values, **changes})


def samples(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("ipaudit_")]


def test_every_family_has_help_and_type_once_in_order():
    text = render([home(), home(lan="lab", findings={}, pool_free={}, last_success=None)])
    helps = re.findall(r"^# HELP (\S+) ", text, re.M)
    types = re.findall(r"^# TYPE (\S+) gauge$", text, re.M)
    assert helps == types == [name for name, _ in FAMILIES]
    assert 'ipaudit_findings{lan="home",code="arp-flux",severity="warning"} 2' in text
    assert 'ipaudit_findings{lan="home",code="vip-claimed-by-foreign-device",severity="critical"} 1' in text
    assert 'ipaudit_pool_free_addresses{lan="home",pool="cilium/lb"} 0' in text
    assert 'ipaudit_audit_duration_seconds{lan="lab"} 12.25' in text
    assert 'ipaudit_last_success_timestamp_seconds{lan="home"} 1717000000.5' in text
    # A LAN never audited successfully has no last-success sample (absent, not zero: the stale rule keys on it).
    assert 'ipaudit_last_success_timestamp_seconds{lan="lab"}' not in text
    assert not any(name.endswith("_total") for name, _ in FAMILIES)


def test_label_values_are_escaped():
    assert escape_label_value(HOSTILE_LAN) == 'site \\"A\\"\\\\b\\nnext'
    text = render([home(lan=HOSTILE_LAN)])
    assert all("\n" not in line for line in samples(text))
    assert f'ipaudit_hosts{{lan="{escape_label_value(HOSTILE_LAN)}"}} 14' in text


def test_duplicate_lan_names_are_refused():
    with pytest.raises(MetricsError, match="unique lan label"):
        render([home(), home()])


def test_promtool_accepts_the_textfile(tmp_path):
    path = tmp_path / "ipaudit.prom"
    write_textfile(str(path), [home(), home(lan=HOSTILE_LAN, last_success=None)])
    checked = subprocess.run([promtool(), "check", "metrics"], input=path.read_bytes(), capture_output=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout + checked.stderr == b""  # not even a lint warning


def test_promtool_rejects_a_broken_textfile(tmp_path):
    """The check above can fail: an unescaped quote is a parse error for promtool."""
    broken = render([home()]).replace('lan="home"', 'lan="ho"me"', 1)
    checked = subprocess.run([promtool(), "check", "metrics"], input=broken.encode(), capture_output=True)
    assert checked.returncode != 0


def test_node_exporter_serves_the_textfile(node_exporter):
    write_textfile(str(node_exporter.textfile_dir / "ipaudit.prom"), [home(), home(lan=HOSTILE_LAN)])
    scraped = node_exporter.metrics()
    assert 'ipaudit_findings{code="vip-claimed-by-foreign-device",lan="home",severity="critical"} 1' in scraped
    assert f'ipaudit_hosts{{lan="{escape_label_value(HOSTILE_LAN)}"}} 14' in scraped
    assert "node_textfile_scrape_error 0" in scraped
    assert re.search(r'ipaudit_last_run_timestamp_seconds\{lan="home"\} 1\.7170000005e\+09', scraped)


def test_write_replaces_atomically_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "ipaudit.prom"
    path.write_text("old\n")
    write_textfile(str(path), [home()])
    assert path.read_text() == render([home()])
    assert os.listdir(tmp_path) == ["ipaudit.prom"]
    assert path.stat().st_mode & 0o777 == 0o644


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "ipaudit.prom"
    path.write_text("old\n")
    with pytest.raises(MetricsError):
        write_textfile(str(path), [home(), home()])
    assert path.read_text() == "old\n" and os.listdir(tmp_path) == ["ipaudit.prom"]


def test_missing_directory_is_a_one_line_error(tmp_path):
    with pytest.raises(IpauditError) as raised:
        write_textfile(str(tmp_path / "nowhere" / "ipaudit.prom"), [home()])
    assert "cannot write metrics" in raised.value.one_line()


def test_stale_audit_rule_is_valid():
    checked = subprocess.run([promtool(), "check", "rules", str(RULES / "ipaudit-rules.yml")], capture_output=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert b"SUCCESS: 2 rules found" in checked.stdout


def test_stale_audit_rule_fires_only_for_the_failing_lan():
    checked = subprocess.run([promtool(), "test", "rules", str(RULES / "ipaudit-rules.test.yml")], capture_output=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
