"""DHCP discovery and passive listening against real dnsmasq servers on a namespace LAN.

The LAN: a router (198.51.100.1) running dnsmasq for .2-.253, a rogue dnsmasq at
.66 serving .100-.120, and a scanner at .250 where our code runs as a subprocess
inside the namespace (the only place it may send or listen). The lab's dnsmasq
runs with --no-ping and offers at once, so discovery windows here are short.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from netaddr import IPAddress, IPRange

from ipaudit.inventory import inventory_from_dict
from ipaudit.lab import Lab
from ipaudit.scan.dhcp_findings import dhcp_findings

pytestmark = pytest.mark.netns

ROUTER, ROGUE = IPAddress("198.51.100.1"), IPAddress("198.51.100.66")
ROUTER_RANGE, ROGUE_RANGE = IPRange("198.51.100.2", "198.51.100.253"), IPRange("198.51.100.100", "198.51.100.120")

DISCOVER_SNIPPET = """
import json, sys
from ipaudit.inventory import inventory_to_dict
from ipaudit.model import Inventory
from ipaudit.scan.dhcp import run_discovery
found = run_discovery(sys.argv[1], float(sys.argv[2]))
print(json.dumps({"inventory": inventory_to_dict(Inventory(dhcp_servers=tuple(found.servers))),
                  "client_mac": found.client_mac, "first_offer_after": found.first_offer_after,
                  "offers": found.offers, "skipped": found.skipped}))
