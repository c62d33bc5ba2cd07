"""Remove what a lab left behind when its owner died without tearing it down (SIGKILL, a crash).

A lab's namespaces are named ``<prefix><owner pid>x<n>-<part>`` (see ``host.py``).
A lab is stale only when that owner PID is dead (or a zombie), so a lab another
process is using right now, a concurrent test run for one, is never touched; a
namespace not named like a lab is never touched either. For a stale lab, every
process inside its namespaces is killed by PID (a pidfd, checked to still be in
that namespace, so a recycled PID is never hit), then each namespace is deleted
and the lab's private temporary directory removed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

from ipaudit.lab.host import LAB_NAMESPACE

NETNS_DIR = "/run/netns"


@dataclass
class StaleLab:
    """One dead owner's leftovers: its namespaces, and what cleanup did about them."""

    name: str
    owner_pid: int
    namespaces: list[str] = field(default_factory=list)
    killed: list[int] = field(default_factory=list)
    workdirs: list[str] = field(default_factory=list)


def owner_alive(pid: int) -> bool:
    """Whether ``pid`` still runs; a zombie is dead (it can no longer tear anything down)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def lab_namespaces() -> list[str]:
    """The names of every namespace named like a lab's, alive or not."""
    try:
        names = os.listdir(NETNS_DIR)
    except FileNotFoundError:
        return []
    return sorted(name for name in names if LAB_NAMESPACE.match(name))


def find_stale_labs() -> list[StaleLab]:
    """Labs whose owner is dead, with their namespaces; labs of live owners are left out."""
    labs: dict[str, StaleLab] = {}
    for namespace in lab_namespaces():
        match = LAB_NAMESPACE.match(namespace)
        assert match is not None  # lab_namespaces() matched it
        pid = int(match["pid"])
        if owner_alive(pid):
            continue
        labs.setdefault(match["lab"], StaleLab(name=match["lab"], owner_pid=pid)).namespaces.append(namespace)
    return list(labs.values())


def _pids_in(namespace: str) -> list[int]:
    """Processes whose network namespace is ``namespace`` (what ``ip netns pids`` reports)."""
    try:
        wanted = os.stat(os.path.join(NETNS_DIR, namespace))
    except FileNotFoundError:
        return []
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _in_namespace(int(entry), wanted):
            found.append(int(entry))
    return found


def _in_namespace(pid: int, wanted: os.stat_result) -> bool:
    try:
        mine = os.stat(f"/proc/{pid}/ns/net")
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (wanted.st_dev, wanted.st_ino)


def _kill_inside(namespace: str, grace: float = 2.0) -> list[int]:
    """SIGKILL every process in ``namespace`` through a pidfd; wait until none is left."""
    killed: list[int] = []
    deadline = time.monotonic() + grace
    while (inside := [pid for pid in _pids_in(namespace) if owner_alive(pid)]) and time.monotonic() < deadline:
        for pid in inside:
            try:
                handle = os.pidfd_open(pid)
            except ProcessLookupError:
                continue
            try:
                # Checked after the pidfd pins the process: a PID recycled meanwhile is not ours.
                if _in_namespace(pid, os.stat(os.path.join(NETNS_DIR, namespace))):
                    signal.pidfd_send_signal(handle, signal.SIGKILL)
                    if pid not in killed:
                        killed.append(pid)
            except (ProcessLookupError, FileNotFoundError):
                pass
            finally:
                os.close(handle)
        time.sleep(0.02)
    return killed


def _workdirs(lab: str) -> list[str]:
    """The lab's private directories (``tempfile.mkdtemp(prefix=lab + "-")``), root-owned only."""
    root = tempfile.gettempdir()
    found = []
    for entry in os.listdir(root):
        if not entry.startswith(f"{lab}-"):
            continue
        path = os.path.join(root, entry)
        status = os.lstat(path)
        # Never follow a link, never remove what someone else made under a lab-like name.
        if os.path.isdir(path) and not os.path.islink(path) and status.st_uid == os.geteuid():
            found.append(path)
    return found


def remove_stale_labs() -> list[StaleLab]:
    """Kill the processes in, and delete, every stale lab's namespaces; returns what was removed."""
    stale = find_stale_labs()
    for lab in stale:
        for namespace in lab.namespaces:
            lab.killed += _kill_inside(namespace)
        for namespace in reversed(lab.namespaces):
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)
        lab.workdirs = _workdirs(lab.name)
        for path in lab.workdirs:
            shutil.rmtree(path, ignore_errors=True)
    return stale
