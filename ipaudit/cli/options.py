"""Option groups shared by commands, as decorators, and the code that turns them into model objects."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import click

from ipaudit.addresses import parse_spec
from ipaudit.addressset import AddressSet
from ipaudit.errors import IpauditError
from ipaudit.facts import LanOptions, assemble_lan
from ipaudit.model import DhcpFacts, Inventory, Lan, Pool
from ipaudit.report.interface import OutputFormat
from ipaudit.report.manifest import EmitKind
from ipaudit.sources.manifests import PoolManifests, load_manifest, pools_from_documents

CLUSTER_FROM = ("kubectl", "k8s")


def note(text: str) -> None:
    """A diagnostic for the user, on stderr so stdout stays machine-readable."""
    click.echo(f"ipaudit: {text}", err=True)


def _compose(*decorators: Callable) -> Callable:
    def apply(command: Callable) -> Callable:
        for decorator in reversed(decorators):
            command = decorator(command)
        return command
    return apply


lan_options = _compose(
    click.option("--subnet", metavar="CIDR", help="The LAN, e.g. 192.168.1.0/24 (default: a local interface's subnet "
                 "holding the pool)."),
    click.option("--gateway", metavar="IP", help="The router's address, e.g. 192.168.1.1."),
    click.option("--dhcp-range", "dhcp_ranges", metavar="SPEC", multiple=True,
                 help="The router's DHCP range, e.g. 192.168.1.2-192.168.1.120 (repeatable)."),
    click.option("--reserved", metavar="SPEC", multiple=True,
                 help="Static IPs and DHCP reservations (repeatable)."),
    click.option("--node", "nodes", metavar="SPEC", multiple=True, help="Cluster node addresses (repeatable)."),
    click.option("--in-use", "in_use", metavar="SPEC", multiple=True, help="Addresses known to be taken (repeatable)."),
    click.option("--inventory", "inventories", metavar="FILE", multiple=True,
                 help="JSON written by 'ipaudit scan --format json' (repeatable)."),
    click.option("--dhcp-source", "dhcp_sources", metavar="URI", multiple=True,
                 help="Read DHCP ranges, leases and reservations from a server or router, e.g. "
                 "kea+http://router:8000 or dnsmasq:/etc/dnsmasq.conf (repeatable; see 'ipaudit sources')."),
    click.option("--ca-cert", metavar="FILE", help="CA bundle for HTTPS sources."),
    click.option("--insecure", is_flag=True, help="Do not verify HTTPS certificates of sources (prints a warning)."),
    click.option("--source-timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True, metavar="S",
                 help="Seconds to wait for each HTTP request to a DHCP source."),
)

output_options = _compose(
    click.option("--format", "output_format", type=click.Choice([f.value for f in OutputFormat]),
                 default=OutputFormat.TABLE.value, show_default=True, help="Report format."),
    click.option("--output", "-o", metavar="FILE", help="Write the report to FILE instead of stdout."),
)

emit_options = _compose(
    click.option("--emit", type=click.Choice([k.value for k in EmitKind]),
                 help="Print a ready manifest on stdout (the report goes to stderr)."),
    click.option("--namespace", default="metallb-system", show_default=True,
                 help="Namespace of emitted MetalLB objects."),
)

pool_source_options = _compose(
    click.option("--from", "manifests", metavar="FILE", multiple=True,
                 help="Pools from a MetalLB/Cilium/kube-vip manifest; '-' reads stdin, 'kubectl' asks the cluster "
                 "through kubectl, 'k8s' through the in-cluster API (repeatable)."),
    click.option("--context", metavar="NAME", help="kubectl context for --from kubectl."),
)


def read_dhcp_sources(uris: Sequence[str], ca_cert: str | None, insecure: bool, timeout: float) -> list[DhcpFacts]:
    if not uris:
        return []
    from ipaudit.sources.interface import SourceOptions
    from ipaudit.sources.registry import open_source

    options = SourceOptions(ca_cert=ca_cert, insecure=insecure, timeout=timeout)
    # Their notes (leases unknown, hook not loaded ...) travel in Lan.notes into the report itself.
    return [open_source(uri, options).read() for uri in uris]


def _cluster_documents(which: str, context: str | None) -> PoolManifests:
    if which == "kubectl":
        from ipaudit.sources.kubectl import fetch_documents

        fetched = fetch_documents(context)
    else:
        from ipaudit.sources.k8s_api import fetch_documents

        fetched = fetch_documents()
    documents = getattr(fetched, "documents", fetched)
    for text in getattr(fetched, "notes", ()):
        note(f"note: {which}: {text}")
    return pools_from_documents(documents, which)


def read_pools(specs: Sequence[str], manifests: Sequence[str], context: str | None) -> tuple[list[Pool], PoolManifests]:
    """Positional pools first (named ``proposed``, ``proposed-2`` ...), then each --from in order."""
    pools: list[Pool] = []
    for index, spec in enumerate(specs, start=1):
        parsed = parse_spec(spec)
        pools.append(Pool(name="proposed" if index == 1 else f"proposed-{index}", ranges=parsed.ranges,
                          cidrs_with_host_bits=parsed.cidrs_with_host_bits))
    advertised: set[str] | None = None
    for manifest in manifests:
        found = _cluster_documents(manifest, context) if manifest in CLUSTER_FROM else load_manifest(manifest)
        for text in found.notes:
            note(f"info: {text}")
        pools.extend(found.pools)
        if found.advertised is not None:
            advertised = (advertised or set()) | found.advertised
    names = [p.name for p in pools]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise IpauditError(f"pool name {duplicated[0]!r} appears twice; every pool needs its own name")
    return pools, PoolManifests(tuple(pools), None if advertised is None else frozenset(advertised))


def gather_lan(params: dict, anchor: AddressSet | None, inventories: Sequence[Inventory] = ()) -> Lan:
    """The Lan from the shared LAN options (a command's ``**params``) and any live inventories."""
    from ipaudit.inventory import load_inventory
    from ipaudit.sources.local_interfaces import subnet_containing

    options = LanOptions(subnet=params["subnet"], gateway=params["gateway"], dhcp_ranges=params["dhcp_ranges"],
                         reserved=params["reserved"], nodes=params["nodes"], in_use=params["in_use"])
    inventories = [load_inventory(path) for path in params["inventories"]] + list(inventories)
    dhcp_facts = read_dhcp_sources(params["dhcp_sources"], params["ca_cert"], params["insecure"],
                                   params["source_timeout"])
    return assemble_lan(options, inventories, dhcp_facts, anchor=anchor, local_lookup=subnet_containing)


def write_output(text: str, output: str | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as problem:
        raise IpauditError(f"cannot write {output}: {problem.strerror}") from None

