"""What changed since the last run: arpwatch's station events, and conflicts started, resolved or due a reminder.

Pure: the caller reads the previous state from SQLite and writes the result back in
one transaction, so the rules here are tested without a database or a LAN.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Mapping, Sequence

from ipaudit.audit.fold import Conflict
from ipaudit.findings import Code


class Kind(StrEnum):
    NEW_STATION = "new-station"
    MAC_CHANGED = "mac-changed"
    NEW_DHCP_SERVER = "new-dhcp-server"
    CONFLICT_STARTED = "conflict-started"
    CONFLICT_RESOLVED = "conflict-resolved"
    REMINDER = "reminder"
    #: The event of a LAN that could not be audited: named as its finding code.
    AUDIT_FAILED = str(Code.AUDIT_FAILED)


@dataclass(frozen=True)
class Event:
    at: float
    lan: str
    kind: str
    code: str = ""
    severity: str = ""
    address: str = ""
    mac: str = ""
    key: str = ""
    message: str = ""


@dataclass(frozen=True)
class Station:
    ip: str
    mac: str
    vendor: str | None = None


@dataclass(frozen=True)
class Server:
    server: str
    mac: str
    allowed: bool


@dataclass(frozen=True)
class OpenConflict:
    """A conflict as the state remembers it."""

    conflict: Conflict
    opened_at: float
    last_alert_at: float
    reminded: bool = False
    acked: bool = False


@dataclass
class Changes:
    events: list[Event] = field(default_factory=list)
    #: Events that are sent to the alert channels (a subset of ``events``).
    alerts: list[Event] = field(default_factory=list)
    opened: list[Conflict] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    reminded: list[str] = field(default_factory=list)


def station_events(lan: str, now: float, seen: Sequence[Station], known: Mapping[str, set[str]]) -> list[Event]:
    """``new-station`` for a MAC never seen on this LAN, ``mac-changed`` for an IP answered by a new MAC."""
    known_macs = {mac for macs in known.values() for mac in macs}
    events = []
    for station in seen:
        if station.mac not in known_macs:
            known_macs.add(station.mac)
            events.append(Event(now, lan, Kind.NEW_STATION, address=station.ip, mac=station.mac,
                                message=f"{station.mac} ({station.vendor or 'unknown vendor'}) first seen at "
                                        f"{station.ip}"))
        previous = known.get(station.ip)
        if previous and station.mac not in previous:
            events.append(Event(now, lan, Kind.MAC_CHANGED, address=station.ip, mac=station.mac,
                                message=f"{station.ip} moved from {', '.join(sorted(previous))} to {station.mac}"))
    return events


def server_events(lan: str, now: float, seen: Sequence[Server], known: set[tuple[str, str]]) -> list[Event]:
    return [Event(now, lan, Kind.NEW_DHCP_SERVER, address=s.server, mac=s.mac,
                  message=f"DHCP server {s.server} ({s.mac}) first seen, "
                          + ("allowed" if s.allowed else "not in allowed_dhcp"))
            for s in seen if (s.server, s.mac) not in known]


def conflict_changes(lan: str, now: float, current: Sequence[Conflict], previous: Mapping[str, OpenConflict],
                     realert_after: float) -> Changes:
    """Started, resolved and reminder events; each of them is one alert per channel."""
    changes = Changes()
    current_keys = {c.key for c in current}
    for conflict in current:
        if conflict.key in previous:
            continue
        kind = Kind.AUDIT_FAILED if conflict.code == Kind.AUDIT_FAILED else Kind.CONFLICT_STARTED
        event = _event(now, lan, kind, conflict, conflict.message)
        changes.events.append(event)
        changes.alerts.append(event)
        changes.opened.append(conflict)
    for key, remembered in previous.items():
        conflict = remembered.conflict
        if key not in current_keys:
            event = _event(now, lan, Kind.CONFLICT_RESOLVED, conflict, f"resolved: {conflict.message}")
            changes.events.append(event)
            changes.alerts.append(event)
            changes.resolved.append(key)
        elif (realert_after > 0 and not remembered.reminded and not remembered.acked
              and now - remembered.last_alert_at >= realert_after):
            event = _event(now, lan, Kind.REMINDER, conflict, f"still open: {conflict.message}")
            changes.events.append(event)
            changes.alerts.append(event)
            changes.reminded.append(key)
    return changes


def _event(now: float, lan: str, kind: str, conflict: Conflict, message: str) -> Event:
    return Event(now, lan, kind, code=conflict.code, severity=conflict.severity, address=conflict.address,
                 key=conflict.key, message=message)
