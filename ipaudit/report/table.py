"""The human report: tabulate tables of pools, findings and recommendations."""

from __future__ import annotations

import textwrap

from tabulate import tabulate

from ipaudit.addresses import format_range, format_set
from ipaudit.plan.status import STATUS_NAMES, status_of
from ipaudit.report.interface import PlanReport

MESSAGE_WIDTH = 72


def _wrap(text: str) -> str:
    # Addresses and option names hold dashes: never break a line inside one.
    return "\n".join(textwrap.wrap(text, MESSAGE_WIDTH, break_on_hyphens=False)) or text


def render_table(report: PlanReport) -> str:
    lan = report.lan
    parts = []
    facts = [f"subnet {lan.subnet}" + (f" ({lan.subnet_origin})" if lan.subnet_origin else "")
             if lan.subnet is not None else "subnet unknown"]
    if lan.gateway is not None:
        facts.append(f"gateway {lan.gateway}")
    facts.append("DHCP " + (", ".join(f"{format_range(r.addresses)} ({r.label})" for r in lan.dhcp_ranges)
                            or "unknown"))
    parts.append("LAN: " + "; ".join(facts))
    if report.pools:
        rows = [[p.name, "\n".join(format_set(p.addresses)), p.size, p.source,
                 STATUS_NAMES[status_of(f for f in report.findings if f.pool == p.name)].upper()]
                for p in report.pools]
        parts.append(tabulate(rows, headers=["pool", "addresses", "size", "from", "status"], tablefmt="simple"))
    if report.findings:
        rows = [[f.severity.value.upper(), f.code, _wrap(f.message)] for f in report.findings]
        parts.append(tabulate(rows, headers=["severity", "finding", "detail"], tablefmt="simple"))
    if report.recommendations:
        rows = [[r.kind, _wrap(r.message)] for r in report.recommendations]
        parts.append(tabulate(rows, headers=["recommendation", "detail"], tablefmt="simple"))
    if lan.notes:
        parts.append("notes from the sources:\n" + "\n".join(f"  - {_wrap(n)}" for n in lan.notes))
    parts.append(f"status: {STATUS_NAMES[report.status].upper()}")
    return "\n\n".join(parts) + "\n"

