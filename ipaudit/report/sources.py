"""Renderers of ``ipaudit sources`` (the scheme list) and ``ipaudit sources show URI`` (one source's facts)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from netaddr import IPAddress

from ipaudit.addresses import format_range
from ipaudit.model import DhcpFacts
from ipaudit.report.interface import RenderOptions, SchemesReport, SourceReport
from ipaudit.report.text import bullets, paragraph, table


def render_schemes_json(report: SchemesReport, options: RenderOptions = RenderOptions()) -> str:
    rows = [{"schemes": list(r.schemes), "example": r.example, "reads": r.reads} for r in report.rows]
    return json.dumps({"sources": rows}, indent=2) + "\n"


def render_schemes_table(report: SchemesReport, options: RenderOptions = RenderOptions()) -> str:
    rows = [[", ".join(r.schemes), r.example, r.reads] for r in report.rows]
    return (table(["SCHEME", "EXAMPLE", "READS"], rows, options, wrappable=(0, 1, 2)) + "\n\n" +
            paragraph("Use one with --dhcp-source URI (repeatable). Credentials come from "
                      "IPAUDIT_<VENDOR>_USERNAME/_PASSWORD/_TOKEN or the credentials file, never from the command "
                      "line. 'ipaudit sources show URI' prints what a source yields.", options) + "\n")


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def facts_document(facts: DhcpFacts) -> dict[str, Any]:
    """The JSON shape of ``sources show``."""
    return {
        "source": facts.source,
        "ranges": [{"range": format_range(r.addresses), "first": str(IPAddress(r.addresses.first, r.addresses.version)),
                    "last": str(IPAddress(r.addresses.last, r.addresses.version)), "size": r.addresses.size,
                    "subnet": str(r.subnet) if r.subnet else None, "label": r.label} for r in facts.ranges],
        "leases": [{"ip": str(x.ip), "mac": x.mac, "hostname": x.hostname, "expires": _when(x.expires)}
                   for x in facts.leases],
        "reservations": [{"ip": str(x.ip), "mac": x.mac, "hostname": x.hostname} for x in facts.reservations],
        "routers": [str(r) for r in facts.routers],
        "notes": list(facts.notes),
    }


def render_facts_json(report: SourceReport, options: RenderOptions = RenderOptions()) -> str:
    return json.dumps(facts_document(report.facts), indent=2) + "\n"


def render_facts_table(report: SourceReport, options: RenderOptions = RenderOptions()) -> str:
    document = facts_document(report.facts)

    def section(title: str, rows: list[list], headers: list[str], wrappable: tuple[int, ...]) -> str:
        if not rows:
            return f"{title}: none\n"
        return f"{title} ({len(rows)}):\n" + table(headers, rows, options, wrappable=wrappable) + "\n"

    routers = ", ".join(document["routers"]) or "none given"
    parts = [paragraph(f"Source: {report.facts.source}\nRouter option: {routers}", options) + "\n",
             section("DHCP ranges", [[r["range"], r["size"], r["subnet"] or "-", r["label"]]
                                     for r in document["ranges"]], ["RANGE", "SIZE", "SUBNET", "LABEL"], (0, 3)),
             section("Leases", [[x["ip"], x["mac"] or "-", x["hostname"] or "-", x["expires"] or "never"]
                                for x in document["leases"]], ["IP", "MAC", "HOSTNAME", "EXPIRES"], (2,)),
             section("Reservations", [[x["ip"], x["mac"] or "-", x["hostname"] or "-"]
                                      for x in document["reservations"]], ["IP", "MAC", "HOSTNAME"], (2,))]
    if report.facts.notes:
        parts.append(bullets("Notes", report.facts.notes, options) + "\n")
    return "\n".join(parts)
