"""Looking at the live LAN: a whole-subnet scan (``ipaudit scan``) and a pool probe
(``ipaudit check-pool -i``), each an ARP sweep with DHCP discovery running beside it.

DHCP discovery spends most of its window waiting (dnsmasq answers after ~3 s), so
it runs in a background thread while the sweep sends: a scan takes about
max(sweep, window), not their sum.

Both raw sockets are opened first, in the calling thread; then, run as root, the
process keeps only CAP_NET_RAW (capabilities are per thread, so this happens before
any thread starts and every thread inherits the reduced set); only then does
anything hear a frame from the LAN.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Iterable

from netaddr import IPNetwork, IPSet

from ipaudit.errors import IpauditError
from ipaudit.model import Finding, Inventory
from ipaudit.scan.arp import DEFAULT_RATE, DEFAULT_RETRIES, DEFAULT_TIMEOUT, ArpSweep, open_arp_socket, sweep
from ipaudit.scan.arp_findings import ArpObservation, arp_findings, hosts_from_observations
from ipaudit.scan.interfaces import interface_info
from ipaudit.scan.privileges import keep_only_net_raw

DEFAULT_DHCP_TIMEOUT = 6.0


@dataclass(frozen=True)
class SweepSettings:
    """How hard to ask: packets per second, extra rounds for the silent, wait for late replies."""

    rate: float = DEFAULT_RATE
    retries: int = DEFAULT_RETRIES
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class DhcpSettings:
    timeout: float = DEFAULT_DHCP_TIMEOUT
    client_mac: str | None = None
    allowed: tuple[str, ...] | None = None  # None: no allow list, nobody is "unauthorized"


@dataclass(frozen=True)
class LanScan:
    """The inventory, plus the raw sweep (RTTs, counts) for the human report."""

    inventory: Inventory
    sweep: ArpSweep | None = None


class _DhcpInBackground(threading.Thread):
    def __init__(self, interface: str, settings: DhcpSettings, sock):
        super().__init__(name="dhcp-discovery", daemon=True)
        self.interface, self.settings, self.sock = interface, settings, sock
        self.stop = threading.Event()
        self.discovery = None
        self.failure: BaseException | None = None

    def run(self) -> None:
        from ipaudit.scan.dhcp import run_discovery
        from ipaudit.scan.dhcp_servers import AllowedDhcp

        try:
            self.discovery = run_discovery(self.interface, self.settings.timeout, self.settings.client_mac,
                                           stop=self.stop, sock=self.sock,
                                           allowed=AllowedDhcp.from_texts(self.settings.allowed))
        except BaseException as problem:  # noqa: BLE001 - re-raised in the calling thread
            self.failure = problem

    def finish(self):
        """The Discovery (servers, malformed packets), once the window has ended."""
        # Short joins so Ctrl-C reaches the main thread while we wait for the window to end.
        while self.is_alive():
            self.join(0.1)
        if self.failure is not None:
            raise self.failure
        return self.discovery


def _dhcp_findings(discovery, listeners, own_ips, allowed: tuple[str, ...] | None) -> list[Finding]:
    from ipaudit.scan.dhcp_findings import dhcp_findings
    from ipaudit.scan.dhcp_servers import AllowedDhcp
    from ipaudit.scan.local_dhcp import local_dhcp_findings

    allow_list = AllowedDhcp.from_texts(allowed)
    return dhcp_findings(discovery.book, allow_list) + local_dhcp_findings(listeners, own_ips, allow_list)


def _open_sockets(interface: str, arp: bool, dhcp: bool) -> list:
    """The ARP and DHCP sockets (None for a half left out), opened while privileges last."""
    from ipaudit.scan import dhcp as dhcp_wire

    sockets: list = []
    try:
        sockets.append(open_arp_socket(interface) if arp else None)
        sockets.append(dhcp_wire.open_socket(interface) if dhcp else None)
    except BaseException:
        _close(sockets)
        raise
    return sockets


def _local_listeners() -> list:
    from ipaudit.scan.local_dhcp import local_dhcp_listeners

    return local_dhcp_listeners()


def _close(sockets) -> None:
    for sock in sockets:
        if sock is not None:
            sock.close()


def _look(interface: str, subnet: IPNetwork, targets: Iterable[int] | None, arp: SweepSettings | None,
          dhcp: DhcpSettings | None, progress: Callable | None, drop_privileges: bool) -> LanScan:
    if arp is None and dhcp is None:
        raise IpauditError("nothing to do: both the ARP sweep and DHCP discovery are switched off")
    own = interface_info(interface)  # fails early, with the list of interfaces, before any thread
    # A DHCP server on this host never answers our raw socket: ask the kernel, while /proc/*/fd is readable.
    listeners = _local_listeners() if dhcp is not None else []
    arp_sock, dhcp_sock = _open_sockets(interface, arp is not None, dhcp is not None)
    background = None
    try:
        if drop_privileges:
            keep_only_net_raw()
        if dhcp is not None:
            background = _DhcpInBackground(interface, dhcp, dhcp_sock)
            background.start()
        result = None
        if arp is not None:
            result = sweep(interface, subnet, rate=arp.rate, retries=arp.retries, timeout=arp.timeout,
                           targets=targets, progress=progress, sock=arp_sock)
        discovery = background.finish() if background is not None else None
    except BaseException:
        if background is not None:
            background.stop.set()
            background.join()
        raise
    finally:
        _close([arp_sock, dhcp_sock])
    observations = result.observations() if result is not None else ()
    findings = arp_findings(observations, own_ip=str(own.ip), own_mac=own.mac, interface=interface)
    servers = discovery.servers if discovery is not None else []
    if discovery is not None:
        findings += _dhcp_findings(discovery, listeners, [own.ip], dhcp.allowed)
    # The scanner holds its address too: a pool planned from this inventory must avoid it.
    ourselves = ArpObservation(ip=str(own.ip), mac=own.mac, eth_source=own.mac)
    inventory = Inventory(hosts=hosts_from_observations([ourselves, *observations]),
                          dhcp_servers=tuple(servers), interface=interface, subnet=subnet,
                          findings=tuple(findings))
    return LanScan(inventory=inventory, sweep=result)


def scan_lan(interface: str, subnet: IPNetwork | None = None, arp: SweepSettings | None = SweepSettings(),
             dhcp: DhcpSettings | None = DhcpSettings(), progress: Callable | None = None,
             drop_privileges: bool = True) -> LanScan:
    """ARP-sweep ``subnet`` (default: the interface's) and run DHCP discovery beside it.

    ``arp=None`` or ``dhcp=None`` leaves that half out. Run as root, the process keeps
    only CAP_NET_RAW once the sockets are open (``drop_privileges``): call it from a
    process's only thread, or pass False.
    """
    network = subnet if subnet is not None else interface_info(interface).subnet
    return _look(interface, network, None, arp, dhcp, progress, drop_privileges)


def probe_pool(interface: str, pool: IPSet, dhcp_timeout: float = DEFAULT_DHCP_TIMEOUT,
               rate: float = DEFAULT_RATE, retries: int = DEFAULT_RETRIES,
               timeout: float = DEFAULT_TIMEOUT, drop_privileges: bool = True) -> Inventory:
    """ARP-probe every address of ``pool`` and run DHCP discovery beside it.

    The inventory's hosts are whoever answered inside the pool; its DHCP servers
    carry the offered address and mask, so the planner sees offers landing in the
    pool and the subnet even when the DHCP range is unknown. ``drop_privileges`` as
    for ``scan_lan``: afterwards the process is root without root's powers, so read
    any files before calling this.
    """
    targets = [int(ip) for cidr in pool.iter_cidrs() for ip in cidr]
    subnet = interface_info(interface).subnet
    return _look(interface, subnet, targets, SweepSettings(rate, retries, timeout),
                 DhcpSettings(timeout=dhcp_timeout), None, drop_privileges).inventory
