"""The one rule that turns findings into an exit status."""

from __future__ import annotations

from typing import Iterable

from ipaudit.exitstatus import ExitStatus
from ipaudit.model import Finding, Severity

STATUS_NAMES = {
    ExitStatus.OK: "ok",
    ExitStatus.WARNING: "warning",
    ExitStatus.CRITICAL: "critical",
    ExitStatus.UNKNOWN: "unknown",
}


def status_of(findings: Iterable[Finding]) -> ExitStatus:
    """CRITICAL if any finding is critical, WARNING if any warns, else OK; info never raises it."""
    severities = {f.severity for f in findings}
    if Severity.CRITICAL in severities:
        return ExitStatus.CRITICAL
    if Severity.WARNING in severities:
        return ExitStatus.WARNING
    return ExitStatus.OK
