"""The dnsmasq and dhcpd sources on the files real servers write while serving a real client.

Each test builds a namespace LAN (ipaudit.lab): the server namespace runs a real
dnsmasq or ISC dhcpd from a config written here, a client namespace runs
dhclient (``-sf /bin/true``: it configures nothing, and its lease and pid files
live in the lab's temp dir). The client asks for 198.51.100.150, the server
records the lease, and the source must find it with the client's MAC. Then the
acceptance check: a pool at .150-.160 overlaps the DHCP range and holds a lease.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest
from click.testing import CliRunner

from ipaudit.cli.main import program
from ipaudit.lab import Lab
from ipaudit.sources.interface import SourceOptions
from ipaudit.sources.registry import open_source

pytestmark = pytest.mark.netns

CLIENT_MAC = "02:00:00:00:01:50"
WANTED = "198.51.100.150"


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return ""


def _start_client(lab: Lab, hostname: str) -> str:
    """dhclient in its own namespace asking for WANTED; returns the path of its own lease file."""
    client = lab.add_host("client", None, mac=CLIENT_MAC)
    conf, leases = lab.path("dhclient.conf"), lab.path("dhclient.leases")
    with open(conf, "w", encoding="utf-8") as handle:
        handle.write(f'send host-name "{hostname}";\nsend dhcp-requested-address {WANTED};\n')
    lab.spawn(client, ["dhclient", "-d", "-1", "-sf", "/bin/true", "-cf", conf, "-lf", leases,
                       "-pf", lab.path("dhclient.pid"), "eth0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return leases


def _client_address(dhclient_leases: str) -> str:
    found = re.findall(r"fixed-address ([\d.]+);", _text(dhclient_leases))
    return found[-1] if found else ""


def _check_pool(uri: str):
    return CliRunner().invoke(program, ["check-pool", "198.51.100.150-160", "--subnet", "198.51.100.0/24",
                                        "--dhcp-source", uri, "--format", "json"], catch_exceptions=False)


def _assert_acceptance(uri: str) -> None:
    result = _check_pool(uri)
    assert result.exit_code == 2, result.output
    findings = {f["code"]: f for f in json.loads(result.stdout)["findings"]}
    assert "pool-overlaps-dhcp" in findings
    assert WANTED in json.dumps(findings["pool-address-leased"])


def test_dnsmasq_lease_of_a_real_client_is_read_from_its_lease_file():
    with Lab(prefix="ipaK") as lab:
        server = lab.add_host("server", "198.51.100.1/24")
        leases = lab.path("dnsmasq.leases")
        os.makedirs(lab.path("dnsmasq.d"))
        with open(lab.path("dnsmasq.d/hosts.conf"), "w", encoding="utf-8") as handle:
            handle.write("dhcp-host=02:00:00:00:00:10,nas,198.51.100.10\n")
        conf = lab.path("dnsmasq.conf")
        with open(conf, "w", encoding="utf-8") as handle:
            handle.write(f"port=0\ninterface={server.interface}\nbind-interfaces\nuser=root\ngroup=root\n"
                         f"dhcp-authoritative\nno-ping\ndhcp-range=set:lan,198.51.100.100,198.51.100.199,255.255.255.0,1h\n"
                         f"dhcp-leasefile={leases}\nconf-dir={lab.path('dnsmasq.d')},*.conf\n"
                         f"pid-file={lab.path('dnsmasq.pid')}\n")
        lab.spawn(server, ["dnsmasq", "--keep-in-foreground", "-C", conf], stderr=subprocess.DEVNULL)
        _wait_for(lambda: os.path.exists(lab.path("dnsmasq.pid")), 5, "dnsmasq to start")
        client_leases = _start_client(lab, "client-150")
        _wait_for(lambda: CLIENT_MAC in _text(leases), 20, "dnsmasq to record the client's lease")

        facts = open_source(f"dnsmasq:{conf}", SourceOptions()).read()
        assert [(str(x.ip), x.mac, x.hostname) for x in facts.leases] == [(WANTED, CLIENT_MAC, "client-150")]
        _wait_for(lambda: _client_address(client_leases), 5, "dhclient to write its lease")
        assert _client_address(client_leases) == WANTED  # the server's file and the client agree
        assert [str(r.addresses) for r in facts.ranges] == ["198.51.100.100-198.51.100.199"]
        assert [str(r.ip) for r in facts.reservations] == ["198.51.100.10"]
        _assert_acceptance(f"dnsmasq:{conf}")


def test_dhcpd_lease_of_a_real_client_is_read_from_its_lease_file():
    with Lab(prefix="ipaK") as lab:
        server = lab.add_host("server", "198.51.100.1/24")
        leases, conf = lab.path("dhcpd.leases"), lab.path("dhcpd.conf")
        open(leases, "w").close()
        with open(conf, "w", encoding="utf-8") as handle:
            handle.write("default-lease-time 3600;\nauthoritative;\n"
                         "subnet 198.51.100.0 netmask 255.255.255.0 {\n"
                         "  pool { range 198.51.100.100 198.51.100.199; }\n}\n"
                         "host nas { hardware ethernet 02:00:00:00:00:10; fixed-address 198.51.100.10; }\n")
        lab.spawn(server, ["dhcpd", "-f", "-4", "-q", "-cf", conf, "-lf", leases, "-pf", lab.path("dhcpd.pid"),
                           server.interface], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for(lambda: os.path.exists(lab.path("dhcpd.pid")), 5, "dhcpd to start")
        client_leases = _start_client(lab, "client-150")
        _wait_for(lambda: CLIENT_MAC in _text(leases) and "binding state active" in _text(leases), 20,
                  "dhcpd to record the client's lease")

        facts = open_source(f"dhcpd:{conf}?leases={leases}", SourceOptions()).read()
        assert [(str(x.ip), x.mac, x.hostname) for x in facts.leases] == [(WANTED, CLIENT_MAC, "client-150")]
        _wait_for(lambda: _client_address(client_leases), 5, "dhclient to write its lease")
        assert _client_address(client_leases) == WANTED
        assert [str(r.addresses) for r in facts.ranges] == ["198.51.100.100-198.51.100.199"]
        assert [str(r.ip) for r in facts.reservations] == ["198.51.100.10"]
        _assert_acceptance(f"dhcpd:{conf}?leases={leases}")
