"""The namespace lab itself: it builds a working LAN and leaves nothing behind, whatever happens."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from ipaudit.lab import Lab, LabError, require_lab_tools

pytestmark = pytest.mark.netns


def namespaces() -> set[str]:
    return set(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split())


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: it only waits for its parent to read its status.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(")")[-1].split()[0] != "Z"


def test_hosts_reach_each_other_and_arp_drop_silences_a_host():
    with Lab(prefix="ipaL") as lab:
        quiet = lab.add_host("quiet", "198.51.100.30/24")
        lab.add_host("loud", "198.51.100.31/24", mac="02:00:00:00:00:31",
                     extra_addresses=["198.51.100.32/24"])
        scanner = lab.add_host("scanner", "198.51.100.250/24")
        lab.drop_arp_requests(quiet, 100)
        found = lab.run(scanner, ["arp-scan", "-I", "eth0", "-q", "-x", "198.51.100.29-198.51.100.33"]).stdout.split()
    assert found == ["198.51.100.31", "02:00:00:00:00:31", "198.51.100.32", "02:00:00:00:00:31"]


def test_exception_inside_the_lab_kills_its_processes_and_deletes_its_namespaces():
    with pytest.raises(RuntimeError, match="boom"):
        with Lab(prefix="ipaL") as lab:
            host = lab.add_host("a", "198.51.100.10/24")
            sleeper = lab.spawn(host, ["sleep", "60"])
            created = set(lab.namespaces)
            assert created <= namespaces()
            raise RuntimeError("boom")
    assert not created & namespaces()
    assert sleeper.poll() is not None


SCRIPT = textwrap.dedent("""
    import sys, time
    from ipaudit.lab import Lab
    with Lab(prefix="ipaL") as lab:
        host = lab.add_host("a", "198.51.100.10/24")
        sleeper = lab.spawn(host, ["sleep", "60"])
        print(" ".join(lab.namespaces), sleeper.pid, flush=True)
        time.sleep(60)
""")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_tears_the_lab_down(signum):
    process = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    try:
        *created, sleeper = process.stdout.readline().split()
        assert created and set(created) <= namespaces()
        process.send_signal(signum)
        process.wait(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert not set(created) & namespaces()
    assert not alive(int(sleeper))


def test_missing_ip_command_is_a_one_line_lab_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LabError) as problem:
        require_lab_tools()
    assert "iproute2" in problem.value.one_line() and "\n" not in problem.value.one_line()


DEMO_LIKE = textwrap.dedent("""
    import time
    from ipaudit.cli.demo import build_story
    from ipaudit.lab import Lab
    with Lab(prefix="ipademo") as lab:
        build_story(lab)  # the demo's 8 namespaces and its 2 root dnsmasq processes
        print(lab.name, lab.workdir, flush=True)
        time.sleep(120)
""")


def pids_in(namespace: str) -> set[int]:
    listed = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True).stdout
    return {int(pid) for pid in listed.split()}


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGHUP])
def test_killed_demo_lab_is_removed_and_a_live_lab_survives(signum):
    with Lab(prefix="ipaL") as live:
        live_host = live.add_host("a", "198.51.100.10/24")
        live_sleeper = live.spawn(live_host, ["sleep", "60"])
        bystander = f"ipaudit-bystander{os.getpid()}x1-sw"  # not named like a lab: never ours to remove
        subprocess.run(["ip", "netns", "add", bystander], check=True)
        child = subprocess.Popen([sys.executable, "-c", DEMO_LIKE], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, cwd=os.path.dirname(os.path.dirname(__file__)))
        try:
            name, workdir = child.stdout.readline().split()
            created = {n for n in namespaces() if n.startswith(f"{name}-")}
            servers = set().union(*(pids_in(n) for n in created))
            assert len(created) == 8 and len(servers) == 2 and os.path.isdir(workdir)
            child.send_signal(signum)
            child.wait(timeout=15)
            if signum == signal.SIGKILL:
                # Nothing could run in the child: all of it is still there until cleanup.
                assert created <= namespaces() and all(alive(pid) for pid in servers)
                cleanup = subprocess.run([sys.executable, "-m", "ipaudit", "demo", "--cleanup"],
                                         capture_output=True, text=True, timeout=60)
                assert cleanup.returncode == 0, cleanup.stderr
                assert (f"Removed the leftovers of lab {name} (owner PID {child.pid} is gone): "
                        f"8 namespaces, 2 processes.") in cleanup.stderr
            else:
                assert child.returncode == 128 + signal.SIGHUP  # torn down by its own handler
            assert not created & namespaces()
            assert not [pid for pid in servers if alive(pid)]
            assert not os.path.exists(workdir)
            # The concurrently live lab, and the namespace that is not a lab's, are untouched.
            assert set(live.namespaces) | {bystander} <= namespaces()
            assert live_sleeper.poll() is None and pids_in(live_host.namespace) == {live_sleeper.pid}
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            subprocess.run(["ip", "netns", "del", bystander], capture_output=True)
            from ipaudit.lab.cleanup import remove_stale_labs

            remove_stale_labs()  # safety net should an assertion above have failed


def test_lab_prefix_must_stay_recognisable():
    with pytest.raises(LabError, match="must be 'ipa' followed by letters"):
        Lab(prefix="lab1")
