"""The ``ipaudit scan`` command: options in, one engine call, report out."""

from __future__ import annotations

import json
import sys

import click

from ipaudit.cli.options import Output, Rate, Seconds, interface_option, output_options
from ipaudit.cli.output import ReservedOutput, configure_diagnostics, deliver, note
from ipaudit.errors import IpauditError
from ipaudit.sanitize import one_line
from ipaudit.report.interface import OutputFormat, ScanReport
from ipaudit.report.json_report import unknown_scan_dict
from ipaudit.report.registry import formats_for
from ipaudit.scan.engine import WIDEST_SUBNET, ScanRequest, allowed_servers, run_scan, self_vip_addresses

PROGRESS_WIDTH = 30


class _ProgressBar:
    """One self-overwriting line on stderr; only built when stderr is a terminal."""

    def __init__(self, stream):
        self.stream = stream

    def __call__(self, sent: int, planned: int, answered: int) -> None:
        share = min(1.0, sent / planned) if planned else 1.0
        filled = int(share * PROGRESS_WIDTH)
        self.stream.write(f"\rARP [{'#' * filled}{'.' * (PROGRESS_WIDTH - filled)}] "
                          f"{sent}/{planned} asked, {answered} answered ")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\r" + " " * (PROGRESS_WIDTH + 48) + "\r")
        self.stream.flush()


@click.command("scan")
@interface_option
@click.option("--subnet", metavar="CIDR",
              help="Subnet to sweep, asked from the interface's address in it [default: every IPv4 subnet "
                   "of the interface, each from its own address].")
@click.option("--force", is_flag=True, help=f"Allow a --subnet wider than /{WIDEST_SUBNET}.")
@click.option("--rate", type=Rate(1, 1_000_000), default=500, show_default=True,
              metavar="PPS", help="ARP requests per second (500 is arp-scan's polite default).")
@click.option("--retries", type=click.IntRange(0, 20), default=1, show_default=True, metavar="N",
              help="Extra requests to each address that has not answered.")
@click.option("--confirm", type=click.IntRange(0, 20), default=5, show_default=True, metavar="N",
              help="Extra requests to each address that answered, so a second device holding it that "
                   "missed a request (Wi-Fi) is found too.")
@click.option("--timeout", type=Seconds(0, 60), default=0.5, show_default=True, metavar="S",
              help="Seconds between retry rounds; after the last request the scan waits this times 1.5 "
                   "per retry, as arp-scan does.")
@click.option("--dhcp-timeout", type=Seconds(0.5, 120), default=6.0, show_default=True, metavar="S",
              help="How long to listen for DHCP offers (dnsmasq answers after ~3 s).")
@click.option("--no-dhcp", is_flag=True, help="Skip DHCP discovery.")
@click.option("--no-arp", is_flag=True, help="Skip the ARP sweep.")
@click.option("--passive", type=Seconds(0.1, 86_400), metavar="SECONDS",
              help="Send nothing: listen to ARP and DHCP traffic for SECONDS and report what it shows. "
                   "On a switch, DHCP replies unicast to other clients reach only a mirror port.")
@click.option("--dhcp-source", "dhcp_sources", metavar="URI", multiple=True,
              help="Name hosts from a DHCP server's leases and reservations, e.g. dnsmasq:/etc/dnsmasq.conf "
                   "(repeatable; see 'ipaudit sources').")
@click.option("--pcap", metavar="FILE",
              help="Audit a capture taken elsewhere (tcpdump -w, pcap or pcapng) instead of the wire: the same "
                   "hosts, duplicates and DHCP servers, no root needed.")
@click.option("--client-mac", metavar="MAC",
              help="MAC to send the DHCP DISCOVER from [default: a fixed locally administered one "
                   "derived from the interface].")