"""


@pytest.fixture(scope="module")
def lan():
    with Lab(prefix="ipaD") as lab:
        router = lab.add_host("router", "198.51.100.1/24")
        rogue = lab.add_host("rogue", "198.51.100.66/24")
        scanner = lab.add_host("scanner", "198.51.100.250/24")
        lab.add_host("client", "")
        servers = {
            "router": lab.start_dnsmasq(router, "198.51.100.2,198.51.100.253", router="198.51.100.1",
                                        dns="198.51.100.1,198.51.100.53", lease_time="12h"),
            "rogue": lab.start_dnsmasq(rogue, "198.51.100.100,198.51.100.120", router="198.51.100.66",
                                       lease_time="10m"),
        }
        yield lab, scanner, servers


WINDOW = 1.0  # seconds; a --no-ping dnsmasq offers within milliseconds


def discover_in(lab, host, window=WINDOW):
    done = lab.run(host, [sys.executable, "-c", DISCOVER_SNIPPET, "eth0", str(window)])
    result = json.loads(done.stdout)
    result["servers"] = {s.server_id: s for s in inventory_from_dict(result["inventory"]).dhcp_servers}
    return result


@pytest.fixture(scope="module")
def first_scan(lan):
    lab, scanner, _ = lan
    return discover_in(lab, scanner)


def test_discover_finds_both_servers_with_their_fields(first_scan):
    servers = first_scan["servers"]
    assert set(servers) == {ROUTER, ROGUE}
    router, rogue = servers[ROUTER], servers[ROGUE]
    assert router.mac == "02:1a:00:00:00:01" and rogue.mac == "02:1a:00:00:00:02"
    assert router.offered_ip in ROUTER_RANGE and rogue.offered_ip in ROGUE_RANGE
    assert router.subnet_mask == rogue.subnet_mask == IPAddress("255.255.255.0")
    assert (router.router, rogue.router) == (ROUTER, ROGUE)
    assert router.dns == (ROUTER, IPAddress("198.51.100.53"))
    assert (router.lease_time, rogue.lease_time) == (12 * 3600, 600)
    assert router.relay is None and rogue.relay is None
    assert first_scan["skipped"] == 0
    assert first_scan["offers"] >= 2 and 0 < first_scan["first_offer_after"] < WINDOW


def test_discover_findings_flag_the_rogue(first_scan):
    servers = first_scan["servers"]
    codes = sorted((f.code, sorted(f.addresses)) for f in dhcp_findings(servers.values(), allowed={str(ROUTER)}))
    assert codes == [("multiple-dhcp-servers", ["198.51.100.1", "198.51.100.66"]),
                     ("unauthorized-dhcp-server", sorted([str(ROGUE), str(servers[ROGUE].offered_ip)]))]


def test_discover_never_takes_a_lease(lan, first_scan):
    _, _, servers = lan
    probe = first_scan["client_mac"]
    for server in servers.values():
        assert server.leases() == [] or all(probe not in line for line in server.leases())
        log = server.log()
        assert f"DHCPDISCOVER(eth0) {probe}" in log  # the server did hear the probe
        assert "DHCPREQUEST" not in log


def test_repeated_discovery_reuses_the_probe_mac_and_the_offer(lan, first_scan):
    lab, scanner, _ = lan
    again = discover_in(lab, scanner)
    assert again["client_mac"] == first_scan["client_mac"]
    assert again["servers"][ROUTER].offered_ip == first_scan["servers"][ROUTER].offered_ip


def test_missing_interface_and_no_privileges_are_one_line_errors(lan):
    lab, scanner, _ = lan
    snippet = ("import sys\nfrom ipaudit.scan.dhcp import discover\n"
               "try:\n    discover(sys.argv[1], 1)\nexcept Exception as e:\n    print(type(e).__name__, e.one_line())")
    missing = lab.run(scanner, [sys.executable, "-c", snippet, "nope0"])
    assert missing.stdout.strip() == ("RawSocketError no interface named 'nope0': "
                                      "interfaces here: eth0 (up, 198.51.100.250/24)")
    # Root without CAP_NET_RAW is what an unprivileged user looks like to the kernel.
    nobody = subprocess.run(lab.command(scanner, ["setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw",
                                                  sys.executable, "-c", snippet, "eth0"]),
                            capture_output=True, text=True, timeout=30)
    assert nobody.stdout.strip() == ("RawSocketError raw sockets need root or CAP_NET_RAW: run with sudo, "
                                     "or setcap cap_net_raw+ep on the interpreter"), nobody.stderr


PASSIVE_SNIPPET = """
import json, sys
from ipaudit.inventory import inventory_to_dict
from ipaudit.scan.passive import listen
print(json.dumps(inventory_to_dict(listen(sys.argv[1], float(sys.argv[2]), allowed_dhcp={"198.51.100.1"}))))
"""


def tx_packets(lab, host) -> int:
    return int(lab.run(host, ["cat", f"/sys/class/net/{host.interface}/statistics/tx_packets"]).stdout)


def test_passive_listening_sees_a_real_clients_offers_and_ack_and_sends_nothing(lan, first_scan,
                                                                                wait_until_listening):
    lab, scanner, servers = lan
    client = lab.hosts["client"]
    # As on a mirror port: the switch floods frames for the client's MAC, so the scanner hears
    # the OFFER/ACK that dnsmasq unicasts to a client which did not ask for broadcast.
    subprocess.run(["ip", "-n", lab.switch, "link", "set", client.switch_port, "type", "bridge_slave",
                    "learning", "off"], check=True)
    sent_before = tx_packets(lab, scanner)
    # The window only has to outlast one DHCP exchange, which takes well under a second here.
    listener = lab.spawn(scanner, [sys.executable, "-c", PASSIVE_SNIPPET, "eth0", "2.5"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until_listening(listener)
    # ARP traffic from both servers (a pinging dnsmasq would send it before offering; ours does not ping).
    for server in ("router", "rogue"):
        lab.run(server, ["arp-scan", "-I", "eth0", "-q", "-x", "--retry=1", "198.51.100.249"])  # nobody
    leasefile = lab.path("dhclient.leases")
    open(leasefile, "w").close()
    lab.spawn(client, ["dhclient", "-d", "-1", "-sf", "/bin/true", "-lf", leasefile, "-pf", lab.path("dhclient.pid"),
                       "eth0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stdout, stderr = listener.communicate(timeout=30)
    assert listener.returncode == 0, stderr
    inventory = inventory_from_dict(json.loads(stdout))

    assert tx_packets(lab, scanner) == sent_before  # passive means passive
    seen = {s.server_id: s for s in inventory.dhcp_servers}
    assert set(seen) == {ROUTER, ROGUE}
    assert seen[ROUTER].offered_ip in ROUTER_RANGE and seen[ROGUE].offered_ip in ROGUE_RANGE
    assert seen[ROUTER].lease_time == 12 * 3600 and seen[ROUTER].mac == "02:1a:00:00:00:01"
    assert sorted(f.code for f in inventory.findings) == ["multiple-dhcp-servers", "unauthorized-dhcp-server"]
    assert inventory.subnet is not None and str(inventory.subnet) == "198.51.100.0/24"
    # Their ARP requests claim their addresses: both servers appear as hosts.
    assert {str(h.ip) for h in inventory.hosts} >= {"198.51.100.1", "198.51.100.66"}
    # The client really took a lease, so the lease files do record leases: the probe's is absent.
    leases = [line for server in servers.values() for line in server.leases()]
    assert any(client.mac in line for line in leases)
    assert not any(first_scan["client_mac"] in line for line in leases)


UNICAST_SERVER_SNIPPET = """
# A DHCP server that ignores the broadcast flag: it unicasts its OFFER to chaddr and yiaddr.
import socket, sys
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
sock.bind(("eth0", 0))
sock.settimeout(10)
mine = sock.getsockname()[4].hex(":")
print("ready", flush=True)
while True:
    request = Ether(sock.recv(2048))
    if request.haslayer(BOOTP) and request[UDP].dport == 67:
        break
chaddr = request[BOOTP].chaddr[:6]
offer = (Ether(src=mine, dst=chaddr.hex(":")) / IP(src="198.51.100.99", dst="198.51.100.199")
         / UDP(sport=67, dport=68) / BOOTP(op=2, xid=request[BOOTP].xid, yiaddr="198.51.100.199", chaddr=chaddr)
         / DHCP(options=[("message-type", "offer"), ("server_id", "198.51.100.99"), ("lease_time", 120), "end"]))
sock.send(bytes(offer))
"""


def test_discover_hears_an_offer_unicast_to_the_probe_mac(lan):
    lab, scanner, _ = lan
    unicaster = lab.add_host("unicaster", "198.51.100.99/24")
    server = lab.spawn(unicaster, [sys.executable, "-c", UNICAST_SERVER_SNIPPET],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert server.stdout.readline().strip() == "ready"
    result = discover_in(lab, scanner)
    assert server.wait(timeout=10) == 0, server.stderr.read()
    unicast = result["servers"][IPAddress("198.51.100.99")]
    assert unicast.offered_ip == IPAddress("198.51.100.199") and unicast.lease_time == 120
    assert unicast.mac == unicaster.mac
