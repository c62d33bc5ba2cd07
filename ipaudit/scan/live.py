"""Looking at the live LAN: a whole-subnet scan (``ipaudit scan``) and a pool probe
(``ipaudit check-pool -i``), each an ARP sweep with DHCP discovery running beside it.

Every IPv4 subnet configured on the interface is swept, each asked from this host's
address in it (arp-scan's ``--arpspa``): a host in a secondary subnet may not answer a
request from an address it has no route back to. Every address of this host there,
and each ``--self-vip``, is asked by RFC 5227 probe, so another device holding one is
caught while this host's own NICs answering are not.

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
from typing import TYPE_CHECKING, Callable, Iterable

from netaddr import IPAddress, IPNetwork, IPSet

from ipaudit.errors import IpauditError
from ipaudit.model import Finding, Inventory
from ipaudit.scan.arp import (
    DEFAULT_CONFIRM, DEFAULT_RATE, DEFAULT_RETRIES, DEFAULT_TIMEOUT, ArpSweep, open_arp_socket, sweep, sweep_targets,
)
from ipaudit.scan.arp_findings import ArpObservation, ThisHost, hosts_from_observations, interpret
from ipaudit.scan.interfaces import gateways, interface_info, interface_networks, local_addresses, local_macs
from ipaudit.scan.privileges import keep_only_net_raw

if TYPE_CHECKING:  # the DHCP half loads only when discovery runs
    from ipaudit.scan.dhcp import Discovery

DEFAULT_DHCP_TIMEOUT = 6.0


@dataclass(frozen=True)
class SweepSettings:
    """How hard to ask: packets per second, extra rounds for the silent, wait for late replies,
    extra requests to each answered address (a second holder may miss one)."""

    rate: float = DEFAULT_RATE
    retries: int = DEFAULT_RETRIES
    timeout: float = DEFAULT_TIMEOUT
    confirm: int = DEFAULT_CONFIRM


@dataclass(frozen=True)
class DhcpSettings:
    timeout: float = DEFAULT_DHCP_TIMEOUT
    client_mac: str | None = None
    allowed: tuple[str, ...] | None = None  # None: no allow list, nobody is "unauthorized"


@dataclass(frozen=True)
class SweepLeg:
    """One subnet to sweep and the sender IP to ask it from (None: the interface's primary)."""

    subnet: IPNetwork
    source_ip: str | None = None


@dataclass(frozen=True)
class LanScan:
    """The inventory, plus the raw sweeps (RTTs, counts; one per subnet) for the human report."""

    inventory: Inventory
    sweeps: tuple[ArpSweep, ...] = ()
    this_host: ThisHost | None = None

    @property
    def sweep(self) -> ArpSweep | None:
        return self.sweeps[0] if self.sweeps else None


def this_host_on(interface: str, legs: list[SweepLeg], self_vips: Iterable[str] = ()) -> ThisHost:
    """This host as the swept LAN sees it: every address of ``interface``, other local NICs'
    addresses inside the swept subnets, ``self_vips``, and every local MAC."""
    own = interface_info(interface)
    mine = [str(n.ip) for n in interface_networks(interface, own.network)]
    swept = IPSet(leg.subnet for leg in legs)
    elsewhere = [str(n.ip) for n in local_addresses() if n.ip in swept and str(n.ip) not in mine]
    return ThisHost(interface=interface, mac=own.mac, addresses=tuple(dict.fromkeys(mine + elsewhere)),
                    vips=tuple(dict.fromkeys(str(IPAddress(v)) for v in self_vips)),
                    macs=local_macs(own.mac))


def legs_of(interface: str, subnet: IPNetwork | None = None) -> list[SweepLeg]:
    """``subnet`` (asked from this host's address in it, if any), else every IPv4 subnet of ``interface``."""
    own = interface_info(interface)
    networks = interface_networks(interface, own.network)
    if subnet is not None:
        inside = [n for n in networks if n.ip in subnet]
        return [SweepLeg(subnet, str(inside[0].ip) if inside else None)]
    legs: dict[IPNetwork, SweepLeg] = {}
    for network in networks:
        # A /32 is a VIP on the NIC (kube-vip, Cilium): it is probed as ours, nothing else to sweep.
        if network.prefixlen < 32:
            legs.setdefault(network.cidr, SweepLeg(network.cidr, str(network.ip)))
    return list(legs.values()) or [SweepLeg(own.subnet, str(own.ip))]


class _DhcpInBackground(threading.Thread):
    def __init__(self, interface: str, settings: DhcpSettings, sock):
        super().__init__(name="dhcp-discovery", daemon=True)
        self.interface, self.settings, self.sock = interface, settings, sock
        self.stop = threading.Event()
        self.discovery: Discovery | None = None
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


def _sweep_legs(interface: str, legs: list[SweepLeg], targets: list[int] | None, arp: SweepSettings,
                progress: Callable | None, sock, this_host: ThisHost) -> list[ArpSweep]:
    planned = [len(sweep_targets(leg.subnet)) if targets is None else len(targets) for leg in legs]
    # One progress bar over every subnet: each leg's counts are offset by the legs before it.
    before, latest = [0, 0], [0]

    def step(sent: int, _planned: int, answered: int) -> None:
        latest[0] = answered
        if progress is not None:
            progress(before[0] + sent, sum(planned), before[1] + answered)

    done: list[ArpSweep] = []
    for number, leg in enumerate(legs):
        done.append(sweep(interface, leg.subnet, rate=arp.rate, retries=arp.retries, timeout=arp.timeout,
                          confirm=arp.confirm, targets=targets, progress=step if progress is not None else None, sock=sock,
                          source_ip=leg.source_ip, probe_self=number == 0, own_ips=this_host.ips))
        before[0], before[1], latest[0] = before[0] + planned[number], before[1] + latest[0], 0
    return done


def _look(interface: str, legs: list[SweepLeg], targets: list[int] | None, arp: SweepSettings | None,
          dhcp: DhcpSettings | None, progress: Callable | None, drop_privileges: bool,
          self_vips: Iterable[str] = ()) -> LanScan:
    if arp is None and dhcp is None:
        raise IpauditError("nothing to do: both the ARP sweep and DHCP discovery are switched off")
    own = interface_info(interface)  # fails early, with the list of interfaces, before any thread
    this_host = this_host_on(interface, legs, self_vips)  # netlink and /proc: read before the drop
    routes = gateways(interface)
    on_interface = {str(n.ip) for n in interface_networks(interface, own.network)}
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
        sweeps = _sweep_legs(interface, legs, targets, arp, progress, arp_sock, this_host) if arp else []
        discovery = background.finish() if background is not None else None
    except BaseException:
        if background is not None:
            background.stop.set()
            background.join()
        raise
    finally:
        _close([arp_sock, dhcp_sock])
    observations = [seen for result in sweeps for seen in result.observations()]
    servers = discovery.servers if discovery is not None else []
    routers = [*routes, *(str(s.router) for s in servers if s.router is not None)]
    verdict = interpret(observations, this_host, routers)
    findings = list(verdict.findings)
    findings += [f for result in sweeps for f in result.findings()]  # arp-flood, arp-malformed
    if discovery is not None and dhcp is not None:
        findings += _dhcp_findings(discovery, listeners, list(this_host.ips) or [own.ip], dhcp.allowed)
    # The scanner holds its addresses too: a pool planned from this inventory must avoid them.
    # (Addresses of this host's other NICs are listed with the MAC that answered our probe for them.)
    ourselves = [ArpObservation(ip=ip, mac=own.mac, eth_source=own.mac) for ip in this_host.ips
                 if ip in this_host.vips or ip in on_interface]
    inventory = Inventory(hosts=hosts_from_observations([*ourselves, *observations]),
                          dhcp_servers=tuple(servers), interface=interface, subnet=legs[0].subnet,
                          findings=tuple(findings), proxied=verdict.proxied)
    return LanScan(inventory=inventory, sweeps=tuple(sweeps), this_host=this_host)


def scan_lan(interface: str, subnet: IPNetwork | list[SweepLeg] | None = None,
             arp: SweepSettings | None = SweepSettings(), dhcp: DhcpSettings | None = DhcpSettings(),
             progress: Callable | None = None, drop_privileges: bool = True,
             self_vips: Iterable[str] = ()) -> LanScan:
    """ARP-sweep ``subnet`` (default: every subnet of the interface) and run DHCP discovery beside it.

    ``subnet`` may be the legs themselves (``legs_of``). ``self_vips`` are VIPs a userspace
    speaker on this host announces: ours, and any other MAC on them is a conflict.
    ``arp=None`` or ``dhcp=None`` leaves that half out. Run as root, the process keeps
    only CAP_NET_RAW once the sockets are open (``drop_privileges``): call it from a
    process's only thread, or pass False.
    """
    legs = subnet if isinstance(subnet, list) else legs_of(interface, subnet)
    return _look(interface, legs, None, arp, dhcp, progress, drop_privileges, self_vips)


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
    legs = legs_of(interface)
    # The pool is asked from this host's address in the pool's subnet, when it has one there.
    leg = next((leg for leg in legs if targets and IPAddress(targets[0]) in leg.subnet), legs[0])
    return _look(interface, [leg], targets, SweepSettings(rate, retries, timeout),
                 DhcpSettings(timeout=dhcp_timeout), None, drop_privileges).inventory
