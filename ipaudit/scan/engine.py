"""``ipaudit scan`` as a plain function: a ScanRequest in, a ScanReport out.

Three ways to look: an active sweep with DHCP discovery beside it, passive
listening, or a capture file taken elsewhere (``tcpdump -w`` on a router, read with
scapy). All three yield the same Inventory and findings; the CLI only parses
options and renders.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from netaddr import IPNetwork

from ipaudit.addresses import parse_ip, parse_network
from ipaudit.errors import IpauditError
from ipaudit.plan.status import status_of
from ipaudit.report.interface import ScanReport

#: The widest subnet swept without ``force``: a /16 at the default 500 pps already takes over two minutes.
WIDEST_SUBNET = 16


@dataclass(frozen=True)
class ScanRequest:
    interface: str | None = None
    subnet: str | None = None
    force: bool = False
    rate: float = 500.0
    retries: int = 1
    timeout: float = 0.5
    #: Extra requests to every answered address, so a second holder that missed one is found.
    confirm: int = 5
    dhcp_timeout: float = 6.0
    dhcp: bool = True
    arp: bool = True
    #: Listen for this many seconds and send nothing.
    passive: float | None = None
    client_mac: str | None = None
    #: DHCP servers that are allowed (IPs and MACs); None: no allow list, so nobody is unauthorized.
    allowed_dhcp: tuple[str, ...] | None = None
    #: Audit this capture file (pcap or pcapng) instead of the wire: no interface, no root.
    pcap: str | None = None
    #: VIPs a userspace speaker on this host announces (MetalLB, kube-vip): ours, like its own addresses.
    self_vips: tuple[str, ...] = ()
    #: DHCP sources (``dnsmasq:/etc/dnsmasq.conf`` ...) whose leases and reservations name the hosts.
    dhcp_sources: tuple[str, ...] = ()


def allowed_servers(specs: tuple[str, ...]) -> tuple[str, ...] | None:
    """``--allowed-dhcp`` values (repeatable, comma-separated IPs or MACs) as sorted texts; None when none given."""
    from ipaudit.scan.dhcp_servers import is_mac

    parts = [part.strip() for spec in specs for part in spec.split(",") if part.strip()]
    texts = {part.replace("-", ":").lower() if is_mac(part) else str(parse_ip(part)) for part in parts}
    return tuple(sorted(texts)) if texts else None


def self_vip_addresses(specs: tuple[str, ...]) -> tuple[str, ...]:
    """``--self-vip`` values (repeatable, comma-separated) as IPv4 texts."""
    vips = []
    for part in (p.strip() for spec in specs for p in spec.split(",") if p.strip()):
        ip = parse_ip(part)
        if ip.version != 4:
            raise IpauditError(f"--self-vip {part} is not IPv4: ARP only exists on IPv4")
        vips.append(str(ip))
    return tuple(dict.fromkeys(vips))


def sweep_subnet(interface: str, subnet_text: str | None, force: bool) -> IPNetwork:
    """The IPv4 subnet to sweep: ``--subnet``, else the interface's; wider than /16 only with ``force``."""
    from ipaudit.scan.interfaces import interface_info

    subnet = parse_network(subnet_text) if subnet_text else interface_info(interface).subnet
    _check_width(subnet, "--subnet" if subnet_text else f"the network of {interface}", force)
    return subnet


def _check_width(subnet: IPNetwork, origin: str, force: bool) -> None:
    if subnet.version != 4:
        raise IpauditError(f"subnet {subnet} is not IPv4: ARP only exists on IPv4")
    if subnet.prefixlen < WIDEST_SUBNET and not force:
        raise IpauditError(f"{origin} {subnet} is wider than /{WIDEST_SUBNET} ({subnet.size} addresses)",
                           "pass a narrower --subnet, or --force to sweep it anyway")


def sweep_legs(interface: str, subnet_text: str | None, force: bool) -> list:
    """Every subnet to sweep with its source address: ``--subnet``, else each IPv4 subnet of the interface."""
    from ipaudit.scan.live import legs_of

    if subnet_text:
        return legs_of(interface, sweep_subnet(interface, subnet_text, force))
    legs = legs_of(interface)
    for leg in legs:
        _check_width(leg.subnet, f"the network of {interface}", force)
    return legs


