"""Run a real dnsmasq DHCP server inside a lab host: DHCP only (no DNS), bound to the host's
veth, with its lease, pid and log files in the lab's temporary directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from typing import Protocol

from ipaudit.lab.host import Host, LabError


class LabProcesses(Protocol):
    """What a dnsmasq needs of its lab: a tracked way to start it, and a private directory.

    A protocol rather than ``netns.Lab`` itself, so this module never imports ``netns``.
    """

    def spawn(self, host: Host, argv, **popen_options) -> subprocess.Popen: ...

    def path(self, name: str) -> str: ...


@dataclass
class Dnsmasq:
    """A dnsmasq the lab started; ``leasefile`` is where it records leases it granted."""

    host: Host
    process: subprocess.Popen
    leasefile: str
    logfile: str
    pidfile: str

    def leases(self) -> list[str]:
        """The lease file's lines (``expiry mac ip hostname client-id``); empty when none."""
        try:
            with open(self.leasefile, encoding="utf-8") as handle:
                return [line.strip() for line in handle if line.strip()]
        except FileNotFoundError:
            return []

    def log(self) -> str:
        try:
            with open(self.logfile, encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except FileNotFoundError:
            return ""


def start_dnsmasq(lab: LabProcesses, host: Host, dhcp_range: str, router: str | None = None,
                  dns: str | None = None, lease_time: str = "1h", leasefile: str | None = None,
                  extra_args: tuple[str, ...] | list[str] = (), ready_timeout: float = 5.0,
                  ping: bool = False) -> Dnsmasq:
    """Start dnsmasq in ``host`` serving ``dhcp_range`` ("first,last" or "first,last,mask").

    It runs in the foreground (the lab tracks and kills its PID), reads no config file,
    serves no DNS (--port=0) and binds only to the host's lab interface. Unless
    ``ping`` is true it runs with --no-ping: a real dnsmasq pings an address for
    about 3 s before offering it, which would make every lab discovery wait that long.
    """
    binary = shutil.which("dnsmasq")
    if binary is None:
        raise LabError("dnsmasq is not installed", hint="install it, e.g. apt-get install dnsmasq-base")
    tag = f"dnsmasq-{host.name}"
    leasefile = leasefile or lab.path(f"{tag}.leases")
    logfile, pidfile = lab.path(f"{tag}.log"), lab.path(f"{tag}.pid")
    open(leasefile, "a").close()
    argv = [binary, "--keep-in-foreground", "--conf-file=/dev/null", "--port=0",
            f"--interface={host.interface}", "--bind-interfaces", "--user=root", "--group=root",
            f"--dhcp-range={dhcp_range},{lease_time}", f"--dhcp-leasefile={leasefile}",
            f"--pid-file={pidfile}", f"--log-facility={logfile}", "--log-dhcp"]
    if not ping:
        argv.append("--no-ping")
    if router:
        argv.append(f"--dhcp-option=option:router,{router}")
    if dns:
        argv.append(f"--dhcp-option=option:dns-server,{dns}")
    argv += list(extra_args)
    process = lab.spawn(host, argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = Dnsmasq(host=host, process=process, leasefile=leasefile, logfile=logfile, pidfile=pidfile)
    _wait_until_serving(server, ready_timeout)
    return server


def _wait_until_serving(server: Dnsmasq, timeout: float) -> None:
    # The pid file is written after the DHCP socket is bound, so it marks "ready".
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            error = server.process.stderr.read().decode(errors="replace").strip() if server.process.stderr else ""
            raise LabError(f"dnsmasq in lab host {server.host.name} exited at start: "
                           f"{error or server.log().strip()[-300:]}")
        if os.path.exists(server.pidfile) and os.path.getsize(server.pidfile) > 0:
            return
        time.sleep(0.02)
    raise LabError(f"dnsmasq in lab host {server.host.name} did not start within {timeout:g} s")
