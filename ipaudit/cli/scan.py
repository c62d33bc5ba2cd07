"""The ``ipaudit scan`` command: ARP-sweep a subnet and look for DHCP servers, or just listen."""

from __future__ import annotations

import sys

import click
from netaddr import IPNetwork

from ipaudit.addresses import parse_ip, parse_network
from ipaudit.cli.options import note, output_options, write_output
from ipaudit.errors import IpauditError
from ipaudit.report.interface import OutputFormat

WIDEST_SUBNET = 16  # a /16 at the default 500 pps already takes over four minutes
PROGRESS_WIDTH = 30


def _allowed_servers(text: str | None) -> tuple[str, ...] | None:
    if not text:
        return None
    return tuple(str(parse_ip(part)) for part in text.split(",") if part.strip())


def _subnet(interface: str, subnet_text: str | None, force: bool) -> IPNetwork:
    from ipaudit.scan.interfaces import interface_info

    subnet = parse_network(subnet_text) if subnet_text else interface_info(interface).subnet
    if subnet.version != 4:
        raise IpauditError(f"subnet {subnet} is not IPv4: ARP only exists on IPv4")
    if subnet.prefixlen < WIDEST_SUBNET and not force:
        origin = "--subnet" if subnet_text else f"the network of {interface}"
        raise IpauditError(f"{origin} {subnet} is wider than /{WIDEST_SUBNET} ({subnet.size} addresses)",
                           f"pass a narrower --subnet, or --force to sweep it anyway")
    return subnet


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
@click.option("-i", "--interface", metavar="IFACE", help="Interface to scan on [default: that of the default route].")
@click.option("--subnet", metavar="CIDR", help="Subnet to sweep [default: the interface's IPv4 network].")
@click.option("--force", is_flag=True, help=f"Allow a --subnet wider than /{WIDEST_SUBNET}.")
@click.option("--rate", type=click.FloatRange(min=1, max=1_000_000), default=500, show_default=True,
              metavar="PPS", help="ARP requests per second (500 is arp-scan's polite default).")
@click.option("--retries", type=click.IntRange(0, 20), default=1, show_default=True, metavar="N",
              help="Extra requests to each address that has not answered.")
@click.option("--timeout", type=click.FloatRange(0, 60), default=0.5, show_default=True, metavar="S",
              help="Seconds to wait for late replies, and between retry rounds.")
@click.option("--dhcp-timeout", type=click.FloatRange(0.5, 120), default=6.0, show_default=True, metavar="S",
              help="How long to listen for DHCP offers (dnsmasq answers after ~3 s).")
@click.option("--no-dhcp", is_flag=True, help="Skip DHCP discovery.")
@click.option("--no-arp", is_flag=True, help="Skip the ARP sweep.")
@click.option("--passive", type=click.FloatRange(min=0.1), metavar="SECONDS",
              help="Send nothing: listen to ARP and DHCP traffic for SECONDS and report what it shows. "
                   "On a switch, DHCP replies unicast to other clients reach only a mirror port.")
@click.option("--client-mac", metavar="MAC",
              help="MAC to send the DHCP DISCOVER from [default: a fixed locally administered one "
                   "derived from the interface].")
@click.option("--allowed-dhcp", metavar="IP[,IP]",
              help="DHCP servers that are allowed; any other is an unauthorized-dhcp-server.")
@output_options
def scan_command(interface: str | None, subnet: str | None, force: bool, rate: float, retries: int,
                 timeout: float, dhcp_timeout: float, no_dhcp: bool, no_arp: bool, passive: float | None,
                 client_mac: str | None, allowed_dhcp: str | None, output_format: str, output: str | None) -> int:
    """See the LAN: who answers ARP in the subnet, which DHCP servers answer, and what conflicts.

    Needs root or CAP_NET_RAW. Exit status: 2 critical finding (duplicate IP, a
    second or unauthorized DHCP server), 1 warning, 0 clean, 3 could not scan.

    \b
    Examples:
      sudo ipaudit scan -i eth0
      sudo ipaudit scan -i eth0 --allowed-dhcp 192.168.1.1 --format json -o scan.json
      sudo ipaudit scan -i eth0 --subnet 192.168.1.0/24 --rate 5000 --retries 3 --no-dhcp
      sudo ipaudit scan -i eth0 --passive 60
      ipaudit check-pool 192.168.1.240-245 --inventory scan.json
    """
    from ipaudit.inventory import inventory_to_json
    from ipaudit.plan.status import status_of
    from ipaudit.report.scan_table import render_scan_table
    from ipaudit.scan.interfaces import default_route_interface

    interface = interface or default_route_interface()
    allowed = _allowed_servers(allowed_dhcp)
    rtts, summary, own_ip = {}, None, None
    if passive is not None:
        from ipaudit.scan.passive import listen

        inventory = listen(interface, passive, allowed)
        summary = f"listened on {interface} for {passive:g} s, sent nothing"
    else:
        from ipaudit.scan.live import DhcpSettings, SweepSettings, scan_lan

        network = _subnet(interface, subnet, force)
        arp = None if no_arp else SweepSettings(rate=rate, retries=retries, timeout=timeout)
        dhcp = None if no_dhcp else DhcpSettings(timeout=dhcp_timeout, client_mac=client_mac, allowed=allowed)
        progress = _ProgressBar(sys.stderr) if sys.stderr.isatty() and arp is not None else None
        try:
            result = scan_lan(interface, network, arp=arp, dhcp=dhcp, progress=progress)
        finally:
            if progress is not None:
                progress.close()
        inventory = result.inventory
        if result.sweep is not None:
            rtts, own_ip = result.sweep.first_rtt(), result.sweep.own_ip
            summary = (f"swept {network} on {interface} in {result.sweep.seconds:g} s: "
                       f"{len(inventory.hosts)} of {result.sweep.targets} addresses answered "
                       f"({result.sweep.requests_sent} requests)")
    if OutputFormat(output_format) is OutputFormat.JSON:
        if summary:
            note(summary)
        write_output(inventory_to_json(inventory), output)
    else:
        write_output(render_scan_table(inventory, rtts, summary, own_ip), output)
    return int(status_of(inventory.findings))


COMMANDS = [scan_command]
