"""``ipaudit sources`` and ``ipaudit sources show URI`` as plain functions returning reports.

``show`` exists so users can check what ipaudit read from their router before
trusting a check-pool verdict built on it.
"""

from __future__ import annotations

import sys

from ipaudit.report.interface import SchemeRow, SchemesReport, SourceReport
from ipaudit.sources.interface import SourceError, SourceOptions
from ipaudit.sources.registry import SCHEMES, open_source, source_class


def list_schemes() -> SchemesReport:
    """One row per reader class: its schemes, one example URI and what it reads (first docstring line)."""
    grouped: dict[str, list[str]] = {}
    for scheme, target in SCHEMES.items():
        grouped.setdefault(target, []).append(scheme)
    rows = []
    for schemes in grouped.values():
        try:
            reader = source_class(schemes[0])
        except SourceError:
            rows.append(SchemeRow(tuple(schemes), "", "(not available in this build)"))
            continue
        described = (reader.__doc__ or sys.modules[reader.__module__].__doc__ or "").strip()
        rows.append(SchemeRow(tuple(schemes), reader.example, described.splitlines()[0] if described else ""))
    return SchemesReport(tuple(rows))


def show_source(uri: str, options: SourceOptions = SourceOptions()) -> SourceReport:
    """What one DHCP source yields: its ranges, leases, reservations and notes."""
    return SourceReport(open_source(uri, options).read())
