"""``inventory_from_pcap``: a capture file audited as passive listening would audit the LAN, no root needed.

The fixtures were recorded by fixtures/record_pcaps.py from real dnsmasq servers,
dhclient and kernels in network namespaces; the hostile cases are built here.
"""

from __future__ import annotations

import gzip
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from netaddr import IPAddress

from ipaudit.scan.passive import PcapError, capture_frames, frames_from_pcap, inventory_from_capture
from ipaudit.scan.pcap import PcapAudit, inventory_from_pcap

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
ROUTER_MAC, ROGUE_MAC = "02:1a:00:00:00:01", "02:1a:00:00:00:02"


def audit(name: str, allowed: tuple[str, ...] | None = None) -> PcapAudit:
    return inventory_from_pcap(str(FIXTURES / name), allowed)


def hosts(result: PcapAudit) -> dict[str, tuple[str, ...]]:
    return {str(h.ip): h.macs for h in result.inventory.hosts}


def servers(result: PcapAudit) -> list[tuple[str, str, str]]:
    return [(str(s.server_id), s.mac, str(s.offered_ip)) for s in result.inventory.dhcp_servers]


def findings(result: PcapAudit) -> list[tuple[str, tuple[str, ...]]]:
    return [(f.code, f.addresses) for f in result.inventory.findings]


def counts(result: PcapAudit) -> tuple[int, ...]:
    return (result.frames, result.arp_frames, result.dhcp_packets, result.malformed, result.probes,
            result.announcements)


def test_arp_capture_shows_hosts_and_the_duplicate():
    result = audit("arp-lan-duplicate.pcap")
    assert counts(result) == (7, 7, 0, 0, 1, 1)
    assert hosts(result) == {"198.51.100.1": (ROUTER_MAC,),
                             "198.51.100.20": ("02:1a:00:00:00:04", "02:1a:00:00:00:03"),
                             "198.51.100.240": ("02:1a:00:00:00:05",), "198.51.100.250": ("02:1a:00:00:00:06",)}
    assert servers(result) == []
    assert findings(result) == [("duplicate-ip", ("198.51.100.20",))]


def test_discovery_capture_names_both_servers_and_the_unallowed_one():
    result = audit("dhcp-discovery-two-servers.pcap", ("198.51.100.1",))
    assert counts(result) == (9, 6, 2, 0, 0, 0)
    assert servers(result) == [("198.51.100.1", ROUTER_MAC, "198.51.100.146"),
                               ("198.51.100.66", ROGUE_MAC, "198.51.100.118")]
    assert hosts(result) == {"198.51.100.1": (ROUTER_MAC,), "198.51.100.66": (ROGUE_MAC,)}
    assert findings(result) == [("multiple-dhcp-servers", ("198.51.100.1", "198.51.100.66")),
                                ("unauthorized-dhcp-server", ("198.51.100.66", "198.51.100.118"))]
    # Without an allow list only the count of servers is checked.
    assert [code for code, _ in findings(audit("dhcp-discovery-two-servers.pcap"))] == ["multiple-dhcp-servers"]


def test_dhclient_dora_capture_counts_offers_and_the_ack():
    result = audit("dhcp-dora-dhclient.pcap", ("198.51.100.1", "198.51.100.66"))
    assert counts(result) == (11, 6, 3, 0, 0, 0)
    assert [s[:2] for s in servers(result)] == [("198.51.100.1", ROUTER_MAC), ("198.51.100.66", ROGUE_MAC)]
    assert findings(result) == [("multiple-dhcp-servers", ("198.51.100.1", "198.51.100.66"))]


def test_malformed_frames_are_counted_and_the_good_ones_kept():
    result = audit("malformed-dhcp-arp.pcap")
    # Three DHCP frames with one bad field (cut server id, 3-byte mask, no end marker) are kept, minus that field.
    assert counts(result) == (12, 3, 4, 5, 0, 0)
    assert hosts(result) == {"198.51.100.9": ("02:1a:00:00:00:09",)}
    assert servers(result) == [("198.51.100.1", ROUTER_MAC, "198.51.100.77")]
    assert len(result.skip_reasons) == 5 and "5 malformed frame(s) skipped" in result.notes[0]
    assert findings(result) == [("dhcp-packet-malformed", ()), ("dhcp-packet-malformed", ())]
    unreadable, fields = result.inventory.findings
    assert unreadable.message.startswith("3 DHCP packet(s) could not be read")
    assert fields.key == f"dhcp-packet-malformed|{ROUTER_MAC}" and "option 1 is 3 bytes" in fields.message


@pytest.mark.parametrize("name", ["arp-lan-duplicate.pcap", "dhcp-discovery-two-servers.pcap",
                                  "dhcp-dora-dhclient.pcap", "malformed-dhcp-arp.pcap"])
