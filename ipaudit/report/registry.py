"""The one registry of output formats: which formats each report has, and the renderer of each.

A command offers exactly the formats its report type has here (its ``--format``
choices are built from ``formats_for``), so a format a command lacks is a usage
error, never a silent table.
"""

from __future__ import annotations

from typing import Callable

from ipaudit.errors import IpauditError
from ipaudit.report.interface import (OutputFormat, PlanReport, RenderOptions, Report, ScanReport, SchemesReport,
                                      SourceReport)
from ipaudit.report.json_report import render_json, render_scan_json
from ipaudit.report.scan_table import render_scan_table
from ipaudit.report.sources import (render_facts_json, render_facts_table, render_schemes_json,
                                    render_schemes_table)
from ipaudit.report.table import render_table

Renderer = Callable[..., str]

RENDERERS: dict[type, dict[OutputFormat, Renderer]] = {
    PlanReport: {OutputFormat.TABLE: render_table, OutputFormat.JSON: render_json},
    ScanReport: {OutputFormat.TABLE: render_scan_table, OutputFormat.JSON: render_scan_json},
    SourceReport: {OutputFormat.TABLE: render_facts_table, OutputFormat.JSON: render_facts_json},
    SchemesReport: {OutputFormat.TABLE: render_schemes_table, OutputFormat.JSON: render_schemes_json},
}


def formats_for(report_type: type) -> list[str]:
    """The ``--format`` choices of a command whose report is ``report_type``."""
    return [output_format.value for output_format in RENDERERS[report_type]]


def render(report: Report, output_format: OutputFormat, options: RenderOptions = RenderOptions()) -> str:
    renderers = RENDERERS[type(report)]
    if output_format not in renderers:
        raise IpauditError(f"this command has no {output_format.value} format",
                           hint="choose one of " + ", ".join(formats_for(type(report))))
    return renderers[output_format](report, options)
