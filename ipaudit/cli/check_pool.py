"""The ``ipaudit check-pool`` and ``ipaudit recommend`` commands: options in, one engine call, report out."""

from __future__ import annotations

from dataclasses import replace

import click

from ipaudit.cli.options import (Output, Seconds, interface_option, lan_options, output_options,
                                 pool_source_options)
from ipaudit.cli.output import configure_diagnostics, deliver, warn, write_output
from ipaudit.facts import LanQuery
from ipaudit.plan.engine import CheckRequest, LiveProbe, RecommendRequest, run_check, run_recommend
from ipaudit.report.interface import PlanReport
from ipaudit.report.manifest import EmitKind, render_manifest
from ipaudit.report.registry import formats_for
from ipaudit.sources.pools import PoolQuery

emit_options = [
    click.option("--emit", type=click.Choice([k.value for k in EmitKind]),
                 help="Print a ready manifest on stdout, or to -o FILE (the report goes to stderr)."),
    click.option("--namespace", default="metallb-system", show_default=True,
                 help="Namespace of emitted MetalLB objects."),
]


def _emit_all(command):
    for option in reversed(emit_options):
        command = option(command)
    return command


def _deliver_plan(report: PlanReport, out: Output, emit: str | None, namespace: str) -> int:
    """The report, and with --emit the manifest on stdout (or -o) with the report beside it on stderr."""
    if emit:
        if report.emitted:
            write_output(render_manifest(EmitKind(emit), report.emitted, namespace), out.path)
        else:
            warn("nothing to emit: no block could be recommended")
    return deliver(report, out, report.status, report_to_stderr=bool(emit))


@click.command("check-pool")
@click.argument("pool_specs", metavar="[POOL]...", nargs=-1)
@pool_source_options
@lan_options
@interface_option
@click.option("--dhcp-timeout", type=Seconds(0.5, 120), default=6.0, show_default=True, metavar="S",
              help="With -i: how long the live probe listens for DHCP offers.")
@click.option("--force", is_flag=True, help="With -i: probe pools of more than 65,536 IPv4 addresses.")
@_emit_all
@output_options(formats_for(PlanReport), quiet_help="Print nothing when every pool is OK, and no notes (for cron).")
def check_pool_command(pool_specs: tuple[str, ...], pool_sources: PoolQuery, lan: LanQuery, interface: str | None,
                       dhcp_timeout: float, force: bool, emit: str | None, namespace: str, out: Output) -> int:
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
    configure_diagnostics(out.quiet)
    probe = LiveProbe(interface, dhcp_timeout=dhcp_timeout, force=force) if interface else None
    report = run_check(CheckRequest(pools=replace(pool_sources, specs=pool_specs), lan=lan, probe=probe))
    return _deliver_plan(report, out, emit, namespace)


@click.command("recommend")
@pool_source_options
@click.option("--pool", "pool_specs", metavar="SPEC", multiple=True, help="An existing pool to keep clear of.")
@lan_options
@click.option("--size", type=click.IntRange(min=1, max=1 << 24), default=8, show_default=True,
              help="How many addresses the pool needs.")
@click.option("--name", "pool_name", default="lan-pool", show_default=True, help="Name of the emitted pool.")
@_emit_all
@output_options(formats_for(PlanReport))
def recommend_command(pool_sources: PoolQuery, pool_specs: tuple[str, ...], lan: LanQuery, size: int,
                      pool_name: str, emit: str | None, namespace: str, out: Output) -> int:
    """Recommend a safe block for a new pool, or the DHCP shrink that makes room for one.

    \b
    Examples:
      ipaudit recommend --subnet 192.168.1.0/24 --gateway 192.168.1.1 \\
          --dhcp-range 192.168.1.2-192.168.1.120 --size 6
      ipaudit recommend --subnet 192.168.1.0/24 --gateway 192.168.1.1 \\
          --dhcp-range 192.168.1.2-192.168.1.120 --size 6 --emit metallb | kubectl apply -f -
    """
    configure_diagnostics(out.quiet)
    report = run_recommend(RecommendRequest(size=size, lan=lan, existing=replace(pool_sources, specs=pool_specs),
                                            name=pool_name))
    return _deliver_plan(report, out, emit, namespace)


COMMANDS = [check_pool_command, recommend_command]
