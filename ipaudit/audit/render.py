"""What ``audit`` and ``history`` print: one line per event for cron's mail, or JSON that stays exact."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from ipaudit.audit.run import AuditResult
from ipaudit.sanitize import one_line


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def event_line(event: Mapping) -> str:
    """``2026-11-29T15:00:00Z home conflict-started vip-claimed-by-foreign-device 198.51.100.240: ...``"""
    parts = [_when(event["at"]), event["lan"], event["kind"], event["code"], event["address"]]
    head = " ".join(p for p in parts if p)
    return one_line(f"{head}: {event['message']}")


def audit_text(result: AuditResult) -> str:
    """Nothing when nothing changed, so cron mails only when something did."""
    lines = [event_line(asdict(event)) for event in result.events]
    lines += [one_line(f"could not audit LAN {lan}: {reason}") for lan, reason in result.failed.items()]
    return "\n".join(lines) + "\n" if lines else ""


def audit_json(result: AuditResult) -> str:
    document = {
        "version": 1,
        "exit_code": int(result.status),
        "events": [dict(asdict(event), at=_when(event.at)) for event in result.events],
        "open": [{"lan": lan, "code": c.code, "severity": c.severity, "address": c.address, "key": c.key,
                  "message": c.message, "opened_at": _when(opened), "acked": acked}
                 for lan, c, opened, acked in result.open],
        "failed": result.failed,
    }
    return json.dumps(document, indent=2) + "\n"


def history_text(rows: Iterable[Any]) -> str:
    """``rows`` are sqlite3.Rows (or mappings) of the events table."""
    return "".join(event_line(row) + "\n" for row in rows)


def history_json(rows: Iterable[Any]) -> str:
    keys = ("lan", "kind", "code", "severity", "address", "mac", "key", "message")
    return json.dumps({"version": 1, "events": [dict({k: row[k] for k in keys}, at=_when(row["at"]))
                                                 for row in rows]}, indent=2) + "\n"
