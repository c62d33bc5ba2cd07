"""Option groups shared by commands, as decorators that hand the command typed requests.

``@lan_options`` gives the command ``lan: LanQuery``, ``@pool_source_options`` gives
``pool_sources: PoolQuery`` and ``@output_options`` gives ``out: Output``, so a command
body never sees loose option values, and the same option means the same on every command.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import click

from ipaudit.facts import LanOptions, LanQuery
from ipaudit.sources.interface import SourceOptions
from ipaudit.sources.pools import PoolQuery


class Seconds(click.ParamType):
    """A finite number of seconds within bounds: NaN, infinity and negatives are usage errors."""

    name = "seconds"

    def __init__(self, low: float = 0.0, high: float | None = None):
        self.low, self.high = low, high

    def convert(self, value: Any, param, ctx) -> float:
        if isinstance(value, float) and math.isfinite(value):
            number = value
        else:
            try:
                number = float(value)
            except (TypeError, ValueError):
                self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if number < self.low or (self.high is not None and number > self.high):
            upper = f" to {self.high:g}" if self.high is not None else " or more"
            self.fail(f"{number:g} is out of range: give {self.low:g}{upper}", param, ctx)
        return number


class Rate(Seconds):
    name = "rate"


class SingleValueOption(click.Option):
    """An option that takes one value and refuses a second: click's default lets the last one win silently.

    ``--gateway 192.168.1.1 ... --gateway 192.168.1.254`` is a usage error, because a check that quietly
    used one of two routers the user named would give a verdict about a LAN nobody described. The parser
    collects every occurrence; ``consume_value`` insists on one.
    """

    def add_to_parser(self, parser, ctx) -> None:
        if self.multiple or self.count or self.is_flag:
            super().add_to_parser(parser, ctx)
            return
        parser.add_option(obj=self, opts=self.opts, dest=self.name, action="append", nargs=self.nargs)

    def consume_value(self, ctx: click.Context, opts: Mapping[str, Any]):
        given = opts.get(self.name)
        if isinstance(given, list) and not (self.multiple or self.count or self.is_flag):
            if len(set(map(str, given))) > 1:
                shown = " and ".join(repr(value) for value in given)
                raise click.BadOptionUsage(self.name, f"{self.opts[-1]} given {len(given)} times ({shown}): "
                                           "it takes one value", ctx)
            opts = {**opts, self.name: given[0]}
        return super().consume_value(ctx, opts)


def single(*names: str, **attributes) -> Callable:
    """``click.option`` for a one-value option that refuses a second, different value."""
    return click.option(*names, cls=SingleValueOption, **attributes)


def refuse_repeats(command: click.Command) -> click.Command:
    """Make every one-value option of a built command refuse a second value (for commands built elsewhere)."""
    for param in command.params:
        if type(param) is click.Option and not (param.multiple or param.count or param.is_flag):
            param.__class__ = SingleValueOption
    return command


def _subnets(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    """``--subnet`` once per address family, comma lists allowed; two of one family is a usage error."""
    from ipaudit.errors import SpecError
    from ipaudit.facts import typed_subnets

    texts = tuple(t.strip() for value in values for t in value.split(",") if t.strip())
    try:
        typed_subnets(LanOptions(subnets=texts))
    except SpecError as problem:
        raise click.BadParameter(problem.message, ctx, param) from None
    return texts


def _group(decorators: list[Callable], fold: Callable[[dict], tuple[str, Any]], names: tuple[str, ...]):
    """A decorator adding ``decorators``' options, whose values ``fold`` turns into one keyword argument."""
    def apply(command: Callable) -> Callable:
        @functools.wraps(command)
        def folded(*args, **kwargs):
            own = {name: kwargs.pop(name) for name in names}
            keyword, value = fold(own)
            return command(*args, **{keyword: value}, **kwargs)
        for decorator in reversed(decorators):
            folded = decorator(folded)
        return folded
    return apply


def _lan_query(values: dict) -> tuple[str, LanQuery]:
    options = LanOptions(subnets=values["subnets"], gateway=values["gateway"], dhcp_ranges=values["dhcp_ranges"],
                         reserved=values["reserved"], nodes=values["nodes"], in_use=values["in_use"],
                         node_macs=values["node_macs"])
    sources = SourceOptions(ca_cert=values["ca_cert"], insecure=values["insecure"], timeout=values["source_timeout"])
    return "lan", LanQuery(options=options, inventories=values["inventories"], dhcp_sources=values["dhcp_sources"],
                           source_options=sources)


