"""The one registry of output formats: which formats each report has, and the renderer of each.

A command offers exactly the formats its report type has here (its ``--format``
choices are built from ``formats_for``), so a format a command lacks is a usage
error, never a silent table. Renderers are named, not imported: a run imports only
the one it draws with, so ``check-pool`` never loads the scan or source tables.
"""

from __future__ import annotations

from importlib import import_module
from typing import Callable

from ipaudit.errors import IpauditError
from ipaudit.report.interface import (OutputFormat, PlanReport, RenderOptions, Report, ScanReport, SchemesReport,
                                      SourceReport)

Renderer = Callable[..., str]

#: Report type -> format -> "module:function" of its renderer, imported when used (see ``renderer``).
RENDERERS: dict[type, dict[OutputFormat, str]] = {
    PlanReport: {OutputFormat.TABLE: "ipaudit.report.table:render_table",
                 OutputFormat.JSON: "ipaudit.report.json_report:render_json"},
    ScanReport: {OutputFormat.TABLE: "ipaudit.report.scan_table:render_scan_table",
                 OutputFormat.JSON: "ipaudit.report.json_report:render_scan_json"},
    SourceReport: {OutputFormat.TABLE: "ipaudit.report.sources:render_facts_table",
                   OutputFormat.JSON: "ipaudit.report.sources:render_facts_json"},
    SchemesReport: {OutputFormat.TABLE: "ipaudit.report.sources:render_schemes_table",
                    OutputFormat.JSON: "ipaudit.report.sources:render_schemes_json"},
}


def formats_for(report_type: type) -> list[str]:
    """The ``--format`` choices of a command whose report is ``report_type``."""
    return [output_format.value for output_format in RENDERERS[report_type]]


def renderer(report_type: type, output_format: OutputFormat) -> Renderer:
    """The renderer of ``report_type`` in ``output_format``, its module imported now."""
    module, name = RENDERERS[report_type][output_format].split(":")
    return getattr(import_module(module), name)


def render(report: Report, output_format: OutputFormat, options: RenderOptions = RenderOptions()) -> str:
    if output_format not in RENDERERS[type(report)]:
        raise IpauditError(f"this command has no {output_format.value} format",
                           hint="choose one of " + ", ".join(formats_for(type(report))))
    return renderer(type(report), output_format)(report, options)
