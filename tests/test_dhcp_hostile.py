"""The DHCP verdicts on hostile LANs, pure: allow lists, forged ids, a server cap, local listeners,
garbage fields through --pcap, and the cron-ready scan JSON. The wire versions are in
test_dhcp_hostile_netns.py."""

from __future__ import annotations

import json

from netaddr import IPAddress
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from ipaudit.cli.scan import unknown_report
from ipaudit.exitstatus import ExitStatus
from ipaudit.model import DhcpServer, Inventory, Severity
from ipaudit.report.interface import ScanReport
from ipaudit.report.json_report import scan_to_dict
from ipaudit.scan.dhcp_findings import dhcp_findings
from ipaudit.scan.dhcp_packets import reply_from_packet
from ipaudit.scan.dhcp_servers import MAX_SERVERS, AllowedDhcp, ServerBook
from ipaudit.scan.local_dhcp import local_dhcp_findings, LocalListener, parse_proc_udp

REAL, PEER, ROGUE = "198.51.100.1", "198.51.100.2", "198.51.100.66"
REAL_MAC, PEER_MAC, ROGUE_MAC = "02:1a:00:00:00:01", "02:1a:00:00:00:02", "02:1a:00:00:00:66"


def server(server_id, mac, source=None, offered="198.51.100.50", relay=None, router=None):
    ip = lambda text: None if text is None else IPAddress(text)  # noqa: E731
    return DhcpServer(server_id=ip(server_id), mac=mac, source_ip=ip(source or server_id), offered_ip=ip(offered),
                      relay=ip(relay), router=ip(router))


def verdict(servers, allowed=None):
    return sorted((f.code, f.severity.value) for f in dhcp_findings(servers, allowed))


def test_an_ha_pair_both_allowed_is_info_by_ip_or_by_mac():
    pair = [server(REAL, REAL_MAC), server(PEER, PEER_MAC)]
    assert verdict(pair, [REAL, PEER]) == [("multiple-dhcp-servers", "info")]
    assert verdict(pair, [REAL_MAC, PEER]) == [("multiple-dhcp-servers", "info")]
    assert verdict(pair) == [("multiple-dhcp-servers", "critical")]  # no allow list: nothing is known good
    assert verdict(pair, [REAL]) == [("multiple-dhcp-servers", "critical"), ("unauthorized-dhcp-server", "critical")]


def test_an_offer_copying_an_allowed_id_from_another_mac_or_ip_is_spoofed():
    real, rogue = server(REAL, REAL_MAC), server(REAL, ROGUE_MAC, source=ROGUE, router=ROGUE)
    findings = dhcp_findings([real, rogue], [REAL])
    assert sorted(f.code for f in findings) == ["dhcp-server-spoofed", "multiple-dhcp-servers"]
    spoofed = next(f for f in findings if f.code == "dhcp-server-spoofed")
    assert spoofed.key == f"dhcp-server-spoofed|{REAL}|{ROGUE_MAC}|{ROGUE}"
    assert spoofed.severity is Severity.CRITICAL and f"router {ROGUE}" in spoofed.message
    # Alone, before the real server answered, it is still a forgery of the allowed id.
    assert verdict([rogue], [REAL]) == [("dhcp-server-spoofed", "critical")]
    # The same IP from another MAC, where the allow list names the real MAC.
    same_ip = server(REAL, ROGUE_MAC)
    assert "dhcp-server-spoofed" in {c for c, _ in verdict([real, same_ip], [REAL_MAC])}
    # Without a list, two senders claiming one id give each other away.
    assert ("dhcp-server-spoofed", "critical") in verdict([real, same_ip])


def test_a_relayed_offer_is_the_same_server_not_a_forgery():
    direct = server(REAL, REAL_MAC)
    relayed = server(REAL, "02:1a:00:00:00:fe", source="203.0.113.1", relay="203.0.113.1")
    assert verdict([direct, relayed], [REAL]) == []


def test_the_server_cap_counts_the_flood_and_keeps_the_allowed_server():
    book = ServerBook(allowed=AllowedDhcp.from_texts([REAL]))
    for n in range(10_000):
        book.add(server(str(IPAddress("198.18.0.0") + n), ROGUE_MAC))
    book.add(server(REAL, REAL_MAC))  # the real server answers last
    assert len(book.heard) == MAX_SERVERS + 1 and book.heard[-1].server_id == IPAddress(REAL)
    assert (book.replies, book.dropped) == (10_001, 10_000 - MAX_SERVERS)
    (multiple, *_) = dhcp_findings(book, book.allowed)
    assert multiple.severity is Severity.CRITICAL and f"and {10_000 - MAX_SERVERS} more offer(s)" in multiple.message


def test_option_54_given_twice_names_the_copied_id():
    frame = (Ether(src=ROGUE_MAC) / IP(src=ROGUE, dst="255.255.255.255") / UDP(sport=67, dport=68)
             / BOOTP(op=2, xid=1, yiaddr="198.51.100.111")
             / DHCP(options=[("message-type", "offer"), ("server_id", ROGUE), ("server_id", REAL), "end"]))
    reply = reply_from_packet(frame)
    assert reply.server.server_id == IPAddress(REAL) and reply.server.source_ip == IPAddress(ROGUE)
    assert reply.problems == (f"option 54 (server id) names 2 servers: {ROGUE}, {REAL}",)


