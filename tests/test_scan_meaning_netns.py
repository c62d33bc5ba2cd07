"""What ``ipaudit scan`` makes of tricky but real LANs (issue 9 items 1, 7, 9, 10, 11, 12), each a namespace
LAN whose answers come from real kernels: secondary addresses, a second subnet behind rp_filter, a host
and a scanner with two NICs on one bridge (arp_ignore=0), a VIP handed over with arping's gratuitous ARP,
and a router with proxy_arp=1 routing a block."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from ipaudit.inventory import inventory_from_dict
from ipaudit.lab import Lab

pytestmark = pytest.mark.netns

FAST = ["--no-dhcp", "--rate", "5000", "--timeout", "0.3"]


def scan_json(lab, host, *args):
    done = lab.run(host, [sys.executable, "-m", "ipaudit", "scan", "-i", "eth0", "--format", "json", *args],
                   check=False)
    assert "Traceback" not in done.stderr, done.stderr
    return done, json.loads(done.stdout) if done.stdout.strip() else None


def findings_of(document):
    return [(f["code"], f["severity"], f["addresses"]) for f in document["findings"]]


def hosts_of(document):
    return {h["ip"]: h["macs"] for h in document["hosts"]}


def add_nic(lab, host, name: str, mac: str, address: str | None = None) -> None:
    """A second veth from ``host`` into the lab's bridge: the same namespace, a second NIC on the LAN."""
    port = f"{host.switch_port}{name}"
    subprocess.run(["ip", "-n", lab.switch, "link", "add", port, "type", "veth", "peer", "name", name,
                    "netns", host.namespace], check=True)
    subprocess.run(["ip", "-n", lab.switch, "link", "set", port, "master", "br0", "up"], check=True)
    subprocess.run(["ip", "-n", host.namespace, "link", "set", name, "address", mac], check=True)
    if address:
        subprocess.run(["ip", "-n", host.namespace, "addr", "add", address, "dev", name], check=True)
    subprocess.run(["ip", "-n", host.namespace, "link", "set", name, "up"], check=True)


