"""The transactional outbox: a notification is written in the run's transaction, then sent, then marked sent.

What fails stays, and goes out first on the next run. Each row's key is unique per
event and channel, so a retry never makes a second row, and Alertmanager (whose alert
identity is its labels) never shows a repeat. An Apprise channel can see one repeat if
the process dies between sending and marking; the receiver gets the key in a header.
"""

from __future__ import annotations

import hashlib
import json
import logging
import socket
import sqlite3
import time
from datetime import datetime, timezone
from typing import Sequence

from ipaudit.audit.diff import Event, Kind
from ipaudit.audit.fold import Conflict

log = logging.getLogger(__name__)

#: The Alertmanager channel's name in the outbox (Apprise channels are their config URL text).
ALERTMANAGER = "alertmanager"
ATTEMPTS = 3
FIRST_BACKOFF = 0.5
SEND_TIMEOUT = 10.0

_TITLES = {Kind.CONFLICT_STARTED: "conflict", Kind.CONFLICT_RESOLVED: "resolved", Kind.REMINDER: "still open",
           Kind.AUDIT_FAILED: "audit failed"}


def idempotency_key(event: Event, channel: str) -> str:
    text = "\n".join((event.lan, event.kind, event.key, repr(event.at), channel))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def enqueue(db: sqlite3.Connection, events: Sequence[Event], channels: Sequence[str]) -> None:
    """Outbox rows for ``events`` (inside the caller's transaction). Alertmanager gets resolutions only:
    open conflicts are re-posted on every run anyway."""
    rows = []
    for event in events:
        payload = json.dumps({"event": event.kind, "lan": event.lan, "code": event.code, "severity": event.severity,
                              "address": event.address, "key": event.key, "message": event.message, "at": event.at})
        for channel in channels:
            if channel != ALERTMANAGER or event.kind == Kind.CONFLICT_RESOLVED:
                rows.append((idempotency_key(event, channel), channel, payload, event.at))
    db.executemany("INSERT OR IGNORE INTO outbox (key, channel, payload, created_at) VALUES (?, ?, ?, ?)", rows)


def _notification(key: str, payload: dict):
    from ipaudit.audit.notify import Notification

    title = f"ipaudit {payload['lan']}: {_TITLES.get(payload['event'], payload['event'])} {payload['code']} " \
            f"{payload['address']}".strip()
    return Notification(key=key, event=payload["event"], lan=payload["lan"], code=payload["code"],
                        severity=payload["severity"], address=payload["address"], title=title,
                        body=payload["message"], at=datetime.fromtimestamp(payload["at"], timezone.utc))


def am_alert(conflict: Conflict, lan: str, starts: float, ends: float):
    from ipaudit.audit.alertmanager import AmAlert

    return AmAlert(labels={"alertname": conflict.code, "severity": conflict.severity, "lan": lan,
                           "address": conflict.address, "instance": socket.gethostname()},
                   annotations={"summary": f"{conflict.code} {conflict.address} on {lan}".strip(),
                                "description": conflict.message},
                   starts_at=datetime.fromtimestamp(starts, timezone.utc),
                   ends_at=datetime.fromtimestamp(ends, timezone.utc))


def _send(channel: str, key: str, payload: dict, alertmanager: str | None) -> None:
    if channel == ALERTMANAGER:
        from ipaudit.audit.alertmanager import post_alerts

        conflict = Conflict(payload["key"], payload["code"], payload["severity"], payload["address"],
                            payload["message"])
        now = time.time()
        post_alerts(alertmanager or "", [am_alert(conflict, payload["lan"], payload["at"], now)], SEND_TIMEOUT)
        return
    from ipaudit.audit.config import channel_url
    from ipaudit.audit.notify import send

    send(channel_url(channel), _notification(key, payload), SEND_TIMEOUT)


def deliver(db: sqlite3.Connection, alertmanager: str | None, configured: Sequence[str]) -> list[str]:
    """Send every unsent row, oldest first, retrying with backoff; the channels that still failed."""
    from ipaudit.errors import IpauditError

    failed: dict[str, str] = {}
    rows = list(db.execute("SELECT id, key, channel, payload FROM outbox WHERE sent_at IS NULL ORDER BY id"))
    for row in rows:
        channel = row["channel"]
        if channel in failed or channel not in configured:
            continue  # keep the channel's order: nothing newer overtakes what failed
        payload = json.loads(row["payload"])
        for attempt in range(ATTEMPTS):
            try:
                _send(channel, row["key"], payload, alertmanager)
            except IpauditError as problem:
                error = problem.one_line()
                db.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?", (error, row["id"]))
                if attempt + 1 < ATTEMPTS:
                    time.sleep(FIRST_BACKOFF * 2 ** attempt)
                    continue
                failed[channel] = error
            else:
                db.execute("UPDATE outbox SET sent_at = ?, attempts = attempts + 1 WHERE id = ?",
                           (time.time(), row["id"]))
            break
    for channel, error in failed.items():
        shown = channel if channel == ALERTMANAGER else channel.split("://", 1)[0] + "://..."
        log.warning("could not deliver to %s (kept in the outbox for the next run): %s", shown, error)
    return list(failed)


def sync_alertmanager(base_url: str, lan_conflicts: dict[str, list[tuple[Conflict, float, bool]]],
                      interval: float) -> bool:
    """Post every open conflict, ending 3 intervals from now (acknowledged ones end now); True if it worked."""
    from ipaudit.audit.alertmanager import post_alerts
    from ipaudit.errors import IpauditError

    now = time.time()
    alerts = [am_alert(conflict, lan, opened, now if acked else now + 3 * interval)
              for lan, items in lan_conflicts.items() for conflict, opened, acked in items]
    if not alerts:
        return True
    try:
        post_alerts(base_url, alerts, SEND_TIMEOUT)
    except IpauditError as problem:
        log.warning("could not post the open conflicts to Alertmanager: %s", problem.one_line())
        return False
    return True


def pending(db: sqlite3.Connection) -> int:
    return db.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
