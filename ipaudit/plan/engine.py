"""``check-pool`` and ``recommend`` as plain functions: a typed request in, a PlanReport out.

The CLI only parses options into these requests and renders the report; ``ipaudit
audit`` and the tests call the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

from netaddr import IPRange

from ipaudit.addresses import parse_ip
from ipaudit.addressset import AddressSet
from ipaudit.errors import IpauditError
from ipaudit.facts import LanQuery, build_lan, read_lan_facts
from ipaudit.findings import Code, finding
from ipaudit.model import Finding, Inventory, Lan, Pool
from ipaudit.plan.checks import check_lan_knowledge, check_pools
from ipaudit.plan.recommend import Recommendation, recommend_block, recommend_for_check
from ipaudit.plan.status import status_of
from ipaudit.report.interface import PlanReport
from ipaudit.sources.manifests import PoolManifests
from ipaudit.sources.pools import PoolQuery, read_pools

#: A live probe ARPs every pool address; past this many (a /16) it needs ``force``, as ``scan`` does.
MAX_PROBED_ADDRESSES = 65_536


@dataclass(frozen=True)
class LiveProbe:
    """``check-pool -i``: ARP every IPv4 pool address on ``interface`` and listen for DHCP offers."""

    interface: str
    dhcp_timeout: float = 6.0
    force: bool = False


@dataclass(frozen=True)
class CheckRequest:
    pools: PoolQuery
    lan: LanQuery = field(default_factory=LanQuery)
    probe: LiveProbe | None = None
    #: Inventories already taken in this process (``ipaudit audit``'s sweep), used as --inventory files are.
    scanned: tuple[Inventory, ...] = ()


@dataclass(frozen=True)
class RecommendRequest:
    size: int
    lan: LanQuery = field(default_factory=LanQuery)
    #: Existing pools the new block must keep clear of.
    existing: PoolQuery = field(default_factory=PoolQuery)
    name: str = "lan-pool"


def _probe(probe: LiveProbe, pools: Sequence[Pool]) -> tuple[list[Inventory], list[str]]:
    """What the wire says about the pools' IPv4 addresses; IPv6 has no ARP, so it is noted, not probed."""
    addresses = AddressSet(r for p in pools for r in p.ranges)
    ipv4 = AddressSet(r for r in addresses.iter_ipranges() if r.version == 4)
    notes = []
    if ipv4.size < addresses.size:
        notes.append(f"-i {probe.interface}: IPv6 pool addresses are not probed (ARP is IPv4 only)")
    if ipv4.size > MAX_PROBED_ADDRESSES and not probe.force:
        raise IpauditError(f"the pools hold {ipv4.size} IPv4 addresses, more than the {MAX_PROBED_ADDRESSES} a "
                           "live probe sends ARP to", hint="check narrower pools, or pass --force")
    if not ipv4:
        return [], notes
    from netaddr import IPSet

    from ipaudit.scan.live import probe_pool

    return [probe_pool(probe.interface, IPSet(ipv4.iter_ipranges()), dhcp_timeout=probe.dhcp_timeout)], notes


def _replacement(pool: Pool, advice: Sequence[Recommendation]) -> Pool:
    """The pool as ``--emit`` writes it: moved to its recommended block, if it has one."""
    for item in advice:
        if item.pool == pool.name and item.block is not None:
            return Pool(name=pool.name, ranges=(item.block,), kind=pool.kind, source="recommended",
                        auto_assign=pool.auto_assign, avoid_buggy_ips=True)
    return pool


def rejection_findings(manifests: PoolManifests) -> list[Finding]:
    """``manifest-rejected`` for each object a controller would refuse or disable."""
    return [finding(Code.MANIFEST_REJECTED, r.message, pool=r.pool,
                    subject=(r.controller, r.object, r.entry, r.rule)) for r in manifests.rejections]


def vip_pools(manifests: PoolManifests) -> list[Pool]:
    """Service VIPs outside every pool, each as a one-address pool: kube-vip announces a requested VIP anyway."""
    return [Pool(name=f"vip {vip.service}", ranges=(IPRange(vip.ip, vip.ip),), kind="vip",
                 source="Service " + "/".join(vip.origins)) for vip in manifests.vips if vip.pool is None]


def _with_cluster_nodes(query: LanQuery, manifests: PoolManifests) -> LanQuery:
    """The nodes the cluster reported (their InternalIPs) join the ones typed with --node."""
    found = tuple(str(ip) for node in manifests.nodes for ip in node.internal_ips)
    return replace(query, options=replace(query.options, nodes=query.options.nodes + found)) if found else query


def run_check(request: CheckRequest) -> PlanReport:
    """Check every pool and Service VIP against the LAN, and recommend where troubled pools should go."""
    manifests = read_pools(request.pools)
    pools = list(manifests.pools)
    checked = pools + vip_pools(manifests)
    if not checked and not manifests.rejections:
        raise IpauditError(manifests.empty_reason or "no pool to check",
                           hint=None if manifests.empty_reason else "give a POOL like 192.168.1.240-245, or --from FILE")
    query = _with_cluster_nodes(request.lan, manifests)
    facts = read_lan_facts(query)  # before the probe, which keeps only CAP_NET_RAW once its sockets are open
    live, probe_notes = _probe(request.probe, checked) if request.probe is not None else ([], [])
    anchor = AddressSet(r for p in checked for r in p.ranges)
    lan = build_lan(query, anchor or None, [*request.scanned, *live], facts)
    findings = rejection_findings(manifests) + check_pools(checked, lan, dict(manifests.advertisement))
    advice = recommend_for_check(pools, lan, findings)
    return PlanReport(pools=tuple(checked), findings=tuple(findings), recommendations=tuple(advice), lan=lan,
                      status=status_of(findings), notes=(*manifests.notes, *probe_notes, *lan.notes),
                      emitted=tuple(_replacement(p, advice) for p in pools), vips=manifests.vips)


def _recommend_findings(lan: Lan, advice: Sequence[Recommendation], size: int) -> list[Finding]:
    findings = list(check_lan_knowledge((), lan))
    kind = advice[0].kind
    if kind == "shrink-dhcp":
        findings.append(finding(Code.POOL_NEEDS_DHCP_SHRINK,
                                f"no free block of {size} addresses: the DHCP range must shrink first"))
    elif kind == "no-room":
        findings.append(finding(Code.NO_ROOM_FOR_POOL, advice[0].message))
    return findings


def run_recommend(request: RecommendRequest) -> PlanReport:
    """A safe block of ``size`` addresses for a new pool, or the DHCP shrink that makes room for one."""
    manifests = read_pools(request.existing)
    gateway = request.lan.options.gateway
    # The subnet must hold the gateway; without one, the DHCP ranges anchor it.
    anchor = AddressSet([parse_ip(gateway)]) if gateway else None
    lan = build_lan(request.lan, anchor)
    if lan.subnet is None:
        raise IpauditError("recommend needs the subnet", hint="give --subnet CIDR, e.g. --subnet 192.168.1.0/24")
    advice = recommend_block(lan, manifests.pools, request.size, request.name)
    findings = _recommend_findings(lan, advice, request.size)
    block = advice[0].block
    emitted = (Pool(name=request.name, ranges=(block,), source="recommended", avoid_buggy_ips=True),) \
        if block is not None else ()
    return PlanReport(pools=manifests.pools, findings=tuple(findings), recommendations=tuple(advice), lan=lan,
                      status=status_of(findings), notes=(*manifests.notes, *lan.notes), emitted=emitted)
