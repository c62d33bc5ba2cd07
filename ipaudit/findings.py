"""The one registry of finding codes: each code's default severity and one-line meaning.

Every Finding is made here, by ``finding()``, so no other module spells a code as a
bare string, and every finding carries an identity key (its code plus its subject:
the pool and addresses, or the IP and the MAC set) that is the same on every run
that sees the same problem. ``ipaudit audit`` diffs runs on that key. The README's
findings table is checked against ``RULES`` by a test.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Iterable

from ipaudit.model import Finding, Severity

CRITICAL, WARNING, INFO = Severity.CRITICAL, Severity.WARNING, Severity.INFO


class Code(StrEnum):
    POOL_OVERLAPS_DHCP = "pool-overlaps-dhcp"
    POOL_ADDRESS_IN_USE = "pool-address-in-use"
    POOL_ADDRESS_LEASED = "pool-address-leased"
    POOL_OVERLAPS_POOL = "pool-overlaps-pool"
    POOL_OUTSIDE_SUBNET = "pool-outside-subnet"
    POOL_INCLUDES_NETWORK_ADDRESS = "pool-includes-network-address"
    POOL_INCLUDES_BROADCAST_ADDRESS = "pool-includes-broadcast-address"
    POOL_INCLUDES_GATEWAY = "pool-includes-gateway"
    POOL_INCLUDES_NODE = "pool-includes-node"
    POOL_INCLUDES_RESERVED = "pool-includes-reserved"
    POOL_CIDR_HOST_BITS = "pool-cidr-host-bits"
    POOL_BUGGY_IPS = "pool-buggy-ips"
    POOL_NO_BUFFER = "pool-no-buffer"
    DHCP_RANGE_UNKNOWN = "dhcp-range-unknown"
    DHCP_RANGE_FILLS_SUBNET = "dhcp-range-fills-subnet"
    POOL_NEEDS_DHCP_SHRINK = "pool-needs-dhcp-shrink"
    NO_ROOM_FOR_POOL = "no-room-for-pool"
    POOL_NOT_ADVERTISED = "pool-not-advertised"
    MANIFEST_REJECTED = "manifest-rejected"
    SUBNET_UNKNOWN = "subnet-unknown"
    DUPLICATE_IP = "duplicate-ip"
    IP_CONFLICT_WITH_SELF = "ip-conflict-with-self"
    MULTIPLE_DHCP_SERVERS = "multiple-dhcp-servers"
    UNAUTHORIZED_DHCP_SERVER = "unauthorized-dhcp-server"
    ARP_SENDER_MISMATCH = "arp-sender-mismatch"
    # issue 8: pools on a live cluster, and the LAN facts that decide verdicts
    GATEWAY_UNKNOWN = "gateway-unknown"
    GATEWAYS_DISAGREE = "gateways-disagree"
    DHCP_RANGE_OUTSIDE_SUBNET = "dhcp-range-outside-subnet"
    VIP_LIVE_ON_NODE = "vip-live-on-node"
    VIP_CLAIMED_BY_FOREIGN_DEVICE = "vip-claimed-by-foreign-device"
    # issue 9: the scanner on tricky and hostile LANs
    ARP_FLUX = "arp-flux"
    MAC_MOVED = "mac-moved"
    PROXY_ARP = "proxy-arp"
    ARP_FLOOD = "arp-flood"
    ARP_MALFORMED = "arp-malformed"
    DHCP_SERVER_ON_THIS_HOST = "dhcp-server-on-this-host"
    DHCP_SERVER_SPOOFED = "dhcp-server-spoofed"
    DHCP_PACKET_MALFORMED = "dhcp-packet-malformed"
    # issue 10: the audit job
    AUDIT_FAILED = "audit-failed"


@dataclass(frozen=True)
class Rule:
    """What a code means: its default severity, the command that reports it, and one line for the README."""

    code: Code
    severity: Severity
    command: str
    meaning: str


RULES: dict[Code, Rule] = {rule.code: rule for rule in (
    Rule(Code.POOL_OVERLAPS_DHCP, CRITICAL, "check-pool",
         "pool addresses inside a DHCP range, or offered by a DHCP server"),
    Rule(Code.POOL_ADDRESS_IN_USE, CRITICAL, "check-pool",
         "a device answers (scan, `--in-use`) on a pool address"),
    Rule(Code.POOL_ADDRESS_LEASED, CRITICAL, "check-pool",
         "a DHCP source holds an active lease on a pool address"),
    Rule(Code.POOL_OVERLAPS_POOL, CRITICAL, "check-pool", "two pools share addresses"),
    Rule(Code.POOL_OUTSIDE_SUBNET, CRITICAL, "check-pool", "pool addresses outside the LAN's subnet"),
    Rule(Code.POOL_INCLUDES_NETWORK_ADDRESS, CRITICAL, "check-pool",
         "the subnet's network address (IPv6: the subnet-router anycast)"),
    Rule(Code.POOL_INCLUDES_BROADCAST_ADDRESS, CRITICAL, "check-pool", "the subnet's broadcast address"),
    Rule(Code.POOL_INCLUDES_GATEWAY, CRITICAL, "check-pool", "the router's address"),
    Rule(Code.POOL_INCLUDES_NODE, CRITICAL, "check-pool", "a cluster node's address"),
    Rule(Code.POOL_INCLUDES_RESERVED, CRITICAL, "check-pool", "a static IP or DHCP reservation"),
    Rule(Code.POOL_CIDR_HOST_BITS, WARNING, "check-pool", "a CIDR written with host bits: MetalLB uses the whole network"),
    Rule(Code.POOL_BUGGY_IPS, WARNING, "check-pool", ".0/.255 addresses in a pool without `avoidBuggyIPs`"),
    Rule(Code.POOL_NO_BUFFER, WARNING, "check-pool", "pool edge within 4 addresses of a DHCP range"),
    Rule(Code.DHCP_RANGE_UNKNOWN, WARNING, "check-pool",
         "nothing to compare against; says how to give the range"),
    Rule(Code.DHCP_RANGE_FILLS_SUBNET, WARNING, "check-pool", "no free block as large as the pool outside DHCP"),
    Rule(Code.POOL_NEEDS_DHCP_SHRINK, WARNING, "recommend", "only a DHCP shrink makes room for the pool"),
    Rule(Code.NO_ROOM_FOR_POOL, CRITICAL, "recommend", "not even a DHCP shrink makes room"),
    Rule(Code.POOL_NOT_ADVERTISED, INFO, "check-pool",
         "no L2Advertisement (MetalLB) or CiliumL2AnnouncementPolicy (Cilium) announces the pool"),
    Rule(Code.MANIFEST_REJECTED, CRITICAL, "check-pool",
         "the controller would refuse or disable this object: names its rule, the exact entry and the fix"),
    Rule(Code.SUBNET_UNKNOWN, WARNING, "check-pool",
         "no subnet given or found: subnet checks skipped, or run on an assumed /24 (says which)"),
    Rule(Code.DUPLICATE_IP, CRITICAL, "scan", "two MACs answer for one IP"),
    Rule(Code.IP_CONFLICT_WITH_SELF, CRITICAL, "scan", "someone answers for the scanner's own IP"),
    Rule(Code.MULTIPLE_DHCP_SERVERS, CRITICAL, "scan", "more than one DHCP server answered"),
    Rule(Code.UNAUTHORIZED_DHCP_SERVER, CRITICAL, "scan", "a DHCP server not in `--allowed-dhcp`"),
    Rule(Code.ARP_SENDER_MISMATCH, INFO, "scan",
         "Ethernet source differs from ARP sender: a bridge rewriting frames, or spoofing (proxy ARP uses one MAC)"),
    Rule(Code.GATEWAY_UNKNOWN, WARNING, "check-pool",
         "no gateway given or found, so a pool holding the router cannot be caught"),
    Rule(Code.GATEWAYS_DISAGREE, WARNING, "check-pool", "DHCP offers or sources name different routers"),
    Rule(Code.DHCP_RANGE_OUTSIDE_SUBNET, WARNING, "check-pool", "a DHCP range lies outside the subnet"),
    Rule(Code.VIP_LIVE_ON_NODE, INFO, "check-pool", "a pool address answered only by a cluster node's MAC: a live VIP"),
    Rule(Code.VIP_CLAIMED_BY_FOREIGN_DEVICE, CRITICAL, "check-pool",
         "a device that is not a cluster node answers for a VIP"),
    Rule(Code.ARP_FLUX, WARNING, "scan", "one host answers for its IPs from several NICs (arp_ignore=0)"),
    Rule(Code.MAC_MOVED, INFO, "scan", "an IP moved cleanly to a new MAC (a VIP failover)"),
    Rule(Code.PROXY_ARP, INFO, "scan", "a router answers ARP for a block of addresses it routes"),
    Rule(Code.ARP_FLOOD, WARNING, "scan", "far more ARP replies than asked for, from many or one MAC"),
    Rule(Code.ARP_MALFORMED, INFO, "scan", "ARP frames with an all-zero, broadcast or multicast sender MAC"),
    Rule(Code.DHCP_SERVER_ON_THIS_HOST, WARNING, "scan", "a DHCP server listens on this machine itself"),
    Rule(Code.DHCP_SERVER_SPOOFED, CRITICAL, "scan",
         "an offer uses an allowed server's id from another MAC or IP source"),
    Rule(Code.DHCP_PACKET_MALFORMED, INFO, "scan", "a DHCP packet field could not be read; the rest was kept"),
    Rule(Code.AUDIT_FAILED, CRITICAL, "audit", "an audit run could not check the LAN"),
)}

#: The separator inside identity keys; codes, IPs, MACs and Kubernetes names never contain it.
KEY_SEPARATOR = "|"


def identity_key(code: str, subject: Iterable[str]) -> str:
    """``duplicate-ip|198.51.100.20|02:..:01|02:..:02``: the same problem gives the same key on every run."""
    return KEY_SEPARATOR.join([str(code), *subject])


def finding(code: Code, message: str, *, addresses: Iterable[str] = (), pool: str | None = None,
            subject: Iterable[str] | None = None, severity: Severity | None = None) -> Finding:
    """A Finding of a registered code, at the code's default severity unless one is given.

    ``subject`` names what the finding is about; by default the pool and the addresses. Pass it
    sorted where order is arrival order (MACs, servers), so two runs agree.
    """
    rule = RULES[code]  # a KeyError here is a bug: every code is registered
    addresses = tuple(addresses)
    parts = tuple(subject) if subject is not None else tuple(p for p in (pool, *addresses) if p)
    return Finding(code=rule.code, severity=severity or rule.severity, message=message, addresses=addresses,
                   pool=pool, key=identity_key(rule.code, parts))


def known_code(text: str) -> Code | None:
    """The registered code spelled ``text`` (e.g. read back from a JSON inventory), or None."""
    try:
        return Code(text)
    except ValueError:
        return None


def markdown_table() -> str:
    """The README's findings table, row for row from the registry (a test keeps them equal)."""
    lines = ["| code | severity | command | meaning |", "| --- | --- | --- | --- |"]
    lines += [f"| `{r.code}` | {r.severity.value} | {r.command} | {r.meaning} |" for r in RULES.values()]
    return "\n".join(lines) + "\n"
