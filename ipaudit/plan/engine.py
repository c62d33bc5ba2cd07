"""``check-pool`` and ``recommend`` as plain functions: a typed request in, a PlanReport out.

The CLI only parses options into these requests and renders the report; ``ipaudit
audit`` and the tests call the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

from netaddr import IPRange

from ipaudit.addresses import parse_ip, parse_spec
from ipaudit.addressset import AddressSet
from ipaudit.errors import IpauditError
from ipaudit.facts import LanQuery, build_lan, read_lan_facts
from ipaudit.findings import Code, finding
from ipaudit.model import Finding, Inventory, Lan, Pool
from ipaudit.plan.checks import check_lan_knowledge, check_pools
from ipaudit.plan.ownership import unresolved_nodes_note, with_cluster
from ipaudit.plan.probed import dhcp_truths, mark_unprobed
from ipaudit.plan.recommend import Recommendation, emitted_pools, recommend_block, recommend_for_check
from ipaudit.plan.status import status_of
from ipaudit.report.interface import PlanReport
from ipaudit.sources.pools import PoolManifests, PoolQuery, read_pools

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


def _probe(probe: LiveProbe, pools: Sequence[Pool], nodes: AddressSet) -> tuple[list[Inventory], list[str], AddressSet]:
    """What the wire says about the pools' IPv4 addresses and the nodes' (whose MACs tell a live VIP from a
    foreign device); IPv6 has no ARP, so it is noted, not probed. Also returns the addresses ARPed."""
    addresses = AddressSet(r for p in pools for r in p.ranges)
    ipv4 = AddressSet(r for r in addresses.iter_ipranges() if r.version == 4)
    notes = []
    if ipv4.size < addresses.size:
        notes.append(f"-i {probe.interface}: IPv6 pool addresses are not probed (ARP is IPv4 only)")
    if ipv4.size > MAX_PROBED_ADDRESSES and not probe.force:
        raise IpauditError(f"the pools hold {ipv4.size} IPv4 addresses, more than the {MAX_PROBED_ADDRESSES} a "
                           "live probe sends ARP to", hint="check narrower pools, or pass --force")
    if not ipv4:
        return [], notes, AddressSet()
    node_ipv4 = AddressSet(r for r in nodes.iter_ipranges() if r.version == 4)
    targets = ipv4 | node_ipv4 if node_ipv4.size <= MAX_PROBED_ADDRESSES or probe.force else ipv4
    from netaddr import IPSet

    from ipaudit.scan.live import probe_pool

    return ([probe_pool(probe.interface, IPSet(targets.iter_ipranges()), dhcp_timeout=probe.dhcp_timeout)], notes,
            targets)


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


def _node_addresses(query: LanQuery) -> AddressSet:
    return AddressSet(r for spec in query.options.nodes for r in parse_spec(spec).ranges)


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
    live, probe_notes, probed = ([], [], AddressSet()) if request.probe is None else \
        _probe(request.probe, checked, _node_addresses(query))
    anchor = AddressSet(r for p in checked for r in p.ranges)
    lan = with_cluster(build_lan(query, anchor or None, [*request.scanned, *live], facts),
                       [(node.name, node.internal_ips) for node in manifests.nodes],
                       [(vip.ip, vip.service) for vip in manifests.vips if vip.assigned])
    findings = rejection_findings(manifests) + check_pools(checked, lan, dict(manifests.advertisement))
    advice = recommend_for_check(pools, lan, findings)
    if request.probe is not None:
        dhcp_found, dhcp_notes = dhcp_truths(live, request.probe.interface, request.probe.dhcp_timeout)
        findings += dhcp_found
        probe_notes += dhcp_notes
        # A scan inventory swept its whole subnet; the probe asked only about ``probed``.
        swept = probed | AddressSet(inventory.subnet for inventory in facts.inventories if inventory.subnet)
        advice = mark_unprobed(advice, swept, request.probe.interface)
    node_note = unresolved_nodes_note(lan)
    return PlanReport(pools=tuple(checked), findings=tuple(findings), recommendations=tuple(advice), lan=lan,
                      status=status_of(findings),
                      notes=(*manifests.notes, *probe_notes, *([node_note] if node_note else []), *lan.notes),
                      emitted=emitted_pools(pools, advice), vips=manifests.vips, existing=manifests.objects)


def _recommend_findings(lan: Lan, advice: Sequence[Recommendation], size: int) -> list[Finding]:
    findings = list(check_lan_knowledge((), lan))
    kind = advice[0].kind
    if kind == "shrink-dhcp":
        findings.append(finding(Code.POOL_NEEDS_DHCP_SHRINK,
                                f"no free block of {size} addresses: the DHCP range must shrink first"))
    elif kind == "no-room":
        # The recommendation names the largest possible block; the finding only states the verdict.
        findings.append(finding(Code.NO_ROOM_FOR_POOL, f"no block of {size} addresses can be made in {lan.subnet}, "
                                "not even by shrinking a DHCP range"))
    return findings


def run_recommend(request: RecommendRequest) -> PlanReport:
    """A safe block of ``size`` addresses for a new pool, or the DHCP shrink that makes room for one."""
    manifests = read_pools(request.existing)
    gateway = request.lan.options.gateway
    # The subnet must hold the gateway; without one, the DHCP ranges anchor it.
    anchor = AddressSet([parse_ip(gateway)]) if gateway else None
    lan = build_lan(request.lan, anchor)
    known = lan.subnet_for(4) or (lan.subnets[0] if lan.subnets else None)
    if lan.subnet is None or (known is not None and known.assumed):
        # A block recommended in a guessed subnet could sit outside the real one: ask instead.
        raise IpauditError("recommend needs the subnet", hint="give --subnet CIDR, e.g. --subnet 192.168.1.0/24")
    advice = recommend_block(lan, manifests.pools, request.size, request.name)
    findings = _recommend_findings(lan, advice, request.size)
    block = advice[0].block
    emitted = (Pool(name=request.name, ranges=(block,), source="recommended", avoid_buggy_ips=True),) \
        if block is not None else ()
    return PlanReport(pools=manifests.pools, findings=tuple(findings), recommendations=tuple(advice), lan=lan,
                      status=status_of(findings), notes=(*manifests.notes, *lan.notes), emitted=emitted,
                      existing=manifests.objects)
