"""The shell around the engine, run as real processes: usage, width, colour, sanitising, numbers, -o."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

BLOG = ["check-pool", "192.168.1.240-245", "--subnet", "192.168.1.0/24", "--dhcp-range", "192.168.1.2-192.168.1.253"]


def ipaudit(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ipaudit", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def test_bare_ipaudit_prints_the_usage_and_commands_and_succeeds():
    done = ipaudit()
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("Usage: ipaudit") and "check-pool" in done.stdout and "scan" in done.stdout


def test_bash_completion_script_is_served():
    done = ipaudit(env={"_IPAUDIT_COMPLETE": "bash_source"})
    assert done.returncode == 0 and "_ipaudit_completion" in done.stdout


@pytest.mark.parametrize("columns", [80, 60])
def test_tables_fit_the_terminal_width(columns):
    done = ipaudit(*BLOG, env={"COLUMNS": str(columns)})
    assert done.returncode == 2
    assert max(len(line) for line in done.stdout.splitlines()) <= columns
    assert "pool-overlaps-dhcp" in done.stdout


def _on_a_terminal(args: list[str], env: dict) -> str:
    """Run ipaudit with stdout on a pseudo-terminal and return what it wrote there."""
    main, child = pty.openpty()
    base = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    process = subprocess.Popen([sys.executable, "-m", "ipaudit", *args], stdout=child, stderr=subprocess.DEVNULL,
                               env={**base, "COLUMNS": "120", **env})
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(main)
    return b"".join(chunks).decode()


def test_severities_are_coloured_on_a_terminal_but_not_with_no_color_or_in_a_pipe():
    env_without = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    assert "\x1b[1;31mCRITICAL\x1b[0m" in _on_a_terminal(BLOG, {})
    assert "\x1b" not in _on_a_terminal(BLOG, {"NO_COLOR": "1"})
    piped = subprocess.run([sys.executable, "-m", "ipaudit", *BLOG], capture_output=True, text=True, env=env_without)
    assert "\x1b" not in piped.stdout and "CRITICAL" in piped.stdout


def test_outside_text_is_sanitised_in_tables_but_exact_in_json(tmp_path):
    leases = tmp_path / "dnsmasq.leases"
    leases.write_text("4102444800 02:1a:00:00:00:f0 192.168.1.241 evil\x1b]0;pwned\x07\x1b[2J 01:02\n")
    conf = tmp_path / "dnsmasq.conf"
    conf.write_text(f"dhcp-range=192.168.1.2,192.168.1.120,12h\ndhcp-leasefile={leases}\n")
    args = ["check-pool", "192.168.1.240-245", "--subnet", "192.168.1.0/24", "--dhcp-source", f"dnsmasq:{conf}"]
    table = ipaudit(*args)
    assert table.returncode == 2 and "pool-address-leased" in table.stdout
    assert "\x1b" not in table.stdout and "\x07" not in table.stdout
    assert "evil\\x1b]0;pwned\\x07\\x1b[2J" in " ".join(table.stdout.split())
    document = json.loads(ipaudit(*args, "--format", "json").stdout)
    leased = [f for f in document["findings"] if f["code"] == "pool-address-leased"][0]
    assert "evil\x1b]0;pwned\x07\x1b[2J" in leased["message"]


def test_a_hostile_file_name_in_an_error_line_is_sanitised(tmp_path):
    manifest = tmp_path / "pool\x1b[31mred.yaml"
    manifest.write_text("kind: IPAddressPool\nmetadata: {name: p}\nspec: {addresses: [${POOL}]}\n")
    done = ipaudit("check-pool", "--from", str(manifest))
    assert done.returncode == 3 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and "\x1b" not in done.stderr
    assert "pool\\x1b[31mred.yaml line 3" in done.stderr and "${POOL}" in done.stderr


def test_a_hostile_pool_name_in_a_rejection_is_sanitised_in_the_table(tmp_path):
    manifest = tmp_path / "pool.yaml"
    manifest.write_text('kind: IPAddressPool\nmetadata: {name: "a\\e[31mred"}\nspec: {addresses: [nonsense]}\n')
    done = ipaudit("check-pool", "--from", str(manifest), "--subnet", "192.0.2.0/24")
    assert done.returncode == 2 and "manifest-rejected" in done.stdout
    assert "\x1b" not in done.stdout and "a\\x1b[31mred" in done.stdout


@pytest.mark.parametrize("args", [
    ["scan", "-i", "lo", "--dhcp-timeout", "nan"],
    ["scan", "-i", "lo", "--timeout", "nan"],
    ["scan", "-i", "lo", "--passive", "inf"],
    ["scan", "-i", "lo", "--timeout", "-1"],
    ["scan", "-i", "lo", "--rate", "nan"],
    ["check-pool", "192.0.2.240-245", "--source-timeout", "inf"],
    ["check-pool", "192.0.2.240-245", "-i", "lo", "--dhcp-timeout", "nan"],
    ["sources", "show", "dnsmasq:/dev/null", "--source-timeout", "-5"],
])
def test_numeric_options_refuse_nan_infinity_and_negatives(args):
    done = ipaudit(*args, timeout=20)
    assert done.returncode == 3 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("ipaudit: error: ")


def test_output_file_replaces_a_symlink_instead_of_writing_through_it(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    link = tmp_path / "report.json"
    link.symlink_to(victim)
    done = ipaudit(*BLOG, "--format", "json", "-o", str(link))
    assert done.returncode == 2 and done.stdout == ""
    assert victim.read_text() == "precious\n"
    assert not link.is_symlink() and json.loads(link.read_text())["status"] == "critical"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".ipaudit-")] == []


def test_output_into_a_missing_directory_is_one_line(tmp_path):
    done = ipaudit(*BLOG, "-o", str(tmp_path / "no" / "such" / "dir" / "r.txt"))
    assert done.returncode == 3 and len(done.stderr.splitlines()) == 1 and "cannot write" in done.stderr


def test_quiet_clean_run_prints_nothing_at_all():
    done = ipaudit("check-pool", "192.168.1.240-245", "--subnet", "192.168.1.0/24", "--gateway", "192.168.1.1",
                   "--dhcp-range", "192.168.1.2-192.168.1.120", "-q")
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""


def test_the_same_options_exist_on_every_reporting_command():
    for command in (["check-pool"], ["recommend"], ["scan"], ["sources"], ["sources", "show"]):
        text = ipaudit(*command, "--help").stdout
        for option in ("-o, --output", "--format", "-q, --quiet"):
            assert option in text, (command, option)
    for command in (["check-pool"], ["scan"]):
        assert "-i, --interface" in ipaudit(*command, "--help").stdout


def test_a_failed_scan_leaves_an_unknown_report_not_the_stale_one(tmp_path):
    report = tmp_path / "scan.json"
    report.write_text('{"version": 1, "hosts": [], "dhcp_servers": [], "status": "ok"}\n')
    done = ipaudit("scan", "-i", "ipaudit-no-such-if0", "--format", "json", "-o", str(report))
    assert done.returncode == 3 and len(done.stderr.splitlines()) == 1
    document = json.loads(report.read_text())
    assert document["status"] == "unknown" and document["exit_code"] == 3
    assert "ipaudit-no-such-if0" in document["error"] and document["generated_at"].endswith("Z")
    # check-pool refuses it as an inventory instead of planning on an empty LAN.
    refused = ipaudit("check-pool", "192.0.2.240-245", "--inventory", str(report))
    assert refused.returncode == 3 and "is the report of a scan that failed" in refused.stderr


def test_scan_names_hosts_from_dhcp_leases_and_reservations(tmp_path):
    leases = tmp_path / "dnsmasq.leases"
    leases.write_text("4102444800 02:1a:00:00:00:01 198.51.100.1 router-\x1b[31mred 01:02\n")
    conf = tmp_path / "dnsmasq.conf"
    conf.write_text(f"dhcp-range=198.51.100.2,198.51.100.199,12h\ndhcp-leasefile={leases}\n"
                    "dhcp-host=02:1a:00:00:00:05,198.51.100.240,reserved-phone\n")
    pcap = str(Path(__file__).resolve().parent.parent / "fixtures" / "arp-lan-duplicate.pcap")
    args = ["scan", "--pcap", pcap, "--dhcp-source", f"dnsmasq:{conf}"]
    document = json.loads(ipaudit(*args, "--format", "json").stdout)
    names = {h["ip"]: h.get("hostname") for h in document["hosts"]}
    assert names == {"198.51.100.1": "router-\x1b[31mred", "198.51.100.20": None,
                     "198.51.100.240": "reserved-phone", "198.51.100.250": None}
    table = ipaudit(*args)
    assert "reserved-phone" in table.stdout and "router-\\x1b[31mred" in table.stdout and "\x1b" not in table.stdout