lan_options = _group([
    click.option("--subnet", "subnets", metavar="CIDR", multiple=True, callback=_subnets,
                 help="The LAN, e.g. 192.168.1.0/24; once per address family for dual stack (default: a DHCP "
                 "source's or local interface's subnet holding the pool, else the /24 holding the DHCP range, "
                 "with a warning)."),
    single("--gateway", metavar="IP", help="The router's address, e.g. 192.168.1.1 (default: this machine's "
           "default route into the subnet, else the DHCP source's router option, else a DHCP offer's)."),
    click.option("--dhcp-range", "dhcp_ranges", metavar="SPEC", multiple=True,
                 help="The router's DHCP range, e.g. 192.168.1.2-192.168.1.120; dnsmasq's 192.168.1.2,192.168.1.120 "
                 "is read as that range too (repeatable)."),
    click.option("--reserved", metavar="SPEC", multiple=True,
                 help="Static IPs and DHCP reservations (repeatable)."),
    click.option("--node", "nodes", metavar="SPEC", multiple=True, help="Cluster node addresses (repeatable)."),
    click.option("--node-mac", "node_macs", metavar="MAC", multiple=True,
                 help="MACs the cluster's nodes answer ARP from, so a live VIP is not called a conflict "
                 "(repeatable, comma-separated; a --node seen by -i or --inventory is learnt by itself)."),
    click.option("--in-use", "in_use", metavar="SPEC", multiple=True, help="Addresses known to be taken (repeatable)."),
    click.option("--inventory", "inventories", metavar="FILE", multiple=True,
                 help="JSON written by 'ipaudit scan --format json' (repeatable)."),
    click.option("--dhcp-source", "dhcp_sources", metavar="URI", multiple=True,
                 help="Read DHCP ranges, leases and reservations from a server or router, e.g. "
                 "kea+http://router:8000 or dnsmasq:/etc/dnsmasq.conf (repeatable; see 'ipaudit sources')."),
    single("--ca-cert", metavar="FILE", help="CA bundle for HTTPS sources."),
    click.option("--insecure", is_flag=True, help="Do not verify HTTPS certificates of sources (prints a warning)."),
    single("--source-timeout", type=Seconds(0.1, 600), default=10.0, show_default=True, metavar="S",
                 help="Total seconds allowed for each HTTP request to a DHCP source."),
], _lan_query, ("subnets", "gateway", "dhcp_ranges", "reserved", "nodes", "node_macs", "in_use", "inventories",
                "dhcp_sources",
                "ca_cert", "insecure", "source_timeout"))


def _configmap_name(ctx, param, value: str | None) -> str | None:
    """NS/NAME checked when typed, so a typo fails even when no kube-vip source is read."""
    if value is not None:
        from ipaudit.controllers.kube_vip import configmap_name
        from ipaudit.errors import IpauditError

        try:
            configmap_name(value)
        except IpauditError as problem:
            raise click.BadParameter(problem.one_line()) from None
    return value


pool_source_options = _group([
    click.option("--from", "manifests", metavar="FILE", multiple=True,
                 help="Pools from a MetalLB/Cilium/kube-vip manifest; '-' reads stdin, 'kubectl' asks the cluster "
                 "through kubectl, 'k8s' through the in-cluster API (repeatable)."),
    single("--context", metavar="NAME", help="kubectl context for --from kubectl."),
    single("--kube-vip-configmap", metavar="NS/NAME", callback=_configmap_name,
                 help="kube-vip's ConfigMap when KUBEVIP_NAMESPACE/KUBEVIP_CONFIG_MAP move it "
                 "(default kube-system/kubevip); for --from files, kubectl and k8s."),
], lambda values: ("pool_sources", PoolQuery(manifests=values["manifests"], context=values["context"],
                                             kube_vip_configmap=values["kube_vip_configmap"])),
    ("manifests", "context", "kube_vip_configmap"))


@dataclass(frozen=True)
class Output:
    """Where and how a report goes: ``--format``, ``-o/--output``, ``-q/--quiet``."""

    format: str
    path: str | None
    quiet: bool


def output_options(formats: list[str], quiet_help: str = "Print nothing when all is OK, and no notes (for cron).",
                   output_help: str = "Write the report to FILE (replaced atomically) instead of stdout."):
    """``--format`` (the report's own formats, from the report registry), ``-o/--output`` and ``-q/--quiet``."""
    return _group([
        single("--format", "output_format", type=click.Choice(formats), default=formats[0], show_default=True,
               help="Report format."),
        single("-o", "--output", metavar="FILE", help=output_help),
        click.option("-q", "--quiet", is_flag=True, help=quiet_help),
    ], lambda values: ("out", Output(values["output_format"], values["output"], values["quiet"])),
        ("output_format", "output", "quiet"))


interface_option = single("-i", "--interface", metavar="IFACE", help="The network interface to use.")
