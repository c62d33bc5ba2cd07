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


def _temporary_beside(path: str) -> tuple[int, str]:
    import tempfile  # only -o needs it

    directory = os.path.dirname(os.path.abspath(path))
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            raise IpauditError(f"cannot write {path}: it is a directory")
        handle, temporary = tempfile.mkstemp(prefix=".ipaudit-", dir=directory)
    except OSError as problem:
        raise IpauditError(f"cannot write {path}: {problem.strerror}") from None
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(handle, 0o666 & ~umask)
    return handle, temporary


class ReservedOutput:
    """``-o FILE`` claimed before the scan drops its privileges, and filled in afterwards.

    Without CAP_DAC_OVERRIDE, root can no longer create or rename files in a directory it
    does not own (``sudo ipaudit scan -o scan.json`` in a user's home), so the file is
    put in place now, atomically, holding ``placeholder`` (an UNKNOWN report): a stale
    previous report never survives as if it were current. ``write`` then replaces the
    content through the open descriptor.
    """

    def __init__(self, path: str, placeholder: str):
        self.path = path
        handle, temporary = _temporary_beside(path)
        try:
            os.write(handle, placeholder.encode())
            os.replace(temporary, path)
        except OSError as problem:
            os.close(handle)
            os.unlink(temporary)
            raise IpauditError(f"cannot write {path}: {problem.strerror}") from None
        self.handle = handle

    def write(self, text: str) -> None:
        data = text.encode()
        try:
            os.ftruncate(self.handle, 0)
            os.pwrite(self.handle, data, 0)
        except OSError as problem:
            raise IpauditError(f"cannot write {self.path}: {problem.strerror}") from None
        finally:
            os.close(self.handle)


def write_output(text: str, path: str | None | ReservedOutput) -> None:
    """Text to stdout, or to ``path`` through a new temporary file renamed over it.

    The rename replaces whatever ``path`` was, a symlink included, without following it, so
    root never writes through a link into a file it did not create, and a reader never sees
    half a report.
    """
    if isinstance(path, ReservedOutput):
        path.write(text)
        return
    if path is None or path == "-":
        click.echo(text, nl=False)
        return
    handle, temporary = _temporary_beside(path)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except OSError as problem:
        os.unlink(temporary)
        raise IpauditError(f"cannot write {path}: {problem.strerror}") from None


def deliver(report: Report, out: Output, status: ExitStatus, *, report_to_stderr: bool = False,
            reserved: ReservedOutput | None = None) -> int:
    """Render ``report`` as ``out`` asks and return the exit status.

    A quiet table run with nothing wrong prints nothing, so cron mails only on trouble;
    JSON always prints. ``report_to_stderr``: stdout holds a manifest, the report goes beside it.
    """
    output_format = OutputFormat(out.format)
    if out.quiet and status is ExitStatus.OK and output_format is OutputFormat.TABLE and reserved is None:
        return int(status)
    stream = sys.stderr if report_to_stderr else sys.stdout
    to_file = out.path is not None and not report_to_stderr
    text = render(report, output_format, render_options(stream, to_file))
    if report_to_stderr:
        click.echo(text, nl=False, err=True)
    else:
        write_output(text, reserved or out.path)
    return int(status)
