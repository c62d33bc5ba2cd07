"""The file-based DHCP sources on real config and lease files (fixtures/sources/, written by the real servers)."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
from netaddr import IPAddress, IPNetwork

from ipaudit.sources.files import from_epoch
from ipaudit.sources.interface import SourceError, SourceOptions
from ipaudit.sources.kea_files import lease_file_of
from ipaudit.sources.registry import open_source

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sources"
KEA = FIXTURES / "kea"
# kea-leases4.csv was recorded at about this moment; reading it "now" would expire every lease.
KEA_RECORDED = from_epoch(1795733200)


def read(uri: str, now: datetime | None = None):
    return open_source(uri, SourceOptions()).read(now=now)


def ranges(facts) -> set[tuple[str, str]]:
    return {(str(IPAddress(r.addresses.first)), str(IPAddress(r.addresses.last))) for r in facts.ranges}


def by_ip(items) -> dict[str, object]:
    return {str(item.ip): item for item in items}


# --- Kea files ---------------------------------------------------------------------------------

def test_kea_config_reads_every_pool_form_shared_networks_and_includes():
    facts = read(f"kea:{KEA}/kea-dhcp4.conf?leases=")
    assert ranges(facts) == {
        ("198.51.100.100", "198.51.100.199"),  # "a - b"
        ("192.0.2.10", "192.0.2.20"),  # "a-b", from the included file
        ("192.0.2.30", "192.0.2.40"),
        ("203.0.113.0", "203.0.113.31"),  # CIDR, inside a shared network
        ("203.0.113.200", "203.0.113.210"),
    }
    subnets = {str(IPAddress(r.addresses.first)): r.subnet for r in facts.ranges}
    assert subnets["198.51.100.100"] == IPNetwork("198.51.100.0/24")
    assert subnets["203.0.113.0"] == IPNetwork("203.0.113.0/25")
    shared = [r for r in facts.ranges if r.subnet == IPNetwork("203.0.113.128/25")][0]
    assert "shared-network lab" in shared.label and "kea-dhcp4.conf" in shared.label
    assert facts.leases == ()
    assert "no lease file read (?leases= is empty)" in facts.notes


def test_kea_reservations_in_subnets_and_global_skip_address_less_ones():
    facts = read(f"kea:{KEA}/kea-dhcp4.conf?leases=")
    reservations = by_ip(facts.reservations)
    assert set(reservations) == {"198.51.100.10", "198.51.100.11", "192.0.2.250"}
    assert reservations["198.51.100.10"].mac == "02:00:00:00:00:10"
    assert reservations["198.51.100.10"].hostname == "nas"
    assert reservations["198.51.100.11"].mac is None  # reserved by client-id
    assert reservations["192.0.2.250"].hostname == "global-printer"


def test_kea_lease_file_last_line_wins_and_state_matters():
    facts = read(f"kea:{KEA}/kea-dhcp4.conf?leases={KEA}/kea-leases4.csv", now=KEA_RECORDED)
    leases = by_ip(facts.leases)
    # .150 active; .151 deleted (lifetime 0); .152 declined; .153 expired-reclaimed;
    # .154 escaped comma; .155 updated (the later line wins); .156 expired long ago.
    assert set(leases) == {"198.51.100.150", "198.51.100.154", "198.51.100.155"}
    assert leases["198.51.100.150"].mac == "02:00:00:00:01:50"
    assert leases["198.51.100.150"].hostname == "printer"
    assert leases["198.51.100.150"].expires == datetime(2026, 11, 26, 23, 45, 2, tzinfo=timezone.utc)
    assert leases["198.51.100.154"].hostname == "comma,host"
    assert leases["198.51.100.155"].hostname == "new-name"
    assert leases["198.51.100.155"].mac == "02:00:00:00:01:aa"
    assert any("declined" in note and "198.51.100.152" in note for note in facts.notes)
    assert any("1 expired lease" in note for note in facts.notes)


def test_kea_leases_expire_with_time():
    later = from_epoch(1795733200 + 7200)
    facts = read(f"kea:{KEA}/kea-dhcp4.conf?leases={KEA}/kea-leases4.csv", now=later)
    assert facts.leases == ()
    assert any("4 expired lease" in note for note in facts.notes)


def test_kea_lease_file_from_config_and_lfc_halves(tmp_path):
    # The config's lease-database name is used; the .2 (older) half is read before the live file.
    text = (KEA / "kea-dhcp4.conf").read_text().replace("/var/lib/kea/kea-leases4.csv", str(tmp_path / "leases.csv"))
    (tmp_path / "kea-dhcp4.conf").write_text(text)
    shutil.copy(KEA / "kea-subnet-192.0.2.json", tmp_path)
    lines = (KEA / "kea-leases4.csv").read_text().splitlines()
    header = lines[0]
    (tmp_path / "leases.csv.2").write_text("\n".join([header, lines[1]]) + "\n")  # .150 active
    (tmp_path / "leases.csv").write_text("\n".join([header, lines[1].replace(",3600,", ",0,")]) + "\n")  # deleted
    assert read(f"kea:{tmp_path}/kea-dhcp4.conf", now=KEA_RECORDED).leases == ()
    (tmp_path / "leases.csv").write_text(header + "\n")
    assert [str(x.ip) for x in read(f"kea:{tmp_path}/kea-dhcp4.conf", now=KEA_RECORDED).leases] == ["198.51.100.150"]


def test_kea_missing_lease_file_is_a_note_not_silence(tmp_path):
    # (Not the fixture's own /var/lib/kea path: a machine running Kea may have that file.)
    text = (KEA / "kea-dhcp4.conf").read_text().replace("/var/lib/kea/kea-leases4.csv", str(tmp_path / "absent.csv"))
    (tmp_path / "kea-dhcp4.conf").write_text(text)
    shutil.copy(KEA / "kea-subnet-192.0.2.json", tmp_path)
    facts = read(f"kea://{tmp_path}/kea-dhcp4.conf")
    assert facts.leases == ()
    assert any(f"{tmp_path}/absent.csv does not exist" in note for note in facts.notes)


def test_kea_lease_file_location_rules():
    assert lease_file_of({}) == ("/var/lib/kea/kea-leases4.csv", None)
    assert lease_file_of({"lease-database": {"type": "memfile", "name": "/srv/l.csv"}}) == ("/srv/l.csv", None)
    path, note = lease_file_of({"lease-database": {"type": "memfile", "persist": False}})
    assert path is None and "persist is false" in note
    path, note = lease_file_of({"lease-database": {"type": "mysql", "name": "kea"}})
    assert path is None and "mysql database" in note and "kea+http" in note


@pytest.mark.parametrize("content, message", [
    ('{ "Dhcp4": { "subnet4": [ { "subnet": "198.51.100.0/24", } ', "not valid Kea JSON"),
    ('{ "Dhcp6": { } }', "no Dhcp4 section"),
    ('{ "Dhcp4": { "subnet4": { } } }', "Dhcp4.subnet4 should be a list"),
    ('{ "Dhcp4": { "subnet4": [ { "pools": [] } ] } }', 'has no "subnet"'),
    ('{ "Dhcp4": { "subnet4": [ { "subnet": "198.51.100.0/24", "pools": [ { "pool": "198.51.100.9-5" } ] } ] } }',
     "reversed range"),
    ('{ "Dhcp4": { <?include "nowhere.json" ?> } }', "includes nowhere.json, which does not exist"),
    ('{ "Dhcp4": { /* never closed } }', "unterminated /* comment"),
])
def test_kea_bad_config_is_one_line_source_error(tmp_path, content, message):
    path = tmp_path / "kea-dhcp4.conf"
    path.write_text(content)
    with pytest.raises(SourceError) as caught:
        read(f"kea:{path}?leases=")
    line = caught.value.one_line()
    assert message in line and str(path) in line and "\n" not in line


def test_kea_comments_and_strings_with_comment_marks(tmp_path):
    path = tmp_path / "kea-dhcp4.conf"
    path.write_text('# hash\n{ "Dhcp4": { // slash\n "subnet4": [ { "subnet": "198.51.100.0/24", /* block */\n'
                    ' "pools": [ { "pool": "198.51.100.5-198.51.100.6" } ],\n'
                    ' "reservations": [ { "ip-address": "198.51.100.7", "hostname": "a#b//c/*d" } ] } ] } }\n')
    facts = read(f"kea:{path}?leases=")
    assert ranges(facts) == {("198.51.100.5", "198.51.100.6")}
    assert facts.reservations[0].hostname == "a#b//c/*d"


def test_kea_missing_files_and_not_a_lease_file(tmp_path):
    with pytest.raises(SourceError, match="cannot read Kea config .*No such file"):
        read(f"kea:{tmp_path}/absent.conf")
    with pytest.raises(SourceError, match="cannot read Kea lease file"):
        read(f"kea:{KEA}/kea-dhcp4.conf?leases={tmp_path}/absent.csv")
    not_leases = tmp_path / "dnsmasq.leases"
    not_leases.write_text("1795736702 02:00:00:00:01:50 198.51.100.150 printer *\n")
    with pytest.raises(SourceError, match="not a Kea DHCPv4 lease file"):
        read(f"kea:{KEA}/kea-dhcp4.conf?leases={not_leases}")


# --- dnsmasq -------------------------------------------------------------------------------------

DNSMASQ = FIXTURES / "dnsmasq"
# dnsmasq.leases was recorded by record-leases.py at about this moment (12h leases).
DNSMASQ_RECORDED = from_epoch(1795733200)


def test_dnsmasq_ranges_tags_modes_and_conf_dir():
    facts = read(f"dnsmasq:{DNSMASQ}/dnsmasq.conf?leases=")
    assert ranges(facts) == {("198.51.100.100", "198.51.100.199"), ("203.0.113.150", "203.0.113.159")}
    by_start = {str(IPAddress(r.addresses.first)): r for r in facts.ranges}
    assert by_start["198.51.100.100"].subnet == IPNetwork("198.51.100.0/24")
    assert by_start["198.51.100.100"].label.endswith("tag lan")
    assert by_start["203.0.113.150"].subnet == IPNetwork("203.0.113.128/25")  # from conf-dir, legacy net id
    assert by_start["203.0.113.150"].label.endswith("tag guest")
    assert any("static-only DHCP on 192.0.2.0" in note and "tag iot" in note for note in facts.notes)
    assert any("proxy DHCP on 203.0.113.0" in note for note in facts.notes)
    # skipped.conf~ (an editor backup) is not loaded: its 198.51.100.1-2 range is absent.


def test_dnsmasq_dhcp_host_forms():
    reservations = by_ip(read(f"dnsmasq:{DNSMASQ}/dnsmasq.conf?leases=").reservations)
    assert set(reservations) == {"198.51.100.10", "198.51.100.11", "198.51.100.12", "198.51.100.13", "192.0.2.15"}
    assert (reservations["198.51.100.10"].mac, reservations["198.51.100.10"].hostname) == ("02:00:00:00:00:10", "nas")
    assert (reservations["198.51.100.11"].mac, reservations["198.51.100.11"].hostname) == (None, "lap")
    assert reservations["198.51.100.12"].hostname == "printer"  # by client id
    assert reservations["198.51.100.13"].mac == "02:00:00:00:00:13"  # two MACs share one address
    assert (reservations["192.0.2.15"].hostname, reservations["192.0.2.15"].mac) == ("camera", "02:00:00:00:00:15")


def test_dnsmasq_lease_file_named_in_config_as_dnsmasq_wrote_it():
    facts = read(f"dnsmasq:{DNSMASQ}/dnsmasq.conf", now=DNSMASQ_RECORDED)
    leases = by_ip(facts.leases)
    assert set(leases) == {"198.51.100.10", "198.51.100.194", "198.51.100.196"}
    assert leases["198.51.100.194"].mac == "02:00:00:00:01:21"
    assert leases["198.51.100.194"].hostname == "client-one"
    assert leases["198.51.100.194"].expires == from_epoch(1795776401)
    assert leases["198.51.100.196"].hostname is None  # '*'
    assert leases["198.51.100.10"].expires is None  # expiry 0: an infinite lease


def test_dnsmasq_expired_ipv6_and_broken_lease_lines(tmp_path):
    leases = tmp_path / "dhcp.leases"
    leases.write_text("1000 02:00:00:00:01:30 198.51.100.130 old *\n"
                      "garbage\n"
                      "1795776401 02:00:00:00:01:31 198.51.100.131 fresh 01:02:00:00:00:01:31\n"
                      "duid 00:01:00:01:2c:5f:aa:bb:02:00:00:00:00:01\n"
                      "1795776401 1234 2001:db8::10 v6host 00:01:00:01:aa\n")
    facts = read(f"dnsmasq:{DNSMASQ}/dnsmasq.conf?leases={leases}", now=DNSMASQ_RECORDED)
    found = by_ip(facts.leases)
    assert set(found) == {"198.51.100.131", "2001:db8::10"}
    assert found["2001:db8::10"].mac is None  # the IAID is not a MAC
    assert "1 expired lease(s) in dhcp.leases not counted" in facts.notes
    assert "1 unreadable line(s) in dhcp.leases skipped" in facts.notes


def test_dnsmasq_default_lease_file_and_leasefile_ro(tmp_path):
    conf = tmp_path / "dnsmasq.conf"
    conf.write_text("dhcp-range=198.51.100.100,198.51.100.199\n")
    facts = read(f"dnsmasq:{conf}")
    assert ranges(facts) == {("198.51.100.100", "198.51.100.199")}
    assert facts.ranges[0].subnet is None  # no netmask: dnsmasq takes it from the interface
    if not os.path.exists("/var/lib/misc/dnsmasq.leases"):  # a machine running dnsmasq may have it
        assert any("lease file /var/lib/misc/dnsmasq.leases does not exist" in note for note in facts.notes)
    conf.write_text("dhcp-range=198.51.100.100,198.51.100.199\nleasefile-ro\n")
    assert any("leasefile-ro" in note for note in read(f"dnsmasq:{conf}").notes)


def test_dnsmasq_comments_quotes_and_conf_file(tmp_path):
    (tmp_path / "more.conf").write_text('dhcp-host=02:00:00:00:00:40,"quoted # name",198.51.100.40  # trailing\n')
    conf = tmp_path / "dnsmasq.conf"
    conf.write_text("# a comment\n  \nconf-file=more.conf\ndhcp-range=198.51.100.100,198.51.100.110 # why\n")
    facts = read(f"dnsmasq:{conf}?leases=")
    assert ranges(facts) == {("198.51.100.100", "198.51.100.110")}
    assert facts.reservations[0].hostname == "quoted # name"


@pytest.mark.parametrize("content, message", [
    ("dhcp-range=198.51.100.100\n", "bad dhcp-range=198.51.100.100"),
    ("dhcp-range=lan\n", "bad dhcp-range=lan"),
    ("dhcp-range=198.51.100.100,2001:db8::1\n", "different IP versions"),
    ("conf-dir=/nonexistent-ipaK-dir\n", "cannot read conf-dir /nonexistent-ipaK-dir"),
    ("conf-file=/nonexistent-ipaK.conf\n", "cannot read dnsmasq config /nonexistent-ipaK.conf"),
])
def test_dnsmasq_bad_config_is_one_line_source_error(tmp_path, content, message):
    conf = tmp_path / "dnsmasq.conf"
    conf.write_text(content)
    with pytest.raises(SourceError) as caught:
        read(f"dnsmasq:{conf}?leases=")
    assert message in caught.value.one_line() and f"dnsmasq:{conf}" in caught.value.one_line()


def test_file_uri_rejects_unknown_parameters_and_empty_paths():
    with pytest.raises(SourceError, match="unknown parameter 'lease'"):
        read(f"dnsmasq:{DNSMASQ}/dnsmasq.conf?lease=x")
    with pytest.raises(SourceError, match="names no file"):
        read("dnsmasq:")


# --- ISC dhcpd -----------------------------------------------------------------------------------

DHCPD = FIXTURES / "dhcpd"
# dhcpd.leases was recorded by record-leases.py at 22:48 UTC that day (1h leases).
DHCPD_RECORDED = datetime(2026, 11, 26, 22, 50, tzinfo=timezone.utc)


def test_dhcpd_ranges_in_subnets_pools_and_shared_networks():
    facts = read(f"dhcpd:{DHCPD}/dhcpd.conf?leases=")
    assert ranges(facts) == {("198.51.100.100", "198.51.100.149"), ("198.51.100.160", "198.51.100.169"),
                             ("203.0.113.10", "203.0.113.20"), ("203.0.113.200", "203.0.113.200")}
    subnets = {str(IPAddress(r.addresses.first)): r for r in facts.ranges}
    assert subnets["198.51.100.160"].subnet == IPNetwork("198.51.100.0/24")  # dynamic-bootp
    assert subnets["203.0.113.10"].subnet == IPNetwork("203.0.113.0/25")  # inside pool { }
    assert "shared-network lab" in subnets["203.0.113.200"].label


def test_dhcpd_fixed_addresses_in_hosts_groups_and_includes():
    reservations = by_ip(read(f"dhcpd:{DHCPD}/dhcpd.conf?leases=").reservations)
    assert set(reservations) == {"198.51.100.10", "198.51.100.11", "198.51.100.12", "203.0.113.15"}
    assert (reservations["198.51.100.10"].hostname, reservations["198.51.100.10"].mac) == ("nas", "02:00:00:00:00:10")
    assert reservations["198.51.100.12"].hostname == "printer"
    assert reservations["203.0.113.15"].hostname == "camera"  # from dhcpd-hosts.conf


def test_dhcpd_lease_file_last_block_wins_and_binding_state_matters():
    facts = read(f"dhcpd:{DHCPD}/dhcpd.conf?leases={DHCPD}/dhcpd.leases", now=DHCPD_RECORDED)
    # .101 was leased, then released: its later "binding state free" block wins.
    assert [str(lease.ip) for lease in facts.leases] == ["198.51.100.100"]
    lease = facts.leases[0]
    assert (lease.mac, lease.hostname) == ("02:00:00:00:01:21", "client-one")
    assert lease.expires is not None and lease.expires.year == 2026 and lease.expires.hour == 23


def test_dhcpd_lease_times_never_epoch_abandoned_and_past_end(tmp_path):
    leases = tmp_path / "dhcpd.leases"
    leases.write_text(
        'lease 198.51.100.120 { binding state active; ends never; hardware ethernet 02:00:00:00:01:20; }\n'
        'lease 198.51.100.121 { binding state active; ends epoch 1795740000; # Thu Nov 27 00:40:00 2026\n'
        '  uid "\\001\\002;}#"; }\n'
        'lease 198.51.100.122 { binding state abandoned; ends 4 2026/11/26 23:00:00; }\n'
        'lease 198.51.100.123 { binding state active; ends 4 2026/11/26 22:00:00; }\n'
        'lease 198.51.100.124 { binding state backup; ends never; }\n')
    facts = read(f"dhcpd:{DHCPD}/dhcpd.conf?leases={leases}", now=DHCPD_RECORDED)
    found = by_ip(facts.leases)
    assert set(found) == {"198.51.100.120", "198.51.100.121", "198.51.100.122"}
    assert found["198.51.100.120"].expires is None
    assert found["198.51.100.121"].expires == from_epoch(1795740000)
    assert any("abandoned" in note and "198.51.100.122" in note for note in facts.notes)
    assert any("1 active lease(s)" in note and "past their end" in note for note in facts.notes)


@pytest.mark.parametrize("content, message", [
    ("subnet 198.51.100.0 netmask 255.255.255.0 {\n range 198.51.100.10 198.51.100.20;\n", "missing '}'"),
    ("subnet 198.51.100.0 netmask 255.255.255.0 {\n range 198.51.100.10 198.51.100.20\n}\n", "line 2: missing ';'"),
    ("}\n", "line 1: unexpected '}'"),
    ("subnet 198.51.100.0 netmask 255.255.255.0 { range 198.51.100.x; }\n", "is not an IPv4 address"),
    ("subnet 198.51.100.0 { }\n", "expected 'subnet NETWORK netmask MASK'"),
    ('include "absent-ipaK.conf";\n', "cannot read dhcpd include"),
])
def test_dhcpd_bad_config_is_one_line_source_error(tmp_path, content, message):
    conf = tmp_path / "dhcpd.conf"
    conf.write_text(content)
    with pytest.raises(SourceError) as caught:
        read(f"dhcpd:{conf}?leases=")
    assert message in caught.value.one_line() and f"dhcpd:{conf}" in caught.value.one_line()


# --- OpenWrt UCI ---------------------------------------------------------------------------------

OPENWRT = FIXTURES / "openwrt"


def test_openwrt_start_limit_on_the_lan_address_as_dnsmasq_init_computes_it():
    facts = read(f"openwrt:{OPENWRT}", now=DNSMASQ_RECORDED)
    assert ranges(facts) == {
        ("198.51.100.100", "198.51.100.249"),  # defaults written out: start 100, limit 150 on /24
        ("203.0.113.72", "203.0.113.126"),  # start 200 wraps into the /25 (200 & 127), the end is capped
    }
    lan = [r for r in facts.ranges if r.subnet == IPNetwork("198.51.100.0/24")][0]
    assert lan.label.endswith(" dhcp.lan (lan)")
    assert any("dynamicdhcp 0" in note and "iot" in note for note in facts.notes)  # static-only section
    # wan has "ignore 1" (and proto dhcp): no range, and the note says it is switched off.
    assert [note for note in facts.notes if "wan" in note] == ["dhcp.wan: DHCP is switched off on wan (ignore)"]


def test_openwrt_static_leases_and_lease_file_under_the_copied_root():
    facts = read(f"openwrt:{OPENWRT}", now=DNSMASQ_RECORDED)
    reservations = by_ip(facts.reservations)
    assert set(reservations) == {"198.51.100.10", "198.51.100.20"}  # ip 'ignore' is skipped
    assert (reservations["198.51.100.20"].hostname, reservations["198.51.100.20"].mac) == ("laptop", "02:00:00:00:00:20")
    assert set(by_ip(facts.leases)) == {"198.51.100.10", "198.51.100.194", "198.51.100.196"}


def test_openwrt_config_dir_dhcp_file_and_explicit_leases():
    config = OPENWRT / "etc" / "config"
    by_dir = read(f"openwrt:{config}?leases={OPENWRT}/tmp/dhcp.leases", now=DNSMASQ_RECORDED)
    by_file = read(f"openwrt:{config}/dhcp?leases=", now=DNSMASQ_RECORDED)
    assert ranges(by_dir) == ranges(by_file)
    assert len(by_dir.leases) == 3 and by_file.leases == ()


def test_openwrt_defaults_cidr_ipaddr_and_dhcp_netmask_override(tmp_path):
    (tmp_path / "network").write_text("config interface 'lan'\n\toption proto 'static'\n\toption ipaddr '192.0.2.1/24'\n")
    (tmp_path / "dhcp").write_text("config dhcp 'lan'\n\toption interface 'lan'\n")
    assert ranges(read(f"openwrt:{tmp_path}?leases=")) == {("192.0.2.100", "192.0.2.249")}
    (tmp_path / "dhcp").write_text("config dhcp 'lan'\n\toption interface 'lan'\n\toption start '10'\n"
                                   "\toption limit '500'\n\toption netmask '255.255.255.192'\n")
    assert ranges(read(f"openwrt:{tmp_path}?leases=")) == {("192.0.2.10", "192.0.2.62")}


@pytest.mark.parametrize("dhcp, network, message", [
    ("config dhcp 'lan'\n\toption interface 'lan\n", "", "unbalanced quotes"),
    ("\toption start '100'\n", "", "before any 'config' section"),
    ("config dhcp 'lan'\n\tfrobnicate 1\n", "", "not UCI syntax"),
])
def test_openwrt_bad_files_are_one_line_source_errors(tmp_path, dhcp, network, message):
    (tmp_path / "dhcp").write_text(dhcp)
    (tmp_path / "network").write_text(network)
    with pytest.raises(SourceError) as caught:
        read(f"openwrt:{tmp_path}?leases=")
    assert message in caught.value.one_line()


def test_openwrt_missing_network_file(tmp_path):
    (tmp_path / "dhcp").write_text("config dhcp 'lan'\n")
    with pytest.raises(SourceError, match="cannot read UCI network file"):
        read(f"openwrt:{tmp_path}/dhcp")


def test_pihole_v5_is_a_dnsmasq_directory():
    # Pi-hole v5 writes its DHCP settings and static leases as dnsmasq drop-ins in /etc/dnsmasq.d.
    root = FIXTURES / "pihole-v5" / "etc"
    facts = read(f"dnsmasq:{root}/dnsmasq.d?leases={root}/pihole/dhcp.leases", now=DNSMASQ_RECORDED)
    assert ranges(facts) == {("198.51.100.100", "198.51.100.199")}
    assert {(str(r.ip), r.hostname) for r in facts.reservations} == {("198.51.100.10", "nas"),
                                                                      ("198.51.100.11", "printer")}
    assert len(facts.leases) == 3
    # Without ?leases=, the lease file named in 02-pihole-dhcp.conf is used (absent on this machine).
    facts = read(f"dnsmasq:{root}/dnsmasq.d")
    assert any("/etc/pihole/dhcp.leases does not exist" in note for note in facts.notes)


# --- the fixtures are what the real servers accept -------------------------------------------------

@pytest.mark.parametrize("argv, directory", [
    (["kea-dhcp4", "-t", "kea-dhcp4.conf"], KEA),
    (["dnsmasq", "--test", "-C", "dnsmasq.conf"], DNSMASQ),
    (["dhcpd", "-t", "-cf", "dhcpd.conf"], DHCPD),
], ids=["kea", "dnsmasq", "dhcpd"])
def test_config_fixtures_pass_the_real_servers_own_syntax_check(argv, directory):
    if shutil.which(argv[0]) is None:
        pytest.fail(f"{argv[0]} is not installed (apt-get install kea-dhcp4-server dnsmasq-base isc-dhcp-server)")
    checked = subprocess.run(argv, cwd=directory, capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_dhcpd_pool_outside_subnet_gets_its_subnet_and_omapi_hosts_in_the_lease_file(tmp_path):
    conf = tmp_path / "dhcpd.conf"
    conf.write_text("shared-network lab {\n subnet 203.0.113.0 netmask 255.255.255.0 { }\n"
                    " pool { range 203.0.113.50 203.0.113.60; }\n}\n")
    leases = tmp_path / "dhcpd.leases"
    leases.write_text('host kept { dynamic; hardware ethernet 02:00:00:00:00:70; fixed-address 203.0.113.70; }\n'
                      'host gone { dynamic; hardware ethernet 02:00:00:00:00:71; fixed-address 203.0.113.71; }\n'
                      'host gone { dynamic; deleted; }\n')
    facts = read(f"dhcpd:{conf}?leases={leases}", now=DHCPD_RECORDED)
    assert [r.subnet for r in facts.ranges] == [IPNetwork("203.0.113.0/24")]
    assert [(str(r.ip), r.hostname, r.mac) for r in facts.reservations] == [("203.0.113.70", "kept", "02:00:00:00:00:70")]


def test_openwrt_dhcp_section_without_interface_serves_nothing(tmp_path):
    (tmp_path / "network").write_text("config interface 'lan'\n\toption proto 'static'\n\toption ipaddr '192.0.2.1/24'\n")
    (tmp_path / "dhcp").write_text("config dhcp 'lan'\n\toption start '100'\n")
    facts = read(f"openwrt:{tmp_path}?leases=")
    assert facts.ranges == ()
    assert any("no interface option" in note for note in facts.notes)
