"""One ``ipaudit audit`` run: look at every LAN with the scan and check-pool engines, diff against the state,
record the changes and their notifications in one transaction, then deliver them.

A LAN that could not be looked at gets ``audit-failed`` (once) and keeps its open
conflicts exactly as they were: what was not checked is never called resolved.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field

from ipaudit.audit import store
from ipaudit.audit.config import AuditConfig, LanConfig
from ipaudit.audit.diff import Event, Server, Station, conflict_changes, server_events, station_events
from ipaudit.audit.fold import Conflict, fold
from ipaudit.audit.outbox import ALERTMANAGER, deliver, enqueue, sync_alertmanager
from ipaudit.audit.state import open_state, run_lock, transaction
from ipaudit.errors import IpauditError
from ipaudit.exitstatus import ExitStatus
from ipaudit.findings import Code, identity_key
from ipaudit.model import Finding

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LanLook:
    """What one LAN showed this run."""

    findings: tuple[Finding, ...]
    stations: tuple[Station, ...]
    servers: tuple[Server, ...]
    hosts: int
    pool_free: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditResult:
    events: tuple[Event, ...]
    #: Open conflicts after the run, as (lan, Conflict, opened_at, acked).
    open: tuple[tuple[str, Conflict, float, bool], ...]
    failed: dict[str, str]
    status: ExitStatus


def look_at(lan: LanConfig) -> LanLook:
    """Sweep the LAN and check its pools with the same engines as ``scan`` and ``check-pool``."""
    from ipaudit.facts import LanOptions, LanQuery
    from ipaudit.plan.engine import CheckRequest, run_check
    from ipaudit.scan.engine import ScanRequest, allowed_servers, run_scan
    from ipaudit.sources.pools import PoolQuery

    allowed = allowed_servers(lan.allowed_dhcp)  # IPs and MACs, as `scan --allowed-dhcp` takes them
    inventory = run_scan(ScanRequest(interface=lan.interface, subnet=lan.subnet, allowed_dhcp=allowed)).inventory
    findings = list(inventory.findings)
    pool_free: dict[str, int] = {}
    if lan.pools or lan.pools_from:
        # check-pool decides VIP ownership (vip-live-on-node, vip-claimed-by-foreign-device) from the
        # nodes' MACs in this sweep; fold() then keeps one conflict per address, the VIP claim first.
        options = LanOptions(subnets=(lan.subnet,) if lan.subnet else (), gateway=lan.gateway,
                             dhcp_ranges=lan.dhcp_ranges, nodes=lan.nodes)
        report = run_check(CheckRequest(pools=PoolQuery(specs=lan.pools, manifests=lan.pools_from),
                                        lan=LanQuery(options=options, dhcp_sources=lan.dhcp_sources,
                                                     local_interfaces=False),
                                        scanned=(inventory,)))
        findings += report.findings
        pool_free = {p.name: (p.addresses - report.lan.in_use).size for p in report.pools}
    stations = tuple(Station(str(h.ip), mac.lower(), h.vendor) for h in inventory.hosts for mac in h.macs)
    allowed_ips, allowed_macs = set(lan.allowed_ips), lan.allowed_macs  # new-dhcp-server events say if allowed
    servers = tuple(Server(str(s.server_id or ""), (s.mac or "").lower(),
                           not lan.allowed_dhcp or str(s.server_id) in allowed_ips
                           or (s.mac or "").lower() in allowed_macs) for s in inventory.dhcp_servers)
    return LanLook(tuple(findings), stations, tuple(dict.fromkeys(servers)), len(inventory.hosts), pool_free)


def audit_failed(lan: str, reason: str) -> Conflict:
    return Conflict(key=identity_key(Code.AUDIT_FAILED, (lan,)), code=str(Code.AUDIT_FAILED), severity="critical",
                    address="", message=f"could not audit LAN {lan}: {reason}")


def _record(db, config: AuditConfig, lan: LanConfig, look: LanLook | None, reason: str | None, now: float,
            channels: list[str]) -> list[Event]:
    previous = store.open_conflicts(db, lan.name)
    events: list[Event] = []
    if look is None:
        kept = [p.conflict for p in previous.values() if p.conflict.code != Code.AUDIT_FAILED]
        current = kept + [audit_failed(lan.name, reason or "unknown")]
    else:
        events += station_events(lan.name, now, look.stations, store.known_stations(db, lan.name))
        events += server_events(lan.name, now, look.servers, store.known_servers(db, lan.name))
        store.save_stations(db, lan.name, now, look.stations)
        store.save_servers(db, lan.name, now, look.servers)
        current = fold(look.findings, lan.ignore)
    # What this run could not check is neither resolved nor re-sent as a reminder.
    realert_after = config.realert_after if look is not None else 0.0
    changes = conflict_changes(lan.name, now, current, previous, realert_after)
    store.save_conflicts(db, lan.name, now, changes)
    events += changes.events
    store.save_events(db, events)
    enqueue(db, changes.alerts, channels)
    store.save_run(db, lan.name, now, look is not None)
    return events


def run_audit(config: AuditConfig, wait: float = 0.0) -> AuditResult:
    """One run over every [[lan]] of ``config``; a run already holding the lock is an error (or waited for)."""
    channels = list(config.urls) + ([ALERTMANAGER] if config.alertmanager else [])
    with run_lock(config.state_dir, wait):
        db = open_state(config.state_dir)
        try:
            deliver(db, config.alertmanager, channels)  # last run's leftovers go first
            looks: dict[str, LanLook] = {}
            failed: dict[str, str] = {}
            durations: dict[str, float] = {}
            for lan in config.lans:
                started = time.monotonic()
                try:
                    looks[lan.name] = look_at(lan)
                except IpauditError as problem:
                    failed[lan.name] = problem.one_line()
                    log.warning("LAN %s: %s", lan.name, problem.one_line())
                durations[lan.name] = time.monotonic() - started
            now = time.time()
            events: list[Event] = []
            with transaction(db):
                for lan in config.lans:
                    events += _record(db, config, lan, looks.get(lan.name), failed.get(lan.name), now, channels)
            deliver(db, config.alertmanager, channels)
            open_now = [(row["lan"], store.as_open_conflict(row)) for row in store.open_rows(db)]
            if config.alertmanager:
                by_lan: dict[str, list] = {}
                for lan_name, remembered in open_now:
                    by_lan.setdefault(lan_name, []).append((remembered.conflict, remembered.opened_at,
                                                            remembered.acked))
                sync_alertmanager(config.alertmanager, by_lan, config.interval)
            if config.textfile:
                _write_metrics(db, config.textfile, config, looks, durations, now)
        finally:
            db.close()
    open_conflicts = tuple((lan, r.conflict, r.opened_at, r.acked) for lan, r in open_now)
    return AuditResult(tuple(events), open_conflicts, failed, _status(open_conflicts, failed))


def _status(open_conflicts, failed: dict[str, str]) -> ExitStatus:
    if failed:
        return ExitStatus.UNKNOWN
    severities = {conflict.severity for _, conflict, _, acked in open_conflicts if not acked}
    if "critical" in severities:
        return ExitStatus.CRITICAL
    return ExitStatus.WARNING if "warning" in severities else ExitStatus.OK


def _write_metrics(db, textfile: str, config: AuditConfig, looks: dict[str, LanLook], durations: dict[str, float],
                   now: float) -> None:
    from ipaudit.audit.metrics import LanMetrics, write_textfile

    metrics = []
    for lan in config.lans:
        look = looks.get(lan.name)
        counts = Counter((str(f.code), f.severity.value) for f in look.findings) if look else Counter()
        metrics.append(LanMetrics(lan=lan.name, findings=dict(counts), hosts=look.hosts if look else 0,
                                  dhcp_servers=len(look.servers) if look else 0,
                                  pool_free=look.pool_free if look else {}, last_run=now,
                                  last_success=store.last_success(db, lan.name), duration=durations[lan.name]))
    try:
        write_textfile(textfile, metrics)
    except IpauditError as problem:
        log.warning("metrics: %s", problem.one_line())
