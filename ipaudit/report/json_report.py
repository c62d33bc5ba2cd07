"""The JSON reports: check-pool and recommend (a stable contract, see README "JSON output"), and scan's inventory."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from ipaudit.addresses import format_range, format_set
from ipaudit.inventory import finding_to_dict
from ipaudit.model import Severity
from ipaudit.plan.recommend import Recommendation
from ipaudit.plan.status import STATUS_NAMES, status_of
from ipaudit.report.interface import PlanReport, RenderOptions, ScanReport

REPORT_VERSION = 1


def _range(value) -> str | None:
    return None if value is None else format_range(value)


def recommendation_to_dict(advice: Recommendation) -> dict[str, Any]:
    return {
        "kind": advice.kind,
        "message": advice.message,
        "pool": advice.pool,
        "range": _range(advice.block),
        "size": advice.block.size if advice.block is not None else None,
        "dhcp_range": _range(advice.dhcp_range),
        "new_dhcp_range": _range(advice.new_dhcp_range),
        "zones": [{"range": format_range(z), "size": z.size} for z in advice.zones],
    }


def report_to_dict(report: PlanReport) -> dict[str, Any]:
    lan = report.lan
    pools = []
    for pool in report.pools:
        own = [f for f in report.findings if f.pool == pool.name]
        pools.append({
            "name": pool.name,
            "kind": pool.kind,
            "source": pool.source,
            "addresses": format_set(pool.addresses),
            "size": pool.size,
            "auto_assign": pool.auto_assign,
            "avoid_buggy_ips": pool.avoid_buggy_ips,
            "status": STATUS_NAMES[status_of(own)],
        })
    return {
        "version": REPORT_VERSION,
        "status": STATUS_NAMES[report.status],
        "exit_code": int(report.status),
        "subnet": str(lan.subnet) if lan.subnet is not None else None,
        "gateway": str(lan.gateway) if lan.gateway is not None else None,
        "gateway_origin": lan.gateway_origin or None,
        "routers": [{"address": str(r.address), "origin": r.origin} for r in lan.routers],
        "subnets": [{"subnet": str(s.network), "origin": s.origin, "assumed": s.assumed} for s in lan.subnets],
        "dhcp_ranges": [{"range": format_range(r.addresses), "source": r.label} for r in lan.dhcp_ranges],
        "pools": pools,
        "vips": [{"ip": str(v.ip), "service": v.service, "pool": v.pool, "origins": list(v.origins),
                  "assigned": v.assigned} for v in report.vips],
        "findings": [finding_to_dict(f) for f in report.findings],
        "recommendations": [recommendation_to_dict(r) for r in report.recommendations],
        "notes": list(report.notes),
        "counts": {s.value: sum(f.severity is s for f in report.findings) for s in Severity},
    }


def render_json(report: PlanReport, options: RenderOptions = RenderOptions()) -> str:
    return json.dumps(report_to_dict(report), indent=2) + "\n"


def generated_at() -> str:
    """Now, RFC 3339 in UTC to the second: ``2026-11-29T15:28:54Z``."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def scan_to_dict(report: ScanReport) -> dict[str, Any]:
    """The inventory that ``--inventory`` reads back (see ipaudit.inventory), with the verdict beside it:
    ``generated_at``, ``status``, ``exit_code`` and ``counts`` shaped as check-pool's report."""
    from ipaudit.inventory import inventory_to_dict

    findings = report.inventory.findings
    return {**inventory_to_dict(report.inventory), "generated_at": generated_at(),
            "status": STATUS_NAMES[report.status], "exit_code": int(report.status),
            "counts": {s.value: sum(f.severity is s for f in findings) for s in Severity},
            "notes": list(report.notes)}


def unknown_scan_dict(error: str) -> dict[str, Any]:
    """What a failed (or still running) scan leaves in ``-o FILE``: the same keys, empty, status
    unknown and the error. ``--inventory`` refuses it by its status."""
    from ipaudit.inventory import inventory_to_dict
    from ipaudit.model import Inventory

    return {**inventory_to_dict(Inventory()), "generated_at": generated_at(), "status": "unknown",
            "exit_code": 3, "counts": {s.value: 0 for s in Severity}, "notes": [], "error": error}


def render_scan_json(report: ScanReport, options: RenderOptions = RenderOptions()) -> str:
    return json.dumps(scan_to_dict(report), indent=2) + "\n"
