"""The findings table and the status line, drawn alike by every command's human report."""

from __future__ import annotations

from typing import Sequence

from ipaudit.exitstatus import ExitStatus
from ipaudit.model import Finding
from ipaudit.plan.status import STATUS_NAMES
from ipaudit.report.interface import RenderOptions
from ipaudit.report.text import paint, table


def findings_table(findings: Sequence[Finding], options: RenderOptions) -> str:
    rows = [[f.severity.value.upper(), str(f.code), f.message] for f in findings]
    return table(["severity", "finding", "detail"], rows, options, wrappable=(2,), painted=(0,))


def status_line(status: ExitStatus, options: RenderOptions) -> str:
    return f"status: {paint(STATUS_NAMES[status].upper(), options)}"
