"""A throwaway Ethernet LAN made of network namespaces: one switch namespace holding a bridge,
and one namespace per host joined to it by a veth pair.

Everything the lab creates is named ``<prefix><pid>x<n>-...`` and is torn down by
``Lab.close()``: tracked processes are killed by PID, then every lab namespace is
deleted (which also deletes its veths). ``close`` runs on leaving the ``with``
block (success or exception), on SIGTERM and SIGHUP (turned into SystemExit while
the lab is open: a closed terminal must not strand root dnsmasq processes), on
Ctrl-C (KeyboardInterrupt unwinds through ``__exit__``) and at exit. SIGKILL
cannot be caught: ``ipaudit.lab.cleanup`` removes what such a lab left, by the
owner PID in its names.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from netaddr import IPNetwork

from ipaudit.lab.dnsmasq import Dnsmasq, start_dnsmasq
from ipaudit.lab.host import Host, LabError, check_prefix, lab_mac, require_lab_tools

_lab_numbers = itertools.count(1)
_QUIET_SYSCTLS = (
    # A quiet lab: no IPv6 router solicitations or DAD traffic muddying captures.
    "net.ipv6.conf.all.disable_ipv6=1",
    "net.ipv6.conf.default.disable_ipv6=1",
)
# Signals that end a lab's process but can be caught: each unwinds like SystemExit.
_TEARDOWN_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Lab:
    """A namespace LAN. Use as ``with Lab(prefix="ipaL") as lab:``; see the module docstring."""

    def __init__(self, prefix: str = "ipaL", interface: str = "eth0"):
        self.name = f"{check_prefix(prefix)}{os.getpid()}x{next(_lab_numbers)}"
        self.interface = interface
        self.switch = f"{self.name}-sw"
        self.hosts: dict[str, Host] = {}
        self.namespaces: list[str] = []
        self.processes: list[subprocess.Popen] = []
        self.workdir: str | None = None
        self._macs = itertools.count(1)
        self._ports = itertools.count(1)
        self._closed = False
        self._old_handlers: dict[int, object] = {}
        self._lock = threading.Lock()

    # -- life cycle -------------------------------------------------------------------------

    def __enter__(self) -> Lab:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def start(self) -> None:
        require_lab_tools()
        self._install_handlers()
        try:
            self.workdir = tempfile.mkdtemp(prefix=f"{self.name}-")
            os.chmod(self.workdir, 0o755)  # dnsmasq drops to nobody and must reach its files
            self._add_namespaces([self.switch])
            self._ip(self.switch, "link", "add", "br0", "type", "bridge", "stp_state", "0",
                     "forward_delay", "0", "mcast_snooping", "0")
            self._ip(self.switch, "link", "set", "br0", "up")
            self._ip(self.switch, "link", "set", "lo", "up")
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Kill tracked processes by PID, then delete every lab namespace. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        # A second Ctrl-C while tearing down must not leave half the lab behind.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, *_TEARDOWN_SIGNALS})
        try:
            for process in self.processes:
                _stop(process)
            for namespace in reversed(self.namespaces):
                self._kill_leftovers(namespace)
                subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)
            if self.workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)
            self._restore_handlers()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    def _install_handlers(self) -> None:
        atexit.register(self.close)
        if threading.current_thread() is threading.main_thread():
            for signum in _TEARDOWN_SIGNALS:
                if signal.getsignal(signum) is signal.SIG_IGN:
                    continue  # e.g. under nohup: whoever ignored it meant it
                self._old_handlers[signum] = signal.signal(signum, _signal_to_exit)

    def _restore_handlers(self) -> None:
        atexit.unregister(self.close)
        if self._old_handlers and threading.current_thread() is threading.main_thread():
            for signum, handler in self._old_handlers.items():
                signal.signal(signum, handler)  # type: ignore[arg-type]
            self._old_handlers.clear()

    def _kill_leftovers(self, namespace: str) -> None:
        # Children of tracked processes (dnsmasq helpers, shells) still inside a lab
        # namespace: they are ours, found by PID through the namespace, never by name.
        listed = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True)
        for pid in listed.stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass

    # -- building ---------------------------------------------------------------------------

    def add_host(self, name: str, address: str, mac: str | None = None,
                 extra_addresses: list[str] | tuple[str, ...] = ()) -> Host:
        """A namespace with one interface (``self.interface``) plugged into the switch."""
        return self.add_hosts([(name, address, mac, tuple(extra_addresses))])[0]

    def add_hosts(self, specs) -> list[Host]:
        """Several hosts at once: ``specs`` are ``(name, address, mac|None, extra_addresses)``.

        Batching the ``ip`` commands keeps a lab of dozens of namespaces under a second.
        """
        hosts = []
        for name, address, mac, extra in specs:
            if name in self.hosts:
                raise LabError(f"lab host {name!r} already exists")
            addresses = [IPNetwork(a) for a in (address, *extra) if a]
            hosts.append(Host(name=name, namespace=f"{self.name}-{name}", interface=self.interface,
                              mac=mac or lab_mac(next(self._macs)), addresses=addresses,
                              switch_port=f"p{next(self._ports)}"))
        self._add_namespaces([h.namespace for h in hosts])
        switch_batch = []
        for host in hosts:
            switch_batch.append(f"link add {host.switch_port} type veth peer name {host.interface} "
                                f"netns {host.namespace}")
            switch_batch.append(f"link set {host.switch_port} master br0 up")
        self._batch(self.switch, switch_batch)
        for host in hosts:
            commands = [f"link set {host.interface} address {host.mac}", "link set lo up"]
            commands += [f"addr add {a} dev {host.interface}" for a in host.addresses]
            commands.append(f"link set {host.interface} up")
            self._batch(host.namespace, commands)
            self.hosts[host.name] = host
        return hosts

    def add_addresses(self, host: Host, addresses) -> None:
        """Give ``host`` many more addresses in one ``ip -batch`` (thousands take well under a second)."""
        networks = [IPNetwork(a) for a in addresses]
        self._batch(host.namespace, [f"addr add {a} dev {host.interface}" for a in networks])
        host.addresses.extend(networks)

    def drop_arp_requests(self, host: Host, percent: int) -> None:
        """Make ``host`` ignore ``percent``% of the ARP requests it receives (nftables, as netem is absent)."""
        if not 0 <= percent <= 100:
            raise LabError(f"drop percentage must be 0-100, not {percent}")
        if percent == 0:
            return
        # numgen values run 0-99, so "< 100" is out of range for nft: 100% is a plain drop.
        chance = "" if percent == 100 else f"numgen random mod 100 < {percent} "
        ruleset = ("table arp ipaudit_lab {\n chain input {\n"
                   "  type filter hook input priority 0; policy accept;\n"
                   f"  arp operation request {chance}drop\n }}\n}}\n")
        self._exec(host.namespace, ["nft", "-f", "-"], stdin=ruleset)

    def set_sysctl(self, host: Host, *assignments: str) -> None:
        """``sysctl -w`` inside the host's namespace, e.g. ``"net.ipv4.conf.all.arp_ignore=1"``."""
        self._exec(host.namespace, ["sysctl", "-q", "-w", *assignments])

    # -- running things in hosts ------------------------------------------------------------

    def command(self, host: Host | str, argv) -> list[str]:
        """The argv that runs ``argv`` inside ``host``'s namespace (for callers managing it themselves)."""
        namespace = host.namespace if isinstance(host, Host) else self.hosts[host].namespace
        return ["ip", "netns", "exec", namespace, *map(str, argv)]

    def spawn(self, host: Host | str, argv, **popen_options) -> subprocess.Popen:
        """Start ``argv`` in ``host``; the lab kills it by PID on teardown."""
        process = subprocess.Popen(self.command(host, argv), **popen_options)
        self.processes.append(process)
        return process

    def run(self, host: Host | str, argv, check: bool = True, timeout: float | None = 120,
            input: str | None = None) -> subprocess.CompletedProcess:
        """Run ``argv`` in ``host`` to completion, capturing stdout and stderr as text."""
        process = subprocess.Popen(self.command(host, argv), stdin=subprocess.PIPE if input else None,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.processes.append(process)
        try:
            stdout, stderr = process.communicate(input=input, timeout=timeout)
        finally:
            _stop(process)
            self.processes.remove(process)
        if check and process.returncode != 0:
            where = host if isinstance(host, str) else host.name
            raise LabError(f"{' '.join(map(str, argv))} failed in lab host {where} "
                           f"(exit {process.returncode}): {stderr.strip()[:300]}")
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)

    def start_dnsmasq(self, host: Host, dhcp_range: str, **options) -> Dnsmasq:
        """Start a real dnsmasq (DHCP only) in ``host``; see ``ipaudit.lab.dnsmasq.start_dnsmasq``."""
        return start_dnsmasq(self, host, dhcp_range, **options)

    def path(self, name: str) -> str:
        """A file path in the lab's private temporary directory (removed on teardown)."""
        if self.workdir is None:
            raise LabError("the lab has no working directory: it is closed or was never opened")
        return os.path.join(self.workdir, name)

    # -- plumbing ---------------------------------------------------------------------------

    def _add_namespaces(self, namespaces: list[str]) -> None:
        for namespace in namespaces:
            _checked(["ip", "netns", "add", namespace])
            self.namespaces.append(namespace)
            self._exec(namespace, ["sysctl", "-q", "-w", *_QUIET_SYSCTLS])

    def _ip(self, namespace: str, *args: str) -> None:
        _checked(["ip", "-n", namespace, *args])

    def _batch(self, namespace: str, commands: list[str]) -> None:
        if commands:
            _checked(["ip", "-n", namespace, "-batch", "-"], stdin="\n".join(commands) + "\n")

    def _exec(self, namespace: str, argv: list[str], stdin: str | None = None) -> None:
        _checked(["ip", "netns", "exec", namespace, *argv], stdin=stdin)


def _checked(argv: list[str], stdin: str | None = None) -> None:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        raise LabError(f"lab command failed: {' '.join(argv[:6])}...: {done.stderr.strip()[:300]}")


def _stop(process: subprocess.Popen, grace: float = 2.0) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    deadline = time.monotonic() + grace
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    if process.poll() is None:
        process.kill()
        process.wait()


def _signal_to_exit(signum, frame):
    # SystemExit unwinds through every `with Lab()` block, so teardown runs.
    raise SystemExit(128 + signum)
