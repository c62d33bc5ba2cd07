"""From one run's findings to its conflicts: VIP ownership, the ignore list, and one conflict per address.

A phone that answers for a VIP shows up three ways (``duplicate-ip`` from the sweep,
``pool-address-in-use`` from the check, ``vip-claimed-by-foreign-device`` from the node
MACs); the user must get one alert about it, named for what it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

from ipaudit.addressset import AddressSet
from ipaudit.audit.config import Ignore
from ipaudit.findings import Code, finding
from ipaudit.model import Finding, Host, Pool, Severity

#: Findings worth an alert; info is recorded in the metrics only.
ALERTED = (Severity.CRITICAL, Severity.WARNING)


@dataclass(frozen=True)
class Conflict:
    """One open problem on one LAN, as the state and the alerts know it."""

    key: str
    code: str
    severity: str
    address: str
    message: str


def vip_ownership(findings: Sequence[Finding], pools: Sequence[Pool], hosts: Sequence[Host],
                  nodes: AddressSet) -> list[Finding]:
    """The findings with VIP ownership decided: a pool address answered only by node MACs is a live VIP.

    Node MACs are learned from the sweep (the hosts at node IPs). A pool address answered by
    another MAC is ``vip-claimed-by-foreign-device``; the ``pool-address-in-use`` and
    ``duplicate-ip`` findings about such addresses are dropped, since ownership explains them.
    This is the one place to switch to plan/ownership.py's findings once the engine makes them.
    Without a node seen on the wire nothing is decided, and the check's findings stand.
    """
    node_macs = {mac for host in hosts if host.ip in nodes for mac in host.macs}
    pool_addresses = AddressSet(r for pool in pools for r in pool.ranges)
    if not node_macs or not pool_addresses:
        return list(findings)
    owned: list[Finding] = []
    explained: set[str] = set()
    for host in hosts:
        if host.ip not in pool_addresses or host.ip in nodes:
            continue
        ip = str(host.ip)
        foreign = sorted(mac for mac in host.macs if mac not in node_macs)
        explained.add(ip)
        if foreign:
            vendor = f" ({host.vendor})" if host.vendor else ""
            owned.append(finding(Code.VIP_CLAIMED_BY_FOREIGN_DEVICE,
                                 f"{ip} is a load-balancer address, but {', '.join(foreign)}{vendor}, which is "
                                 "not a cluster node, answers for it: traffic to the VIP reaches that device",
                                 addresses=(ip,), subject=(ip, *foreign)))
        else:
            owned.append(finding(Code.VIP_LIVE_ON_NODE, f"{ip} is answered by node MAC {', '.join(host.macs)}",
                                 addresses=(ip,), subject=(ip,)))
    return [*_without(findings, explained), *owned]


def _without(findings: Iterable[Finding], explained: set[str]) -> Iterator[Finding]:
    for item in findings:
        if item.code not in (Code.POOL_ADDRESS_IN_USE, Code.DUPLICATE_IP) or not explained & set(item.addresses):
            yield item
            continue
        rest = tuple(a for a in item.addresses if a not in explained)
        if rest and item.code == Code.POOL_ADDRESS_IN_USE:
            yield finding(Code.POOL_ADDRESS_IN_USE, f"{', '.join(rest)} already in use on the LAN: a device "
                          "answers there and would fight the load balancer for the address",
                          addresses=rest, pool=item.pool)


def is_ignored(item: Finding, ignore: Sequence[Ignore]) -> bool:
    return any(rule.code == item.code and (rule.ip is None or rule.ip in item.addresses) for rule in ignore)


def without_allowed_macs(findings: Sequence[Finding], macs: frozenset[str]) -> list[Finding]:
    """Drop ``unauthorized-dhcp-server`` for servers allowed by MAC (the scanner's allow list holds IPs)."""
    def allowed(item: Finding) -> bool:
        return item.code == Code.UNAUTHORIZED_DHCP_SERVER and item.key.rsplit("|", 1)[-1].lower() in macs
    return [item for item in findings if not allowed(item)]


def _rank(item: Finding) -> tuple[int, int, str]:
    return (0 if item.code == Code.VIP_CLAIMED_BY_FOREIGN_DEVICE else 1,
            ALERTED.index(item.severity), item.key)


def fold(findings: Sequence[Finding], ignore: Sequence[Ignore] = ()) -> list[Conflict]:
    """One conflict per address: the strongest finding about it wins; the others about it are folded in."""
    candidates = sorted((f for f in findings if f.severity in ALERTED and not is_ignored(f, ignore)), key=_rank)
    covered: set[str] = set()
    conflicts = []
    for item in candidates:
        addresses = set(item.addresses)
        if addresses and addresses <= covered:
            continue
        covered |= addresses
        address = item.addresses[0] if item.addresses else (item.pool or "")
        conflicts.append(Conflict(key=item.key, code=str(item.code), severity=item.severity.value,
                                  address=address, message=item.message))
    return conflicts
