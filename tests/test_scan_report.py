"""The scan command's offline parts: the human report, the progress bar and refusals before any socket."""

from __future__ import annotations

import io

from netaddr import IPAddress, IPNetwork

from ipaudit.cli.scan import _ProgressBar
from ipaudit.inventory import inventory_from_dict, inventory_to_dict
from ipaudit.exitstatus import ExitStatus
from ipaudit.model import DhcpServer, Inventory
from ipaudit.report.interface import RenderOptions, ScanReport
from ipaudit.report.scan_table import render_scan_table
from ipaudit.scan.arp_findings import ArpObservation, arp_findings, hosts_from_observations

OBSERVED = [ArpObservation("198.51.100.20", "02:1a:00:00:00:0a"), ArpObservation("198.51.100.20", "02:1a:00:00:00:0b"),
            ArpObservation("198.51.100.1", "00:1a:2b:00:00:01")]
SERVER = DhcpServer(server_id=IPAddress("198.51.100.1"), mac="00:1a:2b:00:00:01",
                    offered_ip=IPAddress("198.51.100.77"), subnet_mask=IPAddress("255.255.255.0"),
                    router=IPAddress("198.51.100.1"), dns=(IPAddress("198.51.100.53"),), lease_time=3600)
INVENTORY = Inventory(hosts=hosts_from_observations(OBSERVED), dhcp_servers=(SERVER,), interface="eth0",
                      subnet=IPNetwork("198.51.100.0/24"), findings=tuple(arp_findings(OBSERVED)))


def test_table_shows_hosts_with_every_mac_rtt_vendor_servers_findings_and_verdict():
    report = ScanReport(INVENTORY, ExitStatus.CRITICAL, summary="swept 198.51.100.0/24",
                        rtts=(("198.51.100.1", 0.00042),), own_ip="198.51.100.20")
    text = render_scan_table(report)
    assert text.startswith("swept 198.51.100.0/24\n")
    assert "02:1a:00:00:00:0a" in text and "02:1a:00:00:00:0b" in text
    assert "Ayecom Technology" in text and "0.42" in text and "this scanner" in text
    assert "198.51.100.77" in text and "198.51.100.0/24" in text and "3600" in text
    assert "duplicate-ip" in text and text.rstrip().endswith("status: CRITICAL")


def test_clean_empty_scan_says_ok():
    assert render_scan_table(ScanReport(Inventory(), ExitStatus.OK)).strip() == "status: OK"


def test_scan_table_fits_80_columns_and_colours_only_when_asked():
    report = ScanReport(INVENTORY, ExitStatus.CRITICAL, summary="swept 198.51.100.0/24")
    plain = render_scan_table(report, RenderOptions(width=80))
    assert max(len(line) for line in plain.splitlines()) <= 80
    assert "\x1b" not in plain
    coloured = render_scan_table(report, RenderOptions(width=80, color=True))
    assert "\x1b[1;31mCRITICAL\x1b[0m" in coloured


def test_scan_inventory_survives_the_json_round_trip():
    again = inventory_from_dict(inventory_to_dict(INVENTORY))
    assert again.hosts == INVENTORY.hosts and again.dhcp_servers == INVENTORY.dhcp_servers
    assert again.findings == INVENTORY.findings


def test_progress_bar_overwrites_one_line_and_clears_it():
    stream = io.StringIO()
    bar = _ProgressBar(stream)
    bar(127, 254, 3)
    bar(254, 254, 5)
    bar.close()
    written = stream.getvalue()
    assert "\n" not in written and "127/254 asked, 3 answered" in written and "#" * 30 in written
    assert written.endswith("\r")


def test_unknown_interface_is_refused_before_any_socket(run_cli):
    result = run_cli("scan", "-i", "ipaudit-no-such-if0", "--no-dhcp")
    assert result.exit_code == 3 and result.stdout == ""
    assert result.stderr.startswith("ipaudit: error: no interface named 'ipaudit-no-such-if0': interfaces here:")


def test_bad_allowed_dhcp_and_bad_subnet_are_usage_errors(run_cli):
    bad_ip = run_cli("scan", "-i", "lo", "--allowed-dhcp", "198.51.100.1,nope")
    bad_subnet = run_cli("scan", "-i", "lo", "--subnet", "198.51.100.0")
    assert bad_ip.exit_code == bad_subnet.exit_code == 3
    assert "nope" in bad_ip.stderr and "prefix length" in bad_subnet.stderr


def test_help_shows_real_examples(run_cli):
    result = run_cli("scan", "--help")
    assert result.exit_code == 0 and "sudo ipaudit scan -i eth0 --passive 60" in result.stdout
