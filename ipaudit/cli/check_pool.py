"""The ``ipaudit check-pool`` and ``ipaudit recommend`` commands: options in, one engine call, report out."""

from __future__ import annotations

from dataclasses import replace

import click

from ipaudit.cli.options import (Output, Seconds, interface_option, lan_options, output_options,
                                 pool_source_options)
from ipaudit.cli.output import configure_diagnostics, deliver, warn, write_output
from ipaudit.exitstatus import ExitStatus
from ipaudit.facts import LanQuery
from ipaudit.plan.engine import CheckRequest, LiveProbe, RecommendRequest, run_check, run_recommend
from ipaudit.report.interface import EmitKind, PlanReport
from ipaudit.plan.recommend import emit_blockers
from ipaudit.report.registry import formats_for
from ipaudit.sanitize import one_line
from ipaudit.sources.pools import PoolQuery

def _dns1123(ctx, param, value: str | None) -> str | None:
    if value is None:
        return value
    from ipaudit.report.manifest import dns1123_name, valid_name  # only --name needs the manifest rules

    if not valid_name(value):
        raise click.BadParameter(f"{value!r} is not a valid Kubernetes name: use lowercase letters, digits and "
                                 f"dashes, e.g. {dns1123_name(value)}")
    return value


OUTPUT_HELP = ("Write the report to FILE (replaced atomically) instead of stdout. With --emit, FILE gets the "
               "manifest and the report goes to stderr.")

emit_options = [
    click.option("--emit", type=click.Choice([k.value for k in EmitKind]),
                 help="Print a ready manifest on stdout, or to the -o FILE (the report then goes to stderr). "
                 "A block that is only safe after a DHCP shrink is not printed: exit 2 with the steps."),
    click.option("--force-emit", is_flag=True,
                 help="With --emit: print the manifest even when it needs a DHCP shrink first, headed by the steps."),
    click.option("--namespace", default="metallb-system", show_default=True,
                 help="Namespace of emitted MetalLB objects (a pool read from a manifest keeps its own)."),
]


def _emit_all(command):
    for option in reversed(emit_options):
        command = option(command)
    return command


def _named(pools, name: str | None):
    """Pools typed on the command line take ``--name`` (then NAME-2, NAME-3 ...); manifest pools keep theirs."""
    if not name:
        return pools
    typed = [p for p in pools if p.kind == "cli"]
    names = {id(p): name if index == 0 else f"{name}-{index + 1}" for index, p in enumerate(typed)}
    return tuple(replace(p, name=names[id(p)]) if id(p) in names else p for p in pools)


def _say(text: str) -> None:
    # Not through the logger: -q must not hide why nothing was emitted.
    click.echo("ipaudit: " + one_line(text), err=True)


def _deliver_plan(report: PlanReport, out: Output, emit: str | None, namespace: str, force_emit: bool = False,
                  name: str | None = None) -> int:
    """The report, and with --emit the manifest on stdout (or -o) with the report beside it on stderr.

    ``kubectl apply`` must never get a manifest that is not yet safe: when a pool only fits after
    a DHCP shrink, or has no safe block, stdout stays empty and the exit status is 2.
    """
    status = report.status
    if emit:
        from ipaudit.report.manifest import render_manifest

        blockers = emit_blockers(report.emitted, report.findings, report.recommendations)
        emitted = _named(report.emitted, name)
        header = []
        if emitted and not report.lan.dhcp_ranges:
            header.append("UNVERIFIED: no DHCP range was known, so these addresses may be in the router's DHCP pool")
            warn(header[-1] + "; give --dhcp-range or --dhcp-source")
        if not emitted:
            warn("nothing to emit: no block could be recommended")
        elif blockers and not force_emit:
            _say("nothing emitted: the manifest is not safe to apply yet")
            for step in blockers.shrinks:
                _say("first, " + step)
            for problem in blockers.unsafe:
                _say("unsafe, " + problem)
            _say("run ipaudit again once DHCP has changed, or add --force-emit to print it with these steps")
            status = max(status, ExitStatus.CRITICAL)
        else:
            if blockers:
                header += ["NOT SAFE TO APPLY YET (printed because of --force-emit). First:",
                           *(f"- {step}" for step in blockers.shrinks), *(f"- unsafe: {p}" for p in blockers.unsafe)]
            write_output(render_manifest(EmitKind(emit), emitted, namespace, report.existing, header), out.path)
    deliver(report, out, status, report_to_stderr=bool(emit))
    return int(status)


@click.command("check-pool")
@click.argument("pool_specs", metavar="[POOL]...", nargs=-1)
@pool_source_options
@lan_options
@interface_option
@click.option("--dhcp-timeout", type=Seconds(0.5, 120), default=6.0, show_default=True, metavar="S",
              help="With -i: how long the live probe listens for DHCP offers.")
@click.option("--force", is_flag=True, help="With -i: probe pools of more than 65,536 IPv4 addresses.")
@click.option("--name", "pool_name", callback=_dns1123, metavar="NAME",
              help="With --emit: the name of the pool typed as POOL (default: proposed).")
@_emit_all
@output_options(formats_for(PlanReport), quiet_help="Print nothing when every pool is OK, and no notes (for cron).",
                output_help=OUTPUT_HELP)
def check_pool_command(pool_specs: tuple[str, ...], pool_sources: PoolQuery, lan: LanQuery, interface: str | None,
                       dhcp_timeout: float, force: bool, pool_name: str | None, emit: str | None,
                       force_emit: bool, namespace: str, out: Output) -> int:
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
    return _deliver_plan(report, out, emit, namespace, force_emit, pool_name)


@click.command("recommend")
@pool_source_options
@click.option("--pool", "pool_specs", metavar="SPEC", multiple=True, help="An existing pool to keep clear of.")
@lan_options
@click.option("--size", type=click.IntRange(min=1, max=1 << 24), default=8, show_default=True,
              help="How many addresses the pool needs.")
@click.option("--name", "pool_name", default="lan-pool", show_default=True, callback=_dns1123,
              help="Name of the emitted pool (a DNS-1123 name).")
@_emit_all
@output_options(formats_for(PlanReport), output_help=OUTPUT_HELP)
def recommend_command(pool_sources: PoolQuery, pool_specs: tuple[str, ...], lan: LanQuery, size: int,
                      pool_name: str, emit: str | None, force_emit: bool, namespace: str, out: Output) -> int:
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
    return _deliver_plan(report, out, emit, namespace, force_emit)


COMMANDS = [check_pool_command, recommend_command]