def test_the_same_inventory_as_passive_listening_would_report(name):
    listened = inventory_from_capture(capture_frames(frames_from_pcap(str(FIXTURES / name))),
                                      allowed_dhcp=("198.51.100.1",))
    assert audit(name, ("198.51.100.1",)).inventory == listened


def test_pcapng_reads_the_same(tmp_path):
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcapng

    frames = list(frames_from_pcap(str(FIXTURES / "dhcp-discovery-two-servers.pcap")))
    wrpcapng(str(tmp_path / "capture.pcapng"), [Ether(frame) for frame in frames])
    from_ng = inventory_from_pcap(str(tmp_path / "capture.pcapng"), ("198.51.100.1",))
    assert from_ng.inventory == audit("dhcp-discovery-two-servers.pcap", ("198.51.100.1",)).inventory
    assert from_ng.frames == 9


def _bad(tmp_path: Path, data: bytes, name: str = "capture.pcap") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(PcapError) as caught:
        inventory_from_pcap(str(path), None)
    line = caught.value.one_line()
    assert "\n" not in line and str(path) in line
    return line


def test_garbage_empty_and_compressed_files_are_one_line_errors(tmp_path):
    assert "not a pcap or pcapng file" in _bad(tmp_path, b"not a capture at all, not even close")
    assert "not a pcap or pcapng file" in _bad(tmp_path, b"")
    assert "gzip" in _bad(tmp_path, gzip.compress((FIXTURES / "arp-lan-duplicate.pcap").read_bytes()))


@pytest.mark.parametrize("cut", [30, 100, -1, -20])
def test_a_capture_cut_short_is_an_error_not_a_partial_audit(tmp_path, cut):
    data = (FIXTURES / "dhcp-discovery-two-servers.pcap").read_bytes()
    assert "cut short" in _bad(tmp_path, data[:cut])


def test_a_pcapng_cut_short_or_with_trailing_garbage(tmp_path):
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcapng

    wrpcapng(str(tmp_path / "good.pcapng"), [Ether(f) for f in frames_from_pcap(str(FIXTURES / "arp-lan-duplicate.pcap"))])
    data = (tmp_path / "good.pcapng").read_bytes()
    assert "cut short" in _bad(tmp_path, data[:-6], "cut.pcapng")
    assert "cut short" in _bad(tmp_path, data + b"garbage!", "tail.pcapng")
    assert "cut short" in _bad(tmp_path, data + b"\x06\x00\x00\x00\xf0\xff\xff\xff", "huge.pcapng")


def test_a_missing_file_a_directory_a_fifo_and_dev_zero(tmp_path):
    fifo = tmp_path / "capture.fifo"
    os.mkfifo(fifo)  # no writer: a blocking open would hang
    for path in (tmp_path / "missing.pcap", tmp_path, fifo, Path("/dev/zero")):
        with pytest.raises(PcapError, match="cannot read capture"):
            inventory_from_pcap(str(path), None)


def _record(frame: bytes) -> bytes:
    return struct.pack("<IIII", 0, 0, len(frame), len(frame)) + frame


def test_a_long_capture_streams_in_bounded_memory(tmp_path):
    """100,000 frames (ARP claims repeating, one forged duplicate) under a 1 GiB address space."""
    from ipaudit.scan.arp_frames import build_reply, ip_int, mac_bytes

    claims = [build_reply(mac_bytes(f"02:1a:00:00:{n >> 8:02x}:{n & 255:02x}"), ip_int(f"198.18.{n >> 8}.{n & 255}"),
                          mac_bytes("02:1a:00:00:ff:ff"), ip_int("198.18.255.1")) for n in range(1000)]
    twin = build_reply(mac_bytes("02:1a:00:00:aa:aa"), ip_int("198.18.0.7"), mac_bytes("02:1a:00:00:ff:ff"),
                       ip_int("198.18.255.1"))
    path = tmp_path / "long.pcap"
    with open(path, "wb") as handle:
        handle.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for n in range(100_000):
            handle.write(_record(claims[n % 1000]))
        handle.write(_record(twin))
    script = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); "
              "from ipaudit.scan.pcap import inventory_from_pcap; a = inventory_from_pcap(sys.argv[1], None); "
              "print(a.frames, len(a.inventory.hosts), [(str(f.code), f.addresses) for f in a.inventory.findings])")
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "100001 1000 [('duplicate-ip', ('198.18.0.7',))]"


def test_the_audit_reports_server_ids_as_addresses():
    assert audit("dhcp-discovery-two-servers.pcap").inventory.dhcp_servers[0].server_id == IPAddress("198.51.100.1")