@click.option("--allowed-dhcp", metavar="IP|MAC[,...]", multiple=True,
              help="DHCP servers that are allowed, by IP or MAC (repeatable). Any other is an "
                   "unauthorized-dhcp-server; an offer copying an allowed id from another MAC or IP is "
                   "dhcp-server-spoofed; several servers, all allowed (an HA pair), are only info.")
@click.option("--self-vip", "self_vip", metavar="IP[,IP]", multiple=True,
              help="A VIP this host announces from userspace (MetalLB speaker, kube-vip ARP mode; repeatable): "
                   "probed as this host's, and any other MAC answering it is an ip-conflict-with-self.")
@output_options(formats_for(ScanReport), quiet_help="Print nothing when the LAN is clean, and no notes (for cron).")
def scan_command(interface: str | None, subnet: str | None, force: bool, rate: float, retries: int,
                 confirm: int, timeout: float, dhcp_timeout: float, no_dhcp: bool, no_arp: bool, passive: float | None,
                 dhcp_sources: tuple[str, ...], pcap: str | None, client_mac: str | None,
                 allowed_dhcp: tuple[str, ...], self_vip: tuple[str, ...], out: Output) -> int:
    """See the LAN: who answers ARP in the subnet, which DHCP servers answer, and what conflicts.

    Needs root or CAP_NET_RAW (not with --pcap). Exit status: 2 critical finding (duplicate IP, a
    second or unauthorized DHCP server), 1 warning, 0 clean, 3 could not scan.

    \b
    Examples:
      sudo ipaudit scan -i eth0
      sudo ipaudit scan -i eth0 --allowed-dhcp 192.168.1.1 --format json -o scan.json
      sudo ipaudit scan -i eth0 --subnet 192.168.1.0/24 --rate 5000 --retries 3 --no-dhcp
      sudo ipaudit scan -i eth0 --passive 60
      sudo ipaudit scan -i eth0 --self-vip 192.168.1.240 --self-vip 192.168.1.241
      ipaudit scan --pcap router-lan.pcap --allowed-dhcp 192.168.1.1
      sudo ipaudit scan -i eth0 --dhcp-source dnsmasq:/etc/dnsmasq.conf
      ipaudit check-pool 192.168.1.240-245 --inventory scan.json
    """
    configure_diagnostics(out.quiet)
    request = ScanRequest(interface=interface, subnet=subnet, force=force, rate=rate, retries=retries, confirm=confirm,
                          timeout=timeout, dhcp_timeout=dhcp_timeout, dhcp=not no_dhcp, arp=not no_arp,
                          passive=passive, client_mac=client_mac, allowed_dhcp=allowed_servers(allowed_dhcp),
                          pcap=pcap, self_vips=self_vip_addresses(self_vip), dhcp_sources=dhcp_sources)
    # The scan keeps only CAP_NET_RAW once its sockets are open: claim -o FILE while we still may.
    reserved = ReservedOutput(out.path, unknown_report(out.format, "scan in progress")) \
        if out.path not in (None, "-") and pcap is None else None
    live = passive is None and pcap is None
    progress = _ProgressBar(sys.stderr) if sys.stderr.isatty() and not out.quiet and live else None
    try:
        report = run_scan(request, progress)
    except IpauditError as problem:
        if reserved is not None:
            reserved.write(unknown_report(out.format, problem.one_line()))
        raise
    finally:
        if progress is not None:
            progress.close()
    if OutputFormat(out.format) is OutputFormat.JSON and report.summary:
        note(report.summary)
    return deliver(report, out, report.status, reserved=reserved)


def unknown_report(output_format: str, error: str) -> str:
    """What ``-o FILE`` holds while the scan runs, and after it failed: status UNKNOWN and why."""
    if OutputFormat(output_format) is OutputFormat.JSON:
        return json.dumps(unknown_scan_dict(error), indent=2) + "\n"
    return f"error: {one_line(error)}\n\nstatus: UNKNOWN\n"


COMMANDS = [scan_command]
