"""Hostile lease and config paths through a real ``python3 -m ipaudit sources show`` under a 1 GiB address space.

Each must end in one line on stderr and exit 3 (or finish correctly) within the
timeout: /dev/zero and FIFOs are refused without blocking, oversized files are
refused at the documented size (docs/sources-files.md), nothing is read whole.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ipaudit.sources.files import MAX_CONFIG_BYTES, MAX_FILE_BYTES

ROOT = Path(__file__).resolve().parent.parent
ONE_GIB = 1 << 30
LIMIT_AND_RUN = ("import resource, runpy, sys; resource.setrlimit(resource.RLIMIT_AS, (%d, %d)); "
                 "sys.argv = ['ipaudit'] + sys.argv[1:]; runpy.run_module('ipaudit', run_name='__main__')"
                 % (ONE_GIB, ONE_GIB))


def show(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="200")
    return subprocess.run([sys.executable, "-c", LIMIT_AND_RUN, "sources", "show", *argv], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=ROOT)


def assert_refused(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 3, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in lines[0]


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    path = tmp_path / "dnsmasq.conf"
    path.write_text("dhcp-range=198.51.100.100,198.51.100.199,12h\n")
    return path


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "leases.fifo"
    os.mkfifo(path)  # nobody ever writes: a blocking open would hang forever
    return path


def test_dev_zero_as_the_lease_file(conf):
    assert_refused(show(f"dnsmasq:{conf}?leases=/dev/zero", timeout=20), "/dev/zero", "character device")


def test_fifo_as_the_lease_file(conf, fifo):
    assert_refused(show(f"dnsmasq:{conf}?leases={fifo}", timeout=20), str(fifo), "FIFO")


def test_fifo_as_the_config_and_as_an_included_config(tmp_path, conf, fifo):
    assert_refused(show(f"dnsmasq:{fifo}?leases=", timeout=20), str(fifo), "FIFO")
    conf.write_text(f"conf-file={fifo}\n")
    assert_refused(show(f"dnsmasq:{conf}?leases=", timeout=20), str(fifo), "FIFO")
    (tmp_path / "kea.conf").write_text(f'{{"Dhcp4": {{}}}}\n<?include "{fifo}"?>\n')
    assert_refused(show(f"kea:{tmp_path}/kea.conf?leases=", timeout=20), str(fifo), "FIFO")


def test_dev_zero_named_by_the_config_itself(tmp_path):
    # The lease path can come from a config we did not write, not only from ?leases=.
    conf = tmp_path / "dnsmasq.conf"
    conf.write_text("dhcp-range=198.51.100.100,198.51.100.199\ndhcp-leasefile=/dev/zero\n")
    assert_refused(show(f"dnsmasq:{conf}", timeout=20), "/dev/zero", "not a regular file")
    (tmp_path / "dhcp").write_text("config dnsmasq\n\toption leasefile '/dev/zero'\n")
    (tmp_path / "network").write_text("")
    assert_refused(show(f"openwrt:{tmp_path}", timeout=20), "/dev/zero")


def test_two_million_line_lease_file_is_refused_at_the_documented_size(conf, tmp_path):
    leases = tmp_path / "dnsmasq.leases"
    with open(leases, "w") as handle:
        for n in range(2_000_000):
            handle.write(f"0 02:00:00:{n >> 16 & 255:02x}:{n >> 8 & 255:02x}:{n & 255:02x} "
                         f"198.{18 + (n >> 16 & 1)}.{n >> 8 & 255}.{n & 255} host-{n} *\n")
    assert leases.stat().st_size > MAX_FILE_BYTES
    assert_refused(show(f"dnsmasq:{conf}?leases={leases}", timeout=30), str(leases), "larger than 64 MiB")


def test_a_kea_lfc_half_over_the_size_is_refused(conf, tmp_path):
    # kea-lfc's .2 half is read before the lease file itself: it gets the same checks.
    leases = tmp_path / "kea-leases4.csv"
    leases.write_text("address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state\n")
    with open(tmp_path / "kea-leases4.csv.2", "wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    (tmp_path / "kea.conf").write_text('{"Dhcp4": {"subnet4": []}}')
    assert_refused(show(f"kea:{tmp_path}/kea.conf?leases={leases}", timeout=30), "kea-leases4.csv.2", "64 MiB")


def test_an_oversized_config_with_one_endless_line(tmp_path):
    conf = tmp_path / "dnsmasq.conf"
    with open(conf, "wb") as handle:
        handle.write(b"dhcp-host=" + b"a" * (MAX_CONFIG_BYTES + 10))
    assert_refused(show(f"dnsmasq:{conf}?leases=", timeout=30), str(conf), "larger than 8 MiB")


def test_deeply_nested_dhcpd_braces(tmp_path):
    conf = tmp_path / "dhcpd.conf"
    conf.write_text("group {\n" * 100_000)
    assert_refused(show(f"dhcpd:{conf}?leases=", timeout=30), "nested deeper than 32")


def test_a_large_lease_file_within_the_limits_is_read(conf, tmp_path):
    leases = tmp_path / "dnsmasq.leases"
    with open(leases, "w") as handle:
        for n in range(50_000):
            handle.write(f"0 02:00:00:00:{n >> 8 & 255:02x}:{n & 255:02x} 198.18.{n >> 8 & 255}.{n & 255} h{n} *\n")
    result = show(f"dnsmasq:{conf}?leases={leases}", "--format", "json", timeout=60)
    assert result.returncode == 0, result.stderr
    assert '"198.18.195.79"' in result.stdout  # the last of 50,000 (195 * 256 + 79 = 49,999)


@pytest.mark.parametrize("scheme, text", [
    ("dnsmasq", "".join(f"0 02:00:00:00:00:{n:02x} 198.18.0.{n} * *\n" for n in range(1, 12))),
    ("kea", "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state\n"
     + "".join(f"198.18.0.{n},02:00:00:00:00:{n:02x},,3600,4102444800,1,0,0,,0\n" for n in range(1, 12))),
    ("dhcpd", "".join(f"lease 198.18.0.{n} {{ binding state active; }}\n" for n in range(1, 12))),
])
def test_more_distinct_leases_than_the_limit_are_refused(tmp_path, monkeypatch, scheme, text):
    """MAX_LEASES counts distinct addresses while streaming (lowered here: the test ranges hold fewer than 4 /16s)."""
    from ipaudit.sources import dhcpd, dnsmasq, kea_files
    from ipaudit.sources.interface import SourceError
    from ipaudit.sources.registry import open_source

    for module in (dhcpd, dnsmasq, kea_files):
        monkeypatch.setattr(module, "MAX_LEASES", 10)
    configs = {"dnsmasq": "dhcp-range=198.18.0.1,198.18.0.200\n", "kea": '{"Dhcp4": {"subnet4": []}}',
               "dhcpd": "subnet 198.18.0.0 netmask 255.255.255.0 { }\n"}
    (tmp_path / "conf").write_text(configs[scheme])
    (tmp_path / "leases").write_text(text)
    with pytest.raises(SourceError, match="holds more than 10 leases"):
        open_source(f"{scheme}:{tmp_path}/conf?leases={tmp_path}/leases").read()
    monkeypatch.setattr(dnsmasq, "MAX_LEASES", 11)
    monkeypatch.setattr(kea_files, "MAX_LEASES", 11)
    monkeypatch.setattr(dhcpd, "MAX_LEASES", 11)
    assert len(open_source(f"{scheme}:{tmp_path}/conf?leases={tmp_path}/leases").read().leases) == 11
