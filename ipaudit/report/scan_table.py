"""The human report of ``ipaudit scan``: hosts, DHCP servers, findings and the verdict."""

from __future__ import annotations

import textwrap

from tabulate import tabulate

from ipaudit.model import Inventory
from ipaudit.plan.status import STATUS_NAMES, status_of

MESSAGE_WIDTH = 72


def render_scan_table(inventory: Inventory, rtts: dict[str, float] | None = None,
                      summary: str | None = None, own_ip: str | None = None) -> str:
    """``rtts`` maps IP to the first reply's round-trip time in seconds; ``summary`` heads the report;
    ``own_ip`` marks the scanner's own row (it is listed: its address is in use too)."""
    rtts = rtts or {}
    parts = [summary] if summary else []
    if inventory.hosts:
        rows = [[str(h.ip), "\n".join(h.macs), h.vendor or "",
                 "this scanner" if str(h.ip) == own_ip
                 else f"{rtts[str(h.ip)] * 1000:.2f}" if str(h.ip) in rtts else ""] for h in inventory.hosts]
        parts.append(tabulate(rows, headers=["ip", "mac", "vendor", "rtt ms"], tablefmt="simple"))
    if inventory.dhcp_servers:
        rows = [[str(s.server_id or ""), s.mac or "", str(s.offered_ip or ""),
                 str(s.subnet) if s.subnet is not None else "", str(s.router or ""),
                 ", ".join(map(str, s.dns)), s.lease_time if s.lease_time is not None else "",
                 str(s.relay or "")] for s in inventory.dhcp_servers]
        parts.append(tabulate(rows, headers=["dhcp server", "mac", "offered", "subnet", "router", "dns",
                                             "lease s", "relay"], tablefmt="simple"))
    if inventory.findings:
        rows = [[f.severity.value.upper(), f.code, "\n".join(textwrap.wrap(f.message, MESSAGE_WIDTH))]
                for f in inventory.findings]
        parts.append(tabulate(rows, headers=["severity", "finding", "detail"], tablefmt="simple"))
    parts.append(f"status: {STATUS_NAMES[status_of(inventory.findings)].upper()}")
    return "\n\n".join(parts) + "\n"