def run_scan(request: ScanRequest, progress: Callable[[int, int, int], None] | None = None) -> ScanReport:
    """Look at the LAN on ``request.interface`` (default: the default route's) and report what it shows.

    Hosts are named from the DHCP sources' leases and reservations, read first: the sweep keeps
    only CAP_NET_RAW once its sockets are open, and a lease file may be root's alone.
    """
    names, notes = _hostnames(request.dhcp_sources)
    report = _look(request, progress)
    if not names and not notes:
        return report
    hosts = tuple(replace(host, hostname=names.get(str(host.ip), host.hostname)) for host in report.inventory.hosts)
    return replace(report, inventory=replace(report.inventory, hosts=hosts), notes=(*report.notes, *notes))


def _hostnames(uris: tuple[str, ...]) -> tuple[dict[str, str], tuple[str, ...]]:
    """IP -> hostname from the sources (a lease's name, else the reservation's), and the sources' notes."""
    if not uris:
        return {}, ()
    from ipaudit.facts import read_dhcp_sources
    from ipaudit.sources.interface import SourceOptions

    names: dict[str, str] = {}
    notes: list[str] = []
    for facts in read_dhcp_sources(uris, SourceOptions()):
        # A live lease's name wins over the reservation's: the reservations go in first.
        names.update((str(r.ip), r.hostname) for r in facts.reservations if r.hostname)
        names.update((str(lease.ip), lease.hostname) for lease in facts.leases if lease.hostname)
        notes += [f"{facts.source}: {note}" for note in facts.notes]
    return names, tuple(notes)


def _look(request: ScanRequest, progress: Callable[[int, int, int], None] | None) -> ScanReport:
    if request.pcap is not None:
        from ipaudit.scan.pcap import inventory_from_pcap

        audit = inventory_from_pcap(request.pcap, request.allowed_dhcp)
        return ScanReport(inventory=audit.inventory, status=status_of(audit.inventory.findings),
                          summary=f"read {audit.frames} frames from {request.pcap}, sent nothing",
                          notes=audit.notes)
    from ipaudit.scan.interfaces import default_route_interface

    interface = request.interface or default_route_interface()
    if request.passive is not None:
        from ipaudit.scan.passive import listen

        inventory = listen(interface, request.passive, request.allowed_dhcp)
        return ScanReport(inventory=inventory, status=status_of(inventory.findings),
                          summary=f"listened on {interface} for {request.passive:g} s, sent nothing")
    from ipaudit.scan.live import DhcpSettings, SweepSettings, scan_lan

    legs = sweep_legs(interface, request.subnet, request.force)
    arp = SweepSettings(rate=request.rate, retries=request.retries, timeout=request.timeout,
                        confirm=request.confirm) if request.arp else None
    dhcp = DhcpSettings(timeout=request.dhcp_timeout, client_mac=request.client_mac,
                        allowed=request.allowed_dhcp) if request.dhcp else None
    result = scan_lan(interface, legs, arp=arp, dhcp=dhcp, progress=progress if arp is not None else None,
                      self_vips=request.self_vips)
    inventory, sweeps = result.inventory, result.sweeps
    notes = _this_host_notes(result.this_host)
    if not sweeps:
        return ScanReport(inventory=inventory, status=status_of(inventory.findings), notes=notes)
    networks = ", ".join(f"{leg.subnet} (from {leg.source_ip})" if leg.source_ip and len(legs) > 1
                         else str(leg.subnet) for leg in legs)
    rtts: dict[str, float] = {}
    for sweep in sweeps:
        for ip, rtt in sweep.first_rtt().items():
            rtts.setdefault(ip, rtt)
    summary = (f"swept {networks} on {interface} in {sum(s.seconds for s in sweeps):g} s: "
               f"{len(inventory.hosts)} of {sum(s.targets for s in sweeps)} addresses answered "
               f"({sum(s.requests_sent for s in sweeps)} requests)")
    return ScanReport(inventory=inventory, status=status_of(inventory.findings), summary=summary,
                      rtts=tuple(sorted(rtts.items())), own_ip=sweeps[0].own_ip, notes=notes,
                      own_ips=tuple(result.this_host.ips) if result.this_host is not None else ())


def _this_host_notes(this_host) -> tuple[str, ...]:
    """The scanner's own addresses, each listed as this host's (its VIPs named as such)."""
    if this_host is None or len(this_host.ips) < 2:
        return ()  # just the primary address: the host table already marks it
    described = [f"{ip} (--self-vip)" if ip in this_host.vips and ip not in this_host.addresses else ip
                 for ip in this_host.ips]
    return (f"this host ({this_host.interface}, {this_host.mac}) holds {', '.join(described)}: "
            "each probed RFC 5227 style; only another MAC answering one is a conflict",)
