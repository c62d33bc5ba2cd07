"""A live VIP on a real namespace LAN: the kernel of a "node" answers ARP for the VIP, then a "phone" takes it too.

LAN 198.51.100.0/24: a router at .1 running dnsmasq (range .100-.199), a node at .11
holding VIP .240 as an extra address (so its kernel answers ARP for .240 with the
node's MAC), and the scanner at .250 where ipaudit runs as a subprocess. The second
LAN adds a phone at .30 that also takes .240 and runs a DHCP server of its own.
"""

from __future__ import annotations

import json
import sys

import pytest

from ipaudit.lab import Lab
from test_ownership import CLUSTER

pytestmark = pytest.mark.netns

PHONE_MAC = "f0:18:98:00:02:40"  # an Apple OUI: the report names the vendor
POOL = "198.51.100.240-245"
LAN = ["--subnet", "198.51.100.0/24", "--gateway", "198.51.100.1", "--dhcp-range", "198.51.100.100-198.51.100.199"]


def ipaudit(*args: str) -> list[str]:
    return [sys.executable, "-m", "ipaudit", *args]


def build(lab: Lab, phone: bool):
    router = lab.add_host("router", "198.51.100.1/24")
    node = lab.add_host("node", "198.51.100.11/24", extra_addresses=["198.51.100.240/24"])
    scanner = lab.add_host("scanner", "198.51.100.250/24")
    lab.start_dnsmasq(router, "198.51.100.100,198.51.100.199", router="198.51.100.1")
    if phone:
        phone_host = lab.add_host("phone", "198.51.100.30/24", mac=PHONE_MAC, extra_addresses=["198.51.100.240/24"])
        lab.start_dnsmasq(phone_host, "198.51.100.60,198.51.100.69")
    return node, scanner


@pytest.fixture(scope="module")
def node_lan():
    with Lab(prefix="ipaVip") as lab:
        node, scanner = build(lab, phone=False)
        yield lab, node, scanner


@pytest.fixture(scope="module")
def phone_lan():
    with Lab(prefix="ipaPhone") as lab:
        node, scanner = build(lab, phone=True)
        yield lab, node, scanner


def check(lab, scanner, *args):
    done = lab.run(scanner, ipaudit("check-pool", POOL, *LAN, "--format", "json", *args), check=False)
    assert done.stdout.strip(), done.stderr
    return done, json.loads(done.stdout)


def codes(report) -> list[str]:
    return [f["code"] for f in report["findings"]]


def test_probe_sees_the_node_answering_for_its_vip_and_calls_it_live(node_lan):
    lab, node, scanner = node_lan
    done, report = check(lab, scanner, "-i", "eth0", "--node", "198.51.100.11", "--dhcp-timeout", "3")
    assert done.returncode == 0, done.stderr
    assert codes(report) == ["vip-live-on-node"]
    assert report["findings"][0]["addresses"] == ["198.51.100.240"]
    assert f"198.51.100.11 ({node.mac})" in report["findings"][0]["message"]
    # The one DHCP server that answered is named, and not flagged.
    assert any("DHCP server that answered: 198.51.100.1 (" in note for note in report["notes"])


def test_without_knowing_the_node_the_probe_calls_the_vip_in_use(node_lan):
    lab, _, scanner = node_lan
    done, report = check(lab, scanner, "-i", "eth0", "--dhcp-timeout", "1")
    assert done.returncode == 2, done.stderr
    assert codes(report) == ["pool-address-in-use"]


def test_node_mac_alone_identifies_the_node(node_lan):
    lab, node, scanner = node_lan
    done, report = check(lab, scanner, "-i", "eth0", "--node-mac", node.mac.upper(), "--dhcp-timeout", "1")
    assert done.returncode == 0, done.stderr
    assert codes(report) == ["vip-live-on-node"] and node.mac in report["findings"][0]["message"]


def test_a_scan_inventory_gives_the_same_verdict(node_lan):
    lab, node, scanner = node_lan
    path = lab.path("scan.json")
    scan = lab.run(scanner, ipaudit("scan", "-i", "eth0", "--no-dhcp", "--format", "json", "-o", path), check=False)
    assert scan.returncode == 0, scan.stderr
    done, report = check(lab, scanner, "--inventory", path, "--node", "198.51.100.11")
    assert done.returncode == 0, done.stderr
    assert codes(report) == ["vip-live-on-node"] and node.mac in report["findings"][0]["message"]


def test_a_phone_on_the_vip_is_a_foreign_claim_named_by_mac_and_vendor(phone_lan):
    lab, node, scanner = phone_lan
    done, report = check(lab, scanner, "-i", "eth0", "--node", "198.51.100.11", "--dhcp-timeout", "3")
    assert done.returncode == 2, done.stderr
    claims = [f for f in report["findings"] if f["code"] == "vip-claimed-by-foreign-device"]
    assert len(claims) == 1 and claims[0]["addresses"] == ["198.51.100.240"]
    assert f"{PHONE_MAC} (Apple, Inc.)" in claims[0]["message"] and node.mac in claims[0]["message"]
    # Never both codes for one address; the phone's own DHCP server is the second server heard.
    # Its offer names another router than the LAN's, so the gateway is in doubt too.
    assert sorted(codes(report)) == ["gateways-disagree", "multiple-dhcp-servers", "vip-claimed-by-foreign-device"]
    assert any("198.51.100.1 (" in note and "198.51.100.30 (" in note for note in report["notes"])
    # The phone must leave the VIP; moving the pool would not fix that, so no block is offered.
    assert not [r for r in report["recommendations"] if r["kind"] in ("use-block", "shrink-dhcp")]


def test_the_clusters_objects_name_the_node_and_the_service(phone_lan):
    lab, _, scanner = phone_lan
    path = lab.path("cluster.yaml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(CLUSTER)
    done, report = check(lab, scanner, "-i", "eth0", "--from", path, "--dhcp-timeout", "1")
    assert done.returncode == 2, done.stderr
    claims = [f for f in report["findings"] if f["code"] == "vip-claimed-by-foreign-device"]
    # The VIP is outside every manifest pool, so it is checked as its own one-address pool too.
    assert sorted(f["pool"] for f in claims) == ["proposed", "vip default/web"]
    assert all("node worker-1 (198.51.100.11" in f["message"] and "Service default/web" in f["message"]
               for f in claims)
