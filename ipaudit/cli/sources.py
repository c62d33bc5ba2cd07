"""``ipaudit sources``: which DHCP sources ipaudit reads, and ``sources show URI``: what one of them yields.

``show`` exists so users can check what ipaudit read from their router before
trusting a check-pool verdict built on it. The renderers are pure functions
returning text; the commands only print.
"""

from __future__ import annotations

import json
from datetime import datetime

import click
from netaddr import IPAddress

from ipaudit.addresses import format_range
from ipaudit.model import DhcpFacts
from ipaudit.report.interface import OutputFormat

format_option = click.option("--format", "output_format", type=click.Choice([f.value for f in OutputFormat]),
                             default=OutputFormat.TABLE.value, show_default=True, help="Output format.")


# --- the scheme list -------------------------------------------------------------------------------

def scheme_rows() -> list[dict]:
    """One row per reader class: its schemes, one example URI and what it reads (first docstring line)."""
    from ipaudit.sources.interface import SourceError
    from ipaudit.sources.registry import SCHEMES, source_class

    rows: dict[str, dict] = {}
    for scheme, target in SCHEMES.items():
        row = rows.setdefault(target, {"schemes": [], "example": "", "reads": ""})
        row["schemes"].append(scheme)
        if row["reads"]:
            continue
        try:
            reader = source_class(scheme)
        except SourceError:
            row["reads"] = "(not available in this build)"
            continue
        row["example"] = reader.example
        import sys

        described = reader.__doc__ or sys.modules[reader.__module__].__doc__ or ""
        row["reads"] = described.strip().splitlines()[0] if described.strip() else ""
    return list(rows.values())


def render_schemes(rows: list[dict], output_format: str) -> str:
    if output_format == OutputFormat.JSON.value:
        return json.dumps({"sources": rows}, indent=2) + "\n"
    from tabulate import tabulate

    table = [[", ".join(row["schemes"]), row["example"], row["reads"]] for row in rows]
    return (tabulate(table, headers=["SCHEME", "EXAMPLE", "READS"], tablefmt="plain") + "\n\n"
            "Use one with --dhcp-source URI (repeatable). Credentials come from IPAUDIT_<VENDOR>_USERNAME/"
            "_PASSWORD/_TOKEN\nor the credentials file, never from the command line. "
            "'ipaudit sources show URI' prints what a source yields.\n")


# --- one source's facts ----------------------------------------------------------------------------

def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def facts_document(facts: DhcpFacts) -> dict:
    """The JSON shape of ``sources show``."""
    return {
        "source": facts.source,
        "ranges": [{"range": format_range(r.addresses), "first": str(IPAddress(r.addresses.first)),
                    "last": str(IPAddress(r.addresses.last)), "size": r.addresses.size,
                    "subnet": str(r.subnet) if r.subnet else None, "label": r.label} for r in facts.ranges],
        "leases": [{"ip": str(x.ip), "mac": x.mac, "hostname": x.hostname, "expires": _when(x.expires)}
                   for x in facts.leases],
        "reservations": [{"ip": str(x.ip), "mac": x.mac, "hostname": x.hostname} for x in facts.reservations],
        "notes": list(facts.notes),
    }


def render_facts(facts: DhcpFacts, output_format: str) -> str:
    document = facts_document(facts)
    if output_format == OutputFormat.JSON.value:
        return json.dumps(document, indent=2) + "\n"
    from tabulate import tabulate

    def section(title: str, rows: list[list], headers: list[str]) -> str:
        if not rows:
            return f"{title}: none\n"
        return f"{title} ({len(rows)}):\n" + tabulate(rows, headers=headers, tablefmt="plain") + "\n"

    never = "never"
    parts = [f"Source: {facts.source}\n",
             section("DHCP ranges", [[r["range"], r["size"], r["subnet"] or "-", r["label"]] for r in document["ranges"]],
                     ["RANGE", "SIZE", "SUBNET", "LABEL"]),
             section("Leases", [[x["ip"], x["mac"] or "-", x["hostname"] or "-", x["expires"] or never]
                                for x in document["leases"]], ["IP", "MAC", "HOSTNAME", "EXPIRES"]),
             section("Reservations", [[x["ip"], x["mac"] or "-", x["hostname"] or "-"] for x in document["reservations"]],
                     ["IP", "MAC", "HOSTNAME"])]
    if facts.notes:
        parts.append("Notes:\n" + "".join(f"  - {text}\n" for text in facts.notes))
    return "\n".join(parts)


@click.group("sources", invoke_without_command=True)
@format_option
@click.pass_context
def sources_command(context: click.Context, output_format: str) -> None:
    """List the DHCP sources ipaudit can read, with one example URI each.

    \b
    Examples:
      ipaudit sources
      ipaudit sources show kea+http://127.0.0.1:8000
      ipaudit sources show dnsmasq:/etc/dnsmasq.conf --format json
    """
    if context.invoked_subcommand is None:
        click.echo(render_schemes(scheme_rows(), output_format), nl=False)


@sources_command.command("show")
@click.argument("uri")
@format_option
@click.option("--ca-cert", metavar="FILE", help="CA bundle for HTTPS sources.")
@click.option("--insecure", is_flag=True, help="Do not verify HTTPS certificates (prints a warning).")
@click.option("--source-timeout", "timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True, metavar="S",
              help="Seconds to wait for an HTTP source.")
def show_command(uri: str, output_format: str, ca_cert: str | None, insecure: bool, timeout: float) -> None:
    """Print the DHCP ranges, leases, reservations and notes one source yields.

    \b
    Examples:
      ipaudit sources show kea:/etc/kea/kea-dhcp4.conf
      ipaudit sources show dhcpd:/etc/dhcp/dhcpd.conf?leases=/var/lib/dhcp/dhcpd.leases
      IPAUDIT_PIHOLE_PASSWORD=... ipaudit sources show pihole+https://pi.hole --ca-cert pihole-ca.pem
    """
    from ipaudit.sources.interface import SourceOptions
    from ipaudit.sources.registry import open_source

    facts = open_source(uri, SourceOptions(ca_cert=ca_cert, insecure=insecure, timeout=timeout)).read()
    click.echo(render_facts(facts, output_format), nl=False)


COMMANDS = [sources_command]
