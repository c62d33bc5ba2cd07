"""Where reports and diagnostics go: rendered reports to stdout or ``-o FILE``, diagnostics to stderr.

Library code never prints: it logs to the ``ipaudit`` logger or puts notes in its
report. This module decides how that reaches the user: one handler on stderr,
sanitised, silenced by ``--quiet``; reports replaced atomically when written to a file.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from typing import TextIO

import click

from ipaudit.cli.options import Output
from ipaudit.errors import IpauditError
from ipaudit.exitstatus import ExitStatus
from ipaudit.report.interface import OutputFormat, RenderOptions, Report
from ipaudit.report.registry import render
from ipaudit.sanitize import one_line

LOGGER = logging.getLogger("ipaudit")
#: Width for a report that does not go to a terminal and has no COLUMNS to follow.
PIPE_WIDTH = 100


class _StderrHandler(logging.Handler):
    """``ipaudit: warning: ...`` on stderr, one sanitised line per record."""

    def emit(self, record: logging.LogRecord) -> None:
        level = "note" if record.levelno < logging.WARNING else record.levelname.lower()
        click.echo(f"ipaudit: {level}: {one_line(record.getMessage())}", err=True)


_handler = _StderrHandler()


def configure_diagnostics(quiet: bool) -> None:
    """Notes and warnings to stderr; ``--quiet`` silences all of them (errors still end the run with one line)."""
    if _handler not in LOGGER.handlers:
        LOGGER.addHandler(_handler)
    LOGGER.propagate = False
    LOGGER.setLevel(logging.CRITICAL + 1 if quiet else logging.INFO)


def note(text: str) -> None:
    """A diagnostic for the user, on stderr so stdout stays machine-readable."""
    LOGGER.info(text)


def warn(text: str) -> None:
    LOGGER.warning(text)


def render_options(stream: TextIO, to_file: bool) -> RenderOptions:
    """Fit the terminal (COLUMNS wins); colour only on a terminal, and never with NO_COLOR set."""
    width = shutil.get_terminal_size((PIPE_WIDTH, 24)).columns
    color = not to_file and stream.isatty() and not os.environ.get("NO_COLOR")
    return RenderOptions(width=max(width, 40), color=color)


def write_output(text: str, path: str | None) -> None:
    """Text to stdout, or to ``path`` through a new temporary file renamed over it.

    The rename replaces whatever ``path`` was, a symlink included, without following it, so
    root never writes through a link into a file it did not create, and a reader never sees
    half a report.
    """
    if path is None or path == "-":
        click.echo(text, nl=False)
        return
    directory = os.path.dirname(os.path.abspath(path))
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            raise IpauditError(f"cannot write {path}: it is a directory")
        handle, temporary = tempfile.mkstemp(prefix=".ipaudit-", dir=directory)
    except OSError as problem:
        raise IpauditError(f"cannot write {path}: {problem.strerror}") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(stream.fileno(), 0o666 & ~umask)
            stream.write(text)
        os.replace(temporary, path)
    except OSError as problem:
        os.unlink(temporary)
        raise IpauditError(f"cannot write {path}: {problem.strerror}") from None


def deliver(report: Report, out: Output, status: ExitStatus, *, report_to_stderr: bool = False) -> int:
    """Render ``report`` as ``out`` asks and return the exit status.

    A quiet table run with nothing wrong prints nothing, so cron mails only on trouble;
    JSON always prints. ``report_to_stderr``: stdout holds a manifest, the report goes beside it.
    """
    output_format = OutputFormat(out.format)
    if out.quiet and status is ExitStatus.OK and output_format is OutputFormat.TABLE:
        return int(status)
    stream = sys.stderr if report_to_stderr else sys.stdout
    to_file = out.path is not None and not report_to_stderr
    text = render(report, output_format, render_options(stream, to_file))
    if report_to_stderr:
        click.echo(text, nl=False, err=True)
    else:
        write_output(text, out.path)
    return int(status)
