"""``ipaudit audit``, ``config example|check``, ``history`` and ``ack``: the cron job and its memory."""

from __future__ import annotations

import time

import click

from ipaudit.cli.options import Seconds
from ipaudit.cli.output import configure_diagnostics
from ipaudit.errors import IpauditError
from ipaudit.exitstatus import ExitStatus

config_option = click.option("--config", "config_path", metavar="FILE",
                             help="The config [default: $IPAUDIT_CONFIG, /etc/ipaudit/ipaudit.toml, "
                                  "~/.config/ipaudit/ipaudit.toml].")
format_option = click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table",
                             show_default=True, help="Output format.")


@click.command("audit")
@config_option
@click.option("--wait", type=Seconds(0, 86_400), default=0, metavar="SECONDS",
              help="Wait this long for a run already in progress, instead of exiting 3 at once.")
@format_option
@click.option("-q", "--quiet", is_flag=True, help="No warnings on stderr.")
def audit_command(config_path: str | None, wait: float, output_format: str, quiet: bool) -> int:
    """Scan every [[lan]] of the config, alert once per change, and remember it (for cron or a timer).

    Prints nothing when nothing changed. Exit status: that of the open conflicts (0 ok, 1 warning,
    2 critical), 3 when a LAN could not be audited.

    \b
    Examples:
      sudo ipaudit audit --config /etc/ipaudit/ipaudit.toml
      */5 * * * * root ipaudit audit --wait 60
      sudo ipaudit audit --format json
    """
    from ipaudit.audit.config import load_config
    from ipaudit.audit.render import audit_json, audit_text
    from ipaudit.audit.run import run_audit

    configure_diagnostics(quiet)
    config = load_config(config_path)
    result = run_audit(config, wait)
    text = audit_json(result) if output_format == "json" else audit_text(result)
    click.echo(text, nl=False)
    return int(result.status)


@click.group("config")
def config_group() -> None:
    """Write and check ipaudit.toml.

    \b
    Examples:
      ipaudit config example > /etc/ipaudit/ipaudit.toml
      ipaudit config check /etc/ipaudit/ipaudit.toml
    """


@config_group.command("example")
def config_example() -> int:
    """Print a commented example config."""
    from ipaudit.audit.example import EXAMPLE

    click.echo(EXAMPLE, nl=False)
    return 0


@config_group.command("check")
@click.argument("file", required=False)
@config_option
def config_check(file: str | None, config_path: str | None) -> int:
    """Check a config: an unknown key, a wrong type or a bad address exits 3 naming the key and its line."""
    from ipaudit.audit.config import load_config

    configure_diagnostics(False)
    config = load_config(file or config_path)
    click.echo(f"{config.path}: ok ({len(config.lans)} LAN{'s' if len(config.lans) != 1 else ''})", err=True)
    return 0


@click.command("history")
@config_option
@click.option("--since", default="7d", show_default=True, metavar="DURATION", help="How far back (30m, 24h, 7d).")
@click.option("--ip", metavar="IP", help="Only events about this address.")
@format_option
def history_command(config_path: str | None, since: str, ip: str | None, output_format: str) -> int:
    """List recorded events: new stations, changed MACs, DHCP servers, conflicts started and resolved.

    \b
    Examples:
      ipaudit history --since 24h
      ipaudit history --ip 192.168.1.240 --format json
    """
    from ipaudit.addresses import parse_ip
    from ipaudit.audit.config import load_config, parse_duration
    from ipaudit.audit.render import history_json, history_text
    from ipaudit.audit.state import open_state
    from ipaudit.audit.store import events_since

    configure_diagnostics(False)
    try:
        seconds = parse_duration(since)
    except ValueError as problem:
        raise IpauditError(f"--since: {problem}") from None
    address = str(parse_ip(ip)) if ip else None
    config = load_config(config_path)
    db = open_state(config.state_dir)
    try:
        rows = events_since(db, time.time() - seconds, address)
    finally:
        db.close()
    click.echo(history_json(rows) if output_format == "json" else history_text(rows), nl=False)
    return 0


@click.command("ack")
@click.argument("code")
@click.argument("address")
@config_option
def ack_command(code: str, address: str, config_path: str | None) -> int:
    """Silence one open conflict (no reminders, ended in Alertmanager) until it changes.

    \b
    Example:
      ipaudit ack duplicate-ip 192.168.1.50
    """
    from ipaudit.audit import store
    from ipaudit.audit.config import load_config
    from ipaudit.audit.state import open_state, run_lock, transaction

    configure_diagnostics(False)
    config = load_config(config_path)
    with run_lock(config.state_dir, wait=30):
        db = open_state(config.state_dir)
        try:
            with transaction(db):
                rows = store.ack(db, code, address)
        finally:
            db.close()
    if not rows:
        raise IpauditError(f"no open conflict {code} at {address}", hint="see ipaudit audit --format json")
    click.echo(f"acknowledged {code} at {address} on {', '.join(sorted({r['lan'] for r in rows}))}", err=True)
    return int(ExitStatus.OK)


COMMANDS = [audit_command, config_group, history_command, ack_command]
