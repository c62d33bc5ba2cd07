"""Reading the previous state of a LAN and writing one run's changes back, as plain SQL on state.db."""

from __future__ import annotations

import sqlite3
from typing import Iterable, Sequence

from ipaudit.audit.diff import Changes, Event, OpenConflict, Server, Station
from ipaudit.audit.fold import Conflict


def known_stations(db: sqlite3.Connection, lan: str) -> dict[str, set[str]]:
    known: dict[str, set[str]] = {}
    for row in db.execute("SELECT ip, mac FROM stations WHERE lan = ?", (lan,)):
        known.setdefault(row["ip"], set()).add(row["mac"])
    return known


def known_servers(db: sqlite3.Connection, lan: str) -> set[tuple[str, str]]:
    return {(row["server"], row["mac"]) for row in db.execute("SELECT server, mac FROM dhcp_servers WHERE lan = ?",
                                                              (lan,))}


def open_conflicts(db: sqlite3.Connection, lan: str | None = None) -> dict[str, OpenConflict]:
    query = "SELECT * FROM open_findings" + (" WHERE lan = ?" if lan is not None else "") + " ORDER BY opened_at, key"
    return {row["key"] if lan is not None else f"{row['lan']}|{row['key']}": as_open_conflict(row)
            for row in db.execute(query, (lan,) if lan is not None else ())}


def open_rows(db: sqlite3.Connection) -> list[sqlite3.Row]:
    return list(db.execute("SELECT * FROM open_findings ORDER BY lan, opened_at, key"))


def as_open_conflict(row: sqlite3.Row) -> OpenConflict:
    conflict = Conflict(key=row["key"], code=row["code"], severity=row["severity"], address=row["address"],
                        message=row["message"])
    return OpenConflict(conflict, row["opened_at"], row["last_alert_at"], bool(row["reminded"]), bool(row["acked"]))


def save_stations(db: sqlite3.Connection, lan: str, now: float, stations: Iterable[Station]) -> None:
    db.executemany("INSERT INTO stations (lan, ip, mac, vendor, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?) "
                   "ON CONFLICT (lan, ip, mac) DO UPDATE SET last_seen = excluded.last_seen, "
                   "vendor = coalesce(excluded.vendor, vendor)",
                   [(lan, s.ip, s.mac, s.vendor, now, now) for s in stations])


def save_servers(db: sqlite3.Connection, lan: str, now: float, servers: Iterable[Server]) -> None:
    db.executemany("INSERT INTO dhcp_servers (lan, server, mac, allowed, first_seen, last_seen) "
                   "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (lan, server, mac) DO UPDATE SET "
                   "last_seen = excluded.last_seen, allowed = excluded.allowed",
                   [(lan, s.server, s.mac, int(s.allowed), now, now) for s in servers])


def save_events(db: sqlite3.Connection, events: Sequence[Event]) -> None:
    db.executemany("INSERT INTO events (at, lan, kind, code, severity, address, mac, key, message) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [(e.at, e.lan, e.kind, e.code, e.severity, e.address, e.mac, e.key, e.message) for e in events])


def save_conflicts(db: sqlite3.Connection, lan: str, now: float, changes: Changes) -> None:
    db.executemany("INSERT INTO open_findings (lan, key, code, severity, address, message, opened_at, "
                   "last_alert_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   [(lan, c.key, c.code, c.severity, c.address, c.message, now, now) for c in changes.opened])
    db.executemany("DELETE FROM open_findings WHERE lan = ? AND key = ?", [(lan, key) for key in changes.resolved])
    db.executemany("UPDATE open_findings SET reminded = 1, last_alert_at = ? WHERE lan = ? AND key = ?",
                   [(now, lan, key) for key in changes.reminded])


def save_run(db: sqlite3.Connection, lan: str, now: float, succeeded: bool) -> None:
    db.execute("INSERT INTO runs (lan, last_run, last_success) VALUES (?, ?, ?) ON CONFLICT (lan) DO UPDATE SET "
               "last_run = excluded.last_run, last_success = coalesce(excluded.last_success, last_success)",
               (lan, now, now if succeeded else None))


def last_success(db: sqlite3.Connection, lan: str) -> float | None:
    row = db.execute("SELECT last_success FROM runs WHERE lan = ?", (lan,)).fetchone()
    return row["last_success"] if row else None


def ack(db: sqlite3.Connection, code: str, address: str) -> list[sqlite3.Row]:
    """Mark the open conflicts of ``code`` at ``address`` acknowledged; the rows it matched."""
    rows = list(db.execute("SELECT * FROM open_findings WHERE code = ? AND address = ?", (code, address)))
    db.execute("UPDATE open_findings SET acked = 1 WHERE code = ? AND address = ?", (code, address))
    return rows


def events_since(db: sqlite3.Connection, since: float, ip: str | None) -> list[sqlite3.Row]:
    query = "SELECT * FROM events WHERE at >= ?" + (" AND address = ?" if ip else "") + " ORDER BY id"
    return list(db.execute(query, (since, ip) if ip else (since,)))
