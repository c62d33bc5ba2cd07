"""The human report of check-pool and recommend: the LAN, pools, findings, recommendations, notes."""

from __future__ import annotations

from ipaudit.addresses import format_range, format_set
from ipaudit.plan.status import STATUS_NAMES, status_of
from ipaudit.report.interface import PlanReport, RenderOptions
from ipaudit.report.text import bullets, paragraph, table
from ipaudit.report.findings_table import findings_table, status_line


def _lan_line(report: PlanReport) -> str:
    lan = report.lan
    facts = [f"subnet {known.network} ({known.origin}{', assumed' if known.assumed else ''})"
             for known in lan.subnets] or ["subnet unknown"]
    facts.append(f"gateway {lan.gateway} ({lan.gateway_origin})" if lan.gateway is not None else "gateway unknown")
    facts += [f"router {r.address} ({r.origin})" for r in lan.routers if r.address != lan.gateway]
    facts.append("DHCP " + (", ".join(f"{format_range(r.addresses)} ({r.label})" for r in lan.dhcp_ranges)
                            or "unknown"))
    return "LAN: " + "; ".join(facts)


def render_table(report: PlanReport, options: RenderOptions = RenderOptions()) -> str:
    parts = [paragraph(_lan_line(report), options)]
    if report.pools:
        rows = [[p.name, "\n".join(format_set(p.addresses)), p.size, p.source,
                 STATUS_NAMES[status_of(f for f in report.findings if f.pool == p.name)].upper()]
                for p in report.pools]
        parts.append(table(["pool", "addresses", "size", "from", "status"], rows, options,
                           wrappable=(0, 1, 3), painted=(4,)))
    if report.vips:
        rows = [[str(v.ip), v.service, v.pool or "(no pool)", "assigned" if v.assigned else "requested"]
                for v in report.vips]
        parts.append(table(["vip", "service", "pool", "state"], rows, options, wrappable=(1, 2)))
    if report.findings:
        parts.append(findings_table(report.findings, options))
    if report.recommendations:
        parts.append(table(["recommendation", "detail"], [[r.kind, r.message] for r in report.recommendations],
                           options, wrappable=(1,)))
    if report.notes:
        parts.append(bullets("notes", report.notes, options))
    parts.append(status_line(report.status, options))
    return "\n\n".join(parts) + "\n"
