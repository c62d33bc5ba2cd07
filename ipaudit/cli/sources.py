"""``ipaudit sources`` (the DHCP sources ipaudit reads) and ``ipaudit sources show URI`` (what one yields)."""

from __future__ import annotations

import click

from ipaudit.cli.options import Output, Seconds, output_options
from ipaudit.cli.output import configure_diagnostics, deliver
from ipaudit.report.interface import SchemesReport, SourceReport
from ipaudit.report.registry import formats_for


@click.group("sources", invoke_without_command=True)
@output_options(formats_for(SchemesReport))
@click.pass_context
def sources_command(context: click.Context, out: Output) -> int | None:
    """List the DHCP sources ipaudit can read, with one example URI each.

    \b
    Examples:
      ipaudit sources
      ipaudit sources show kea+http://127.0.0.1:8000
      ipaudit sources show dnsmasq:/etc/dnsmasq.conf --format json
    """
    if context.invoked_subcommand is not None:
        return None
    from ipaudit.sources.show import list_schemes

    configure_diagnostics(out.quiet)
    report = list_schemes()
    return deliver(report, Output(out.format, out.path, quiet=False), report.status)


@sources_command.command("show")
@click.argument("uri")
@click.option("--ca-cert", metavar="FILE", help="CA bundle for HTTPS sources.")
@click.option("--insecure", is_flag=True, help="Do not verify HTTPS certificates (prints a warning).")
@click.option("--source-timeout", "timeout", type=Seconds(0.1, 600), default=10.0, show_default=True, metavar="S",
              help="Total seconds allowed for an HTTP source.")
@output_options(formats_for(SourceReport))
def show_command(uri: str, ca_cert: str | None, insecure: bool, timeout: float, out: Output) -> int:
    """Print the DHCP ranges, leases, reservations and notes one source yields.

    \b
    Examples:
      ipaudit sources show kea:/etc/kea/kea-dhcp4.conf
      ipaudit sources show dhcpd:/etc/dhcp/dhcpd.conf?leases=/var/lib/dhcp/dhcpd.leases
      IPAUDIT_PIHOLE_PASSWORD=... ipaudit sources show pihole+https://pi.hole --ca-cert pihole-ca.pem
    """
    from ipaudit.sources.interface import SourceOptions
    from ipaudit.sources.show import show_source

    configure_diagnostics(out.quiet)
    report = show_source(uri, SourceOptions(ca_cert=ca_cert, insecure=insecure, timeout=timeout))
    return deliver(report, Output(out.format, out.path, quiet=False), report.status)


COMMANDS = [sources_command]
