"""``ipaudit demo`` end to end: the blog's findings appear, and nothing is left behind, also after Ctrl-C."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from ipaudit.cli.main import program

DEMO = [sys.executable, "-m", "ipaudit", "demo"]


def leftovers(pid: int) -> tuple[list[str], list[str]]:
    """Namespaces and processes that still carry the demo run's lab name (``ipademo<pid>x...``)."""
    tag = f"ipademo{pid}x"
    namespaces = [line for line in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                                   text=True).stdout.splitlines() if tag in line]
    processes = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if tag in cmdline:
            processes.append(f"{entry.name}: {cmdline[:120]}")
    return namespaces, processes


@pytest.mark.netns
def test_demo_shows_the_story_and_cleans_up():
    demo = subprocess.run(DEMO, capture_output=True, text=True, timeout=150)
    assert demo.returncode == 0, demo.stderr
    out = " ".join(demo.stdout.split())  # tables wrap long details to the width
    # scan: the two hosts on .20 and both DHCP servers
    assert "duplicate-ip" in out and "198.51.100.20 is answered by 2 different MACs" in out
    assert "multiple-dhcp-servers" in out and "2 DHCP servers answered: " in out
    assert "198.51.100.1 (" in out and "198.51.100.254 (" in out
    assert "unauthorized-dhcp-server" in out and "DHCP server 198.51.100.254 (" in out
    # check-pool: the phone in the pool, and the pool inside the router's DHCP range
    assert "pool-address-in-use" in out and "198.51.100.240" in out
    assert "pool-overlaps-dhcp" in out
    assert demo.stderr.count("(exit status 2)") == 2  # both reports are CRITICAL
    assert "Done: nothing of the demo LAN is left." in demo.stderr
    # The demo names its lab "ipademo<pid>x1" and prints that in its "Building" line.
    building = next(line for line in demo.stderr.splitlines() if line.startswith("Building"))
    pid = int(building.split("ipademo", 1)[1].split("x", 1)[0])
    assert leftovers(pid) == ([], [])


def pids_inside(pid: int) -> set[int]:
    """Every process running in one of the demo's namespaces (the scan, dnsmasq, ...)."""
    inside = set()
    for namespace in leftovers(pid)[0]:
        listed = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True).stdout
        inside.update(int(p) for p in listed.split())
    return inside


def remove_leftovers(pid: int) -> None:
    """Safety net after a failed test: our demo's namespaces and processes, by PID, never by name."""
    for leftover in pids_inside(pid):
        os.kill(leftover, signal.SIGKILL)
    for namespace in leftovers(pid)[0]:
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True)


@pytest.mark.netns
def test_ctrl_c_mid_demo_tears_everything_down():
    demo = subprocess.Popen(DEMO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = ""
        while "$ sudo ipaudit scan" not in seen:
            line = demo.stderr.readline()
            assert line, seen  # the demo ended before the scan started
            seen += line
        deadline = time.monotonic() + 10
        while len(pids_inside(demo.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        inside = pids_inside(demo.pid)
        assert len(leftovers(demo.pid)[0]) == 8 and len(inside) >= 3  # the LAN is up: 2 dnsmasq + the scan
        demo.send_signal(signal.SIGINT)
        _, rest = demo.communicate(timeout=30)
        assert demo.returncode == 130
        assert "ipaudit: interrupted" in rest
        assert leftovers(demo.pid) == ([], [])
        assert [pid for pid in inside if Path(f"/proc/{pid}").exists()] == []
    finally:
        if demo.poll() is None:
            demo.send_signal(signal.SIGINT)
            try:
                demo.wait(timeout=20)
            except subprocess.TimeoutExpired:
                demo.kill()
                demo.wait()
        remove_leftovers(demo.pid)


def test_demo_without_root_or_tools_is_one_line_and_exit_3(monkeypatch, tmp_path):
    runner = CliRunner()
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    result = runner.invoke(program, ["demo"])
    assert result.exit_code == 3
    assert result.output.strip().splitlines() == [
        "ipaudit: error: the namespace lab needs root to create network namespaces: run it with sudo"]
    monkeypatch.undo()

    # A PATH holding `ip` but no dnsmasq, then one holding neither: real lookups, no stand-ins.
    only_ip = tmp_path / "bin"
    only_ip.mkdir()
    (only_ip / "ip").symlink_to(shutil.which("ip"))
    for path, expected in ((only_ip, "the demo needs dnsmasq, which is not on PATH: install it"),
                           (tmp_path, "the namespace lab needs the `ip` command (iproute2)")):
        done = subprocess.run(DEMO, capture_output=True, text=True, timeout=30,
                              env={**os.environ, "PATH": str(path)})
        assert done.returncode == 3 and done.stdout == ""
        assert len(done.stderr.strip().splitlines()) == 1 and expected in done.stderr, done.stderr