def wait_for(condition, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_every_own_address_and_self_vip_is_probed_and_another_mac_on_one_is_critical():
    """Item 1: a secondary address and a --self-vip held by phones are ip-conflict-with-self, not hosts."""
    with Lab(prefix="ipaM") as lab:
        phone = lab.add_host("phone", "198.51.100.60/24")  # holds the VIP the node's speaker announces
        laptop = lab.add_host("laptop", "198.51.100.251/24")  # holds the node's secondary address
        scanner = lab.add_host("scanner", "198.51.100.250/24", extra_addresses=["198.51.100.251/24"])
        plain, _ = scan_json(lab, scanner, *FAST, "--subnet", "198.51.100.0/26")
        done, document = scan_json(lab, scanner, *FAST, "--subnet", "198.51.100.0/24",
                                   "--self-vip", "198.51.100.60")
    # Without --self-vip the phone is just a host (and the laptop on our secondary is still caught).
    assert plain.returncode == 2
    assert done.returncode == 2, done.stderr
    assert findings_of(document) == [("ip-conflict-with-self", "critical", ["198.51.100.60"]),
                                     ("ip-conflict-with-self", "critical", ["198.51.100.251"])]
    assert phone.mac in document["findings"][0]["message"] and "VIP" in document["findings"][0]["message"]
    assert laptop.mac in document["findings"][1]["message"]
    hosts = hosts_of(document)
    assert hosts["198.51.100.60"] == [scanner.mac, phone.mac]
    assert hosts["198.51.100.251"] == [scanner.mac, laptop.mac] and hosts["198.51.100.250"] == [scanner.mac]
    assert any("198.51.100.251" in n and "198.51.100.60 (--self-vip)" in n for n in document["notes"])


def test_a_second_subnet_on_the_interface_is_swept_from_its_own_address():
    """Item 7: 203.0.113.0/24 on -i is swept too, asked from 203.0.113.250 (a strict rp_filter host answers)."""
    with Lab(prefix="ipaM") as lab:
        first = lab.add_host("first", "198.51.100.10/24")
        second = lab.add_host("second", "203.0.113.10/24")
        # Strict reverse-path filtering: a request from 198.51.100.250 has no way back, so it goes unanswered.
        lab.set_sysctl(second, "net.ipv4.conf.all.rp_filter=1", "net.ipv4.conf.eth0.rp_filter=1")
        scanner = lab.add_host("scanner", "198.51.100.250/24", extra_addresses=["203.0.113.250/24"])
        done, document = scan_json(lab, scanner, *FAST)
        learned = lab.run(second, ["ip", "neigh", "show", "203.0.113.250"]).stdout
        picked, only_second = scan_json(lab, scanner, *FAST, "--subnet", "203.0.113.0/24")
    assert done.returncode == 0, done.stderr
    hosts = hosts_of(document)
    assert hosts["198.51.100.10"] == [first.mac] and hosts["203.0.113.10"] == [second.mac]
    assert hosts["203.0.113.250"] == [scanner.mac] and document["findings"] == []
    assert "198.51.100.0/24" in done.stderr and "203.0.113.0/24 (from 203.0.113.250)" in done.stderr
    assert scanner.mac in learned  # the second host learned our address in its own subnet
    assert picked.returncode == 0, picked.stderr
    # Only the chosen subnet is swept; this host's addresses are always listed (a pool must avoid them).
    assert set(hosts_of(only_second)) == {"203.0.113.10", "203.0.113.250", "198.51.100.250"}


def test_one_host_with_two_nics_answering_for_both_ips_is_arp_flux_and_the_real_duplicate_stays():
    """Item 9: arp_ignore=0 on a two-NIC host is one arp-flux warning; arp_ignore=1/arp_announce=2 fixes it."""
    with Lab(prefix="ipaM") as lab:
        flux = lab.add_host("flux", "198.51.100.30/24")
        add_nic(lab, flux, "eth1", "02:1b:00:00:00:31", "198.51.100.31/24")
        # Loose or no reverse-path filtering, as on most distributions: eth1 answers requests from the LAN.
        lab.set_sysctl(flux, "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.eth0.rp_filter=0",
                       "net.ipv4.conf.eth1.rp_filter=0", "net.ipv4.conf.all.arp_ignore=0")
        dup_a, dup_b = lab.add_hosts([("dupa", "198.51.100.20/24", None, ()), ("dupb", "198.51.100.20/24", None, ())])
        scanner = lab.add_host("scanner", "198.51.100.250/24")
        done, document = scan_json(lab, scanner, *FAST)
        lab.set_sysctl(flux, "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2")
        fixed, after = scan_json(lab, scanner, *FAST)
    assert done.returncode == 2, done.stderr
    assert findings_of(document) == [("duplicate-ip", "critical", ["198.51.100.20"]),
                                     ("arp-flux", "warning", ["198.51.100.30", "198.51.100.31"])] or \
        findings_of(document) == [("arp-flux", "warning", ["198.51.100.30", "198.51.100.31"]),
                                  ("duplicate-ip", "critical", ["198.51.100.20"])]
    flux_finding = next(f for f in document["findings"] if f["code"] == "arp-flux")
    assert "arp_ignore=1" in flux_finding["message"] and "02:1b:00:00:00:31" in flux_finding["message"]
    assert set(hosts_of(document)["198.51.100.30"]) == {flux.mac, "02:1b:00:00:00:31"}
    assert findings_of(after) == [("duplicate-ip", "critical", ["198.51.100.20"])]
    assert hosts_of(after)["198.51.100.31"] == ["02:1b:00:00:00:31"]
    assert set(hosts_of(after)["198.51.100.20"]) == {dup_a.mac, dup_b.mac}


def test_a_scanner_with_two_nics_on_the_lan_is_never_in_conflict_with_itself():
    """Item 10: the scanner's second NIC answers our probes (arp_ignore=0): its MAC is ours, so exit 0."""
    with Lab(prefix="ipaM") as lab:
        other = lab.add_host("other", "198.51.100.10/24")
        scanner = lab.add_host("scanner", "198.51.100.250/24", extra_addresses=["198.51.100.252/24"])
        add_nic(lab, scanner, "eth1", "02:1b:00:00:00:fb", "198.51.100.251/24")
        done, document = scan_json(lab, scanner, *FAST, "--self-vip", "198.51.100.61")
    assert done.returncode == 0, done.stderr
    assert document["findings"] == []
    hosts = hosts_of(document)
    assert hosts["198.51.100.10"] == [other.mac]
    # The second NIC answered our RFC 5227 probes for .250 and .251: listed, never a conflict.
    assert set(hosts["198.51.100.250"]) == {scanner.mac, "02:1b:00:00:00:fb"}
    assert hosts["198.51.100.251"] == ["02:1b:00:00:00:fb"]
    assert set(hosts["198.51.100.252"]) == {scanner.mac, "02:1b:00:00:00:fb"}
    assert hosts["198.51.100.61"] == [scanner.mac]
    assert any("198.51.100.251" in n and "198.51.100.61 (--self-vip)" in n for n in document["notes"])


def _arping_announce(lab, host, vip):
    # arping -A: an unsolicited ARP reply, sender and target IP both the VIP (what MetalLB/keepalived send).
    lab.run(host, ["arping", "-q", "-A", "-c", "1", "-I", "eth0", vip], check=False, timeout=10)


def test_a_vip_handed_over_is_mac_moved_and_a_split_brain_stays_a_duplicate(wait_until_listening):
    """Item 11: .40 moves from node A to B (A deletes it, B announces): mac-moved. .41 moves from C to D
    but C keeps announcing: duplicate-ip."""
    with Lab(prefix="ipaM") as lab:
        node_a = lab.add_host("nodea", "198.51.100.201/24", extra_addresses=["198.51.100.40/24"])
        node_b = lab.add_host("nodeb", "198.51.100.202/24")
        node_c = lab.add_host("nodec", "198.51.100.203/24", extra_addresses=["198.51.100.41/24"])
        node_d = lab.add_host("noded", "198.51.100.204/24")
        scanner = lab.add_host("scanner", "198.51.100.250/24")
        # 50 requests a second: .40 and .41 are asked about 0.8 s in, the whole /24 takes about 5 s.
        process = lab.spawn(scanner, [sys.executable, "-m", "ipaudit", "scan", "-i", "eth0", "--format", "json",
                                      "--no-dhcp", "--rate", "50", "--timeout", "0.5"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_until_listening(process)

        def asked(node):  # a node that answered a request from us has learned our address
            return lambda: "198.51.100.250" in lab.run(node, ["ip", "neigh", "show", "198.51.100.250"]).stdout

        wait_for(asked(node_a), "node A to answer for .40")
        wait_for(asked(node_c), "node C to answer for .41")
        lab.run(node_a, ["ip", "addr", "del", "198.51.100.40/24", "dev", "eth0"])
        lab.run(node_b, ["ip", "addr", "add", "198.51.100.40/24", "dev", "eth0"])
        lab.run(node_d, ["ip", "addr", "add", "198.51.100.41/24", "dev", "eth0"])
        _arping_announce(lab, node_b, "198.51.100.40")
        _arping_announce(lab, node_d, "198.51.100.41")
        _arping_announce(lab, node_c, "198.51.100.41")  # split brain: C still thinks it is the leader
        assert process.poll() is None, "the scan ended before the failover: it proves nothing"
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 2, stderr
    document = json.loads(stdout)
    assert findings_of(document) == [("mac-moved", "info", ["198.51.100.40"]),
                                     ("duplicate-ip", "critical", ["198.51.100.41"])]
    moved = document["findings"][0]["message"]
    assert moved.index(node_a.mac) < moved.index(node_b.mac)
    assert hosts_of(document)["198.51.100.40"] == [node_a.mac, node_b.mac]
    assert set(hosts_of(document)["198.51.100.41"]) == {node_c.mac, node_d.mac}


def test_a_real_proxy_arp_router_is_proxy_arp_naming_its_block_and_the_inventory_says_so(tmp_path):
    """Item 12: a router with proxy_arp=1 and a route for 198.51.100.128/27 out another interface answers
    for all 32 addresses with its own MAC: one proxy-arp info, the block in the inventory, no duplicates."""
    with Lab(prefix="ipaM") as lab:
        router = lab.add_host("router", "198.51.100.1/24")
        # The routed block lives behind a veth pair inside the router (no dummy module needed).
        lab.run(router, ["ip", "link", "add", "beyond0", "type", "veth", "peer", "name", "beyond1"])
        lab.run(router, ["ip", "link", "set", "beyond1", "up"])
        lab.run(router, ["ip", "link", "set", "beyond0", "up"])
        lab.run(router, ["ip", "route", "add", "198.51.100.128/27", "dev", "beyond0"])
        lab.set_sysctl(router, "net.ipv4.ip_forward=1", "net.ipv4.conf.eth0.proxy_arp=1")
        host = lab.add_host("host", "198.51.100.10/24")
        scanner = lab.add_host("scanner", "198.51.100.250/24")
        lab.run(scanner, ["ip", "route", "add", "default", "via", "198.51.100.1"])
        # The kernel delays proxy replies to broadcasts by up to proxy_delay (0.8 s): wait for them.
        done, document = scan_json(lab, scanner, "--no-dhcp", "--rate", "5000", "--timeout", "1.2")
    assert done.returncode == 0, done.stderr
    assert [(f["code"], f["severity"]) for f in document["findings"]] == [("proxy-arp", "info")]
    message = document["findings"][0]["message"]
    assert "198.51.100.128/27" in message and router.mac in message and "198.51.100.1 " in message
    assert document["proxied"] == [{"block": "198.51.100.128/27", "mac": router.mac, "router": "198.51.100.1"}]
    hosts = hosts_of(document)
    assert all(hosts[f"198.51.100.{n}"] == [router.mac] for n in range(128, 160))
    assert hosts["198.51.100.10"] == [host.mac]
    inventory = inventory_from_dict(document)
    assert [(str(p.block), p.mac) for p in inventory.proxied] == [("198.51.100.128/27", router.mac)]
    # check-pool on that inventory: the pool's addresses are the router's proxy ARP, not devices.
    saved = tmp_path / "scan.json"
    saved.write_text(json.dumps(document))
    check = subprocess.run([sys.executable, "-m", "ipaudit", "check-pool", "198.51.100.140-145", "--inventory",
                            str(saved), "--dhcp-range", "198.51.100.20-198.51.100.99", "--format", "json"],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 2, check.stderr
    (in_use,) = [f for f in json.loads(check.stdout)["findings"] if f["code"] == "pool-address-in-use"]
    assert "by proxy ARP for 198.51.100.128/27" in in_use["message"] and router.mac in in_use["message"]
