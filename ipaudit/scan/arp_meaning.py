"""Healthy LANs that look like duplicates: a VIP handed over, a router's proxy ARP, one host's ARP flux.

Each rule takes the claims left after the scanner's own addresses and MACs are set
aside (``arp_findings.interpret``) and returns its findings plus the IPs it explains,
so that only what no rule explains becomes a ``duplicate-ip``.
"""

from __future__ import annotations

from typing import Iterable

from netaddr import IPAddress, IPSet

from ipaudit.findings import Code, finding
from ipaudit.model import Finding, ProxiedBlock
from ipaudit.scan.arp_findings import Claim, ip_order

#: Fewer addresses than this behind one router MAC are a router's own secondaries, not a routed block.
MIN_PROXIED = 4

ARP_FLUX_FIX = ("on that host set sysctl net.ipv4.conf.all.arp_ignore=1 and net.ipv4.conf.all.arp_announce=2 "
                "so each NIC answers only for its own addresses")


def _hand_over(claims: dict[str, Claim]) -> tuple[Claim, Claim] | None:
    """(old, new) when ``new`` announced the IP after ``old`` last spoke and ``old`` stayed silent since.

    A split brain (the old MAC heard again after the announcement), a MAC that only
    replied (a lossy duplicate answering a retry looks just like that), or observations
    without times all stay duplicates: a missed conflict costs more than a false one.
    """
    if len(claims) != 2 or not all(c.timed and c.first_seen is not None for c in claims.values()):
        return None
    old, new = sorted(claims.values(), key=lambda claim: claim.first_seen or 0.0)
    if new.first_announced is None or new.first_seen is None or new.first_announced > new.first_seen:
        return None  # the newcomer's first word was a reply, not an announcement
    if old.last_seen is None or old.last_seen >= new.first_announced:
        return None
    return old, new


def moved_macs(claims_by_ip: dict[str, dict[str, Claim]]) -> tuple[list[Finding], set[str]]:
    """``mac-moved`` (info): a clean hand-over of an IP (a MetalLB / kube-vip failover), not a duplicate."""
    findings, explained = [], set()
    for ip in sorted(claims_by_ip, key=ip_order):
        moved = _hand_over(claims_by_ip[ip])
        if moved is None:
            continue
        old, new = moved
        explained.add(ip)
        findings.append(finding(
            Code.MAC_MOVED,
            f"{ip} moved from {old.mac} to {new.mac}: {new.mac} announced it (gratuitous ARP) and {old.mac} "
            "has not answered since, a clean failover (e.g. a MetalLB or kube-vip VIP changing node)",
            addresses=(ip,), subject=(ip, old.mac, new.mac)))
    return findings, explained


def proxy_arp(claims_by_ip: dict[str, dict[str, Claim]], routers: Iterable[str]
              ) -> tuple[list[Finding], list[ProxiedBlock], set[str]]:
    """``proxy-arp`` (info): a router's MAC alone answers for a block of addresses besides its own.

    Linux (``proxy_arp=1``) and Cisco answer with the router's own MAC in the Ethernet
    header and the ARP sender alike, for every address routed out another interface.
    One MAC holding many addresses is also a node with many VIPs, so only a router's
    MAC counts: a gateway from the routing table or a DHCP offer.
    """
    router_ips = [ip for ip in dict.fromkeys(str(r) for r in routers) if ip in claims_by_ip]
    router_of: dict[str, str] = {}
    for ip in router_ips:
        for mac in claims_by_ip[ip]:
            router_of.setdefault(mac, ip)
    alone: dict[str, list[str]] = {}
    for ip, claims in claims_by_ip.items():
        if len(claims) == 1 and ip not in router_ips:
            (mac,) = claims
            if mac in router_of:
                alone.setdefault(mac, []).append(ip)
    findings, blocks, explained = [], [], set()
    for mac in sorted(alone):
        ips = alone[mac]
        if len(ips) < MIN_PROXIED:
            continue
        cidrs = list(IPSet(ips).iter_cidrs())
        router = router_of[mac]
        named = ", ".join(str(c) for c in cidrs[:8]) + (f" and {len(cidrs) - 8} more" if len(cidrs) > 8 else "")
        explained.update(ips)
        blocks += [ProxiedBlock(block=cidr, mac=mac, router=IPAddress(router)) for cidr in cidrs]
        findings.append(finding(
            Code.PROXY_ARP,
            f"router {router} ({mac}) alone answers ARP for {len(ips)} other addresses ({named}): proxy ARP "
            "for a block it routes elsewhere, not devices on this LAN; a pool there is claimed by the router",
            addresses=tuple(sorted(ips, key=ip_order)), subject=(mac, *(str(c) for c in cidrs))))
    return findings, blocks, explained


def arp_flux(macs_by_ip: dict[str, list[str]]) -> tuple[list[Finding], set[str]]:
    """``arp-flux`` (warning): two or more IPs answered by the very same set of two or more MACs.

    A Linux host with several NICs on one LAN and ``arp_ignore=0`` answers for each
    of its addresses from every NIC: one host, not several devices. Two devices that
    share one address share no second one, so a real duplicate's MAC set is its own.
    """
    groups: dict[frozenset[str], list[str]] = {}
    for ip, macs in macs_by_ip.items():
        if len(macs) > 1:
            groups.setdefault(frozenset(macs), []).append(ip)
    findings, explained = [], set()
    for mac_set, ips in sorted(groups.items(), key=lambda item: min(ip_order(ip) for ip in item[1])):
        if len(ips) < 2:
            continue
        ips = sorted(ips, key=ip_order)
        explained.update(ips)
        findings.append(finding(
            Code.ARP_FLUX,
            f"{', '.join(ips)} are each answered by the same MACs ({', '.join(sorted(mac_set))}): one host with "
            f"several NICs on this LAN answering for all its addresses on every NIC (ARP flux, "
            f"arp_ignore=0), not a duplicate; {ARP_FLUX_FIX}",
            addresses=tuple(ips), subject=(*ips, *sorted(mac_set))))
    return findings, explained
