"""The ``ipaudit check-pool`` and ``ipaudit recommend`` commands."""

from __future__ import annotations

from typing import Sequence

import click
from netaddr import IPSet

from ipaudit.addresses import parse_ip
from ipaudit.addressset import AddressSet
from ipaudit.errors import IpauditError
from ipaudit.exitstatus import ExitStatus
from ipaudit.model import Finding, Lan, Pool, Severity
from ipaudit.plan.checks import check_lan_knowledge, check_pools
from ipaudit.plan.recommend import Recommendation, recommend_block, recommend_for_check
from ipaudit.plan.status import status_of
from ipaudit.report.interface import OutputFormat, PlanReport
from ipaudit.report.json_report import render_json
from ipaudit.report.manifest import EmitKind, render_manifest
from ipaudit.report.table import render_table
from ipaudit.cli.options import (emit_options, gather_lan, lan_options, note, output_options, pool_source_options,
                                 read_pools, write_output)

RENDERERS = {OutputFormat.TABLE: render_table, OutputFormat.JSON: render_json}


def _deliver(report: PlanReport, params: dict, emitted: Sequence[Pool]) -> int:
    """Write the report (and manifest), return the exit status."""
    output_format = OutputFormat(params["output_format"])
    text = RENDERERS[output_format](report)
    quiet = params.get("quiet") and report.status is ExitStatus.OK and output_format is OutputFormat.TABLE
    if params["emit"]:
        if emitted:
            write_output(render_manifest(EmitKind(params["emit"]), emitted, params["namespace"]), params["output"])
        else:
            note("warning: nothing to emit: no block could be recommended")
        if not quiet:
            click.echo(text, nl=False, err=True)
    elif not quiet:
        write_output(text, params["output"])
    return int(report.status)


def _replacement(pool: Pool, advice: Sequence[Recommendation]) -> Pool | None:
    for item in advice:
        if item.pool == pool.name and item.block is not None:
            return Pool(name=pool.name, ranges=(item.block,), kind=pool.kind, source="recommended",
                        auto_assign=pool.auto_assign, avoid_buggy_ips=True)
    return None


def _live_inventory(interface: str | None, pools: Sequence[Pool], dhcp_timeout: float):
    if interface is None:
        return []
    from ipaudit.scan.live import probe_pool

    return [probe_pool(interface, IPSet(r for p in pools for r in p.ranges), dhcp_timeout=dhcp_timeout)]


@click.command("check-pool")
@click.argument("pool_specs", metavar="[POOL]...", nargs=-1)
@pool_source_options
@lan_options
@click.option("-i", "--interface", metavar="IFACE",
              help="Also probe the LAN live on IFACE: ARP every pool address and look for DHCP offers (root).")
@click.option("--dhcp-timeout", type=float, default=6.0, show_default=True, metavar="S",
              help="How long a live probe listens for DHCP offers.")
@emit_options
@output_options
@click.option("-q", "--quiet", is_flag=True, help="Print nothing when every pool is OK (for cron).")
def check_pool_command(pool_specs: tuple[str, ...], **params) -> int:
    """Check proposed or existing load-balancer pools against the LAN.

    POOL is an address spec: an IP, a range (192.168.1.240-192.168.1.245, or
    the shorthand 192.168.1.240-245), a CIDR, or a comma-separated list.

    \b
    Examples:
      ipaudit check-pool 192.168.1.240-245 --dhcp-range 192.168.1.2-192.168.1.120
      ipaudit check-pool --from metallb-config.yaml --subnet 192.168.1.0/24 --gateway 192.168.1.1 \\
          --dhcp-range 192.168.1.2-192.168.1.120
      kubectl get ipaddresspools -A -o yaml | ipaudit check-pool --from - --dhcp-range 192.168.1.2-192.168.1.120
      sudo ipaudit check-pool 192.168.1.240-245 -i eth0

    Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (bad input, unreadable source).
    """
    pools, manifests = read_pools(pool_specs, params["manifests"], params["context"])
    if not pools:
        raise IpauditError("no pool to check", hint="give a POOL like 192.168.1.240-245, or --from FILE")
    anchor = AddressSet(r for p in pools for r in p.ranges)
    lan = gather_lan(params, anchor, _live_inventory(params["interface"], pools, params["dhcp_timeout"]))
    findings = check_pools(pools, lan, manifests.advertised)
    advice = recommend_for_check(pools, lan, findings)
    report = PlanReport(tuple(pools), tuple(findings), tuple(advice), lan, status_of(findings))
    emitted = [_replacement(p, advice) or p for p in pools]
    return _deliver(report, params, emitted)


def _recommend_findings(lan: Lan, advice: Sequence[Recommendation], size: int) -> list[Finding]:
    findings = list(check_lan_knowledge((), lan))
    kind = advice[0].kind
    if kind == "shrink-dhcp":
        findings.append(Finding("pool-needs-dhcp-shrink", Severity.WARNING,
                                f"no free block of {size} addresses: the DHCP range must shrink first"))
    elif kind == "no-room":
        findings.append(Finding("no-room-for-pool", Severity.CRITICAL, advice[0].message))
    return findings


@click.command("recommend")
@pool_source_options
@click.option("--pool", "pool_specs", metavar="SPEC", multiple=True, help="An existing pool to keep clear of.")
@lan_options
@click.option("--size", type=click.IntRange(min=1), default=8, show_default=True,
              help="How many addresses the pool needs.")
@click.option("--name", "pool_name", default="lan-pool", show_default=True, help="Name of the emitted pool.")
@emit_options
@output_options
def recommend_command(pool_specs: tuple[str, ...], **params) -> int:
    """Recommend a safe block for a new pool, or the DHCP shrink that makes room for one.

    \b
    Examples:
      ipaudit recommend --subnet 192.168.1.0/24 --gateway 192.168.1.1 \\
          --dhcp-range 192.168.1.2-192.168.1.120 --size 6
      ipaudit recommend --subnet 192.168.1.0/24 --gateway 192.168.1.1 \\
          --dhcp-range 192.168.1.2-192.168.1.120 --size 6 --emit metallb | kubectl apply -f -
    """
    existing, _ = read_pools(pool_specs, params["manifests"], params["context"])
    # The subnet must hold the gateway; without one, the DHCP ranges anchor it.
    anchor = AddressSet([parse_ip(params["gateway"])]) if params["gateway"] else None
    lan = gather_lan(params, anchor)
    if lan.subnet is None:
        raise IpauditError("recommend needs the subnet", hint="give --subnet CIDR, e.g. --subnet 192.168.1.0/24")
    advice = recommend_block(lan, existing, params["size"], params["pool_name"])
    findings = _recommend_findings(lan, advice, params["size"])
    report = PlanReport(tuple(existing), tuple(findings), tuple(advice), lan, status_of(findings))
    emitted = [Pool(name=params["pool_name"], ranges=(advice[0].block,), source="recommended", avoid_buggy_ips=True)] \
        if advice[0].block is not None else []
    return _deliver(report, params, emitted)


COMMANDS = [check_pool_command, recommend_command]