PROC_UDP = """\
   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  101: 00000000:0043 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 0
  102: 0264330A:0043 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4343 2 0000000000000000 0
  103: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4444 2 0000000000000000 0
  104: 0100007F:0043 0100007F:0035 01 00000000:00000000 00:00000000 00000000     0        0 4545 2 0000000000000000 0
"""


def test_udp_67_listeners_are_read_from_the_kernel_table():
    assert parse_proc_udp(PROC_UDP) == [(IPAddress("0.0.0.0"), 4242), (IPAddress("10.51.100.2"), 4343)]
    listeners = [LocalListener(IPAddress("0.0.0.0"), 4242, "dnsmasq (pid 7)")]
    (found,) = local_dhcp_findings(listeners, [IPAddress("198.51.100.250")])
    assert found.code == "dhcp-server-on-this-host" and found.severity is Severity.WARNING
    assert "dnsmasq (pid 7)" in found.message and found.key == "dhcp-server-on-this-host|udp|0.0.0.0:67"
    (allowed,) = local_dhcp_findings(listeners, [IPAddress("198.51.100.250")], AllowedDhcp.from_texts(["198.51.100.250"]))
    assert allowed.severity is Severity.INFO


def test_a_garbage_mask_through_pcap_keeps_the_report_and_the_inventory_reads(run_cli, tmp_path):
    offer = (Ether(src=REAL_MAC, dst="ff:ff:ff:ff:ff:ff") / IP(src=REAL, dst="255.255.255.255") / UDP(sport=67, dport=68)
             / BOOTP(op=2, xid=9, yiaddr="198.51.100.77")
             / DHCP(options=[("message-type", "offer"), ("server_id", REAL), ("subnet_mask", "255.0.255.0"),
                             ("router", REAL), "end"]))
    rogue = (Ether(src=ROGUE_MAC, dst="ff:ff:ff:ff:ff:ff") / IP(src=ROGUE, dst="255.255.255.255")
             / UDP(sport=67, dport=68) / BOOTP(op=2, xid=9, yiaddr="198.51.100.111")
             / DHCP(options=[("message-type", "offer"), ("server_id", ROGUE), "end"]))
    wrpcap(str(tmp_path / "lan.pcap"), [offer, rogue])
    done = run_cli("scan", "--pcap", str(tmp_path / "lan.pcap"), "--allowed-dhcp", REAL, "--format", "json",
                   "-o", str(tmp_path / "scan.json"))
    assert done.exit_code == 2, done.output
    report = json.loads((tmp_path / "scan.json").read_text())
    assert sorted(f["code"] for f in report["findings"]) == ["dhcp-packet-malformed", "multiple-dhcp-servers",
                                                             "unauthorized-dhcp-server"]
    assert [(s["server_id"], s["subnet_mask"]) for s in report["dhcp_servers"]] == [(REAL, None), (ROGUE, None)]
    check = run_cli("check-pool", "198.51.100.240-198.51.100.245", "--inventory", str(tmp_path / "scan.json"))
    assert check.exit_code in (0, 1) and "Traceback" not in check.output, check.output


def test_the_unknown_report_has_the_keys_of_a_real_one():
    real = scan_to_dict(ScanReport(inventory=Inventory(), status=ExitStatus.OK))
    failed = json.loads(unknown_report("json", "interface eth9 vanished"))
    assert set(failed) == set(real) | {"error"}
    assert (failed["status"], failed["exit_code"], failed["counts"]) == ("unknown", 3,
                                                                         {"critical": 0, "warning": 0, "info": 0})


def test_scan_json_is_sorted_by_value_not_arrival():
    from ipaudit.model import Host

    hosts = (Host(IPAddress("198.51.100.10"), ("02:00:00:00:00:02", "02:00:00:00:00:01")),
             Host(IPAddress("198.51.100.9"), ("02:00:00:00:00:03",), hostname="nas"))
    servers = (server(PEER, PEER_MAC), server(REAL, REAL_MAC))
    findings = tuple(dhcp_findings(servers))
    one = scan_to_dict(ScanReport(inventory=Inventory(hosts=hosts, dhcp_servers=servers, findings=findings),
                                  status=ExitStatus.CRITICAL))
    other = scan_to_dict(ScanReport(inventory=Inventory(hosts=hosts[::-1], dhcp_servers=servers[::-1],
                                                        findings=findings[::-1]), status=ExitStatus.CRITICAL))
    one.pop("generated_at"), other.pop("generated_at")
    assert one == other
    assert [h["ip"] for h in one["hosts"]] == ["198.51.100.9", "198.51.100.10"]
    assert one["hosts"][0]["hostname"] == "nas" and "hostname" not in one["hosts"][1]
    assert [s["server_id"] for s in one["dhcp_servers"]] == [REAL, PEER]
