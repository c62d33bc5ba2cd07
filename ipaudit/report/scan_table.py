"""The human report of ``ipaudit scan``: hosts, DHCP servers, findings and the verdict."""

from __future__ import annotations

from ipaudit.report.findings_table import findings_table, status_line
from ipaudit.report.interface import RenderOptions, ScanReport
from ipaudit.report.text import bullets, paragraph, table


def _server_rows(report: ScanReport) -> list[list[str]]:
    rows = []
    for s in report.inventory.dhcp_servers:
        rows.append([
            "\n".join(filter(None, (str(s.server_id or "(no id)"), s.mac,
                                    f"from {s.source_ip}" if s.source_ip not in (None, s.server_id) else ""))),
            "\n".join(filter(None, (str(s.offered_ip or ""), f"in {s.subnet}" if s.subnet is not None else ""))),
            "\n".join(filter(None, (f"router {s.router}" if s.router else "",
                                    f"dns {', '.join(map(str, s.dns))}" if s.dns else ""))),
            "" if s.lease_time is None else str(s.lease_time),
            str(s.relay or ""),
        ])
    return rows


def render_scan_table(report: ScanReport, options: RenderOptions = RenderOptions()) -> str:
    inventory, rtts = report.inventory, dict(report.rtts)
    parts = [paragraph(report.summary, options)] if report.summary else []
    if inventory.hosts:
        rows = [["\n".join(filter(None, (str(h.ip), h.hostname))), "\n".join(h.macs), h.vendor or "",
                 "this scanner" if str(h.ip) == report.own_ip or str(h.ip) in report.own_ips
                 else f"{rtts[str(h.ip)] * 1000:.2f}" if str(h.ip) in rtts else ""] for h in inventory.hosts]
        parts.append(table(["ip", "mac", "vendor", "rtt ms"], rows, options, wrappable=(2,)))
    if inventory.dhcp_servers:
        parts.append(table(["dhcp server", "offer", "router, dns", "lease s", "relay"], _server_rows(report),
                           options, wrappable=(2, 4)))
    if inventory.findings:
        parts.append(findings_table(inventory.findings, options))
    if report.notes:
        parts.append(bullets("notes", report.notes, options))
    parts.append(status_line(report.status, options))
    return "\n\n".join(parts) + "\n"
