"""The shell around the program: one click group, and the one place errors become exit statuses.

``program`` (the click group) does the work; ``IpauditGroup.main`` maps every
failure to a one-line message on stderr and exit status 3 (UNKNOWN), including
click's own usage errors, which click would otherwise exit with 2 (CRITICAL).
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from ipaudit import __version__
from ipaudit.errors import IpauditError
from ipaudit.exitstatus import ExitStatus
from ipaudit.sanitize import one_line

INTERRUPTED = 130


def _error_line(text: str) -> str:
    # Error text can quote the outside world (a manifest name, a router's error body): sanitise it.
    return "ipaudit: error: " + one_line(text)


# Each command lives in its own module, imported only when that command runs, so
# `ipaudit check-pool` never pays for the scanner and `ipaudit scan` never for the planner.
COMMAND_MODULES = {
    "check-pool": "check_pool",
    "recommend": "check_pool",
    "scan": "scan",
    "demo": "demo",
    "sources": "sources",
    "audit": "audit",
    "config": "audit",
    "history": "audit",
    "ack": "audit",
}


def _one_value_options(command: click.Command) -> click.Command:
    """Every one-value option of ``command`` (and of its subcommands) refuses a second, different value."""
    from ipaudit.cli.options import refuse_repeats

    refuse_repeats(command)
    for sub in getattr(command, "commands", {}).values():
        _one_value_options(sub)
    return command


class IpauditGroup(click.Group):
    """A click group whose failures are one line on stderr and exit status 3."""

    def parse_args(self, ctx, args):
        if not args:
            # Bare `ipaudit`: the usage and command list, and success (click would call it a usage error).
            click.echo(ctx.get_help())
            ctx.exit(0)
        return super().parse_args(ctx, args)

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(COMMAND_MODULES))

    def get_command(self, ctx, name):
        if name in COMMAND_MODULES and name not in self.commands:
            module = importlib.import_module(f"ipaudit.cli.{COMMAND_MODULES[name]}")
            for command in module.COMMANDS:
                self.add_command(_one_value_options(command))
        return super().get_command(ctx, name)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            code = super().main(args=args, prog_name=prog_name or "ipaudit", complete_var=complete_var,
                                standalone_mode=False, **extra)
        except click.exceptions.Exit as done:
            code = done.exit_code
        except click.ClickException as problem:
            click.echo(_error_line(problem.format_message()), err=True)
            code = ExitStatus.UNKNOWN
        except IpauditError as problem:
            click.echo(_error_line(problem.one_line()), err=True)
            code = ExitStatus.UNKNOWN
        except (click.exceptions.Abort, KeyboardInterrupt):
            click.echo("ipaudit: interrupted", err=True)
            code = INTERRUPTED
        except BrokenPipeError:
            # `ipaudit ... | head`: the reader left; nothing more to say.
            sys.stderr.close()
            code = ExitStatus.UNKNOWN
        except Exception as bug:  # noqa: BLE001 - a traceback shown to a user is a bug
            if os.environ.get("IPAUDIT_DEBUG"):
                raise
            click.echo(_error_line(f"internal error: {type(bug).__name__}: {bug} "
                                   "(set IPAUDIT_DEBUG=1 for a traceback)"), err=True)
            code = ExitStatus.UNKNOWN
        code = int(code or 0)
        if standalone_mode:
            sys.exit(code)
        return code


@click.group(cls=IpauditGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ipaudit")
def program() -> None:
    """Find IP-address and DHCP conflicts before they bite a MetalLB, Cilium or kube-vip pool.

    \b
    Examples:
      ipaudit check-pool 192.168.1.240-245 --dhcp-range 192.168.1.2-192.168.1.120
      ipaudit recommend --subnet 192.168.1.0/24 --dhcp-range 192.168.1.2-192.168.1.120 --size 6 --emit metallb
      sudo ipaudit scan -i eth0

    \b
    Shell completion (bash; zsh and fish likewise):
      eval "$(_IPAUDIT_COMPLETE=bash_source ipaudit)"
    """


def main() -> None:
    program.main()
