"""A corpus of bad input: each exits 3 with one line on stderr, nothing on stdout, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BLOG = ["--subnet", "192.168.1.0/24", "--dhcp-range", "192.168.1.2-192.168.1.120"]


def write(tmp: Path, name: str, text: str | bytes) -> str:
    path = tmp / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


CASES = [
    # (id, argv builder taking tmp_path, words the error must contain)
    ("reversed-shorthand", lambda t: ["check-pool", "192.168.1.250-240"], "reversed"),
    ("reversed-full", lambda t: ["check-pool", "192.168.1.250-192.168.1.240"], "reversed"),
    ("bad-octet", lambda t: ["check-pool", "192.168.1.256"], "192.168.1.256"),
    ("bad-octet-in-range", lambda t: ["check-pool", "192.168.1.1-192.168.300.2"], "192.168.300.2"),
    ("three-octets", lambda t: ["check-pool", "192.168.1"], "192.168.1"),
    ("mixed-families", lambda t: ["check-pool", "192.168.1.1-2001:db8::1"], "mixes IPv4 and IPv6"),
    ("empty-spec", lambda t: ["check-pool", ""], "empty"),
    ("empty-list-item", lambda t: ["check-pool", "192.168.1.240,,192.168.1.241"], "empty item"),
    ("dangling-dash", lambda t: ["check-pool", "192.168.1.240-"], "incomplete range"),
    ("shorthand-over-255", lambda t: ["check-pool", "192.168.1.240-300"], "300"),
    ("prefix-too-long", lambda t: ["check-pool", "192.168.1.0/40"], "prefix"),
    ("prefix-not-number", lambda t: ["check-pool", "192.168.1.0/x"], "prefix"),
    ("leading-zero", lambda t: ["check-pool", "192.168.01.1"], "192.168.01.1"),
    ("words", lambda t: ["check-pool", "my-pool"], "my"),
    ("no-pool", lambda t: ["check-pool", *BLOG], "no pool"),
    ("bad-subnet", lambda t: ["check-pool", "192.168.1.240-245", "--subnet", "192.168.1.0"], "prefix length"),
    ("bad-gateway", lambda t: ["check-pool", "192.168.1.240-245", "--gateway", "router"], "router"),
    ("bad-dhcp-range", lambda t: ["check-pool", "192.168.1.240-245", "--dhcp-range", "2-120"], "'2'"),
    ("bad-in-use", lambda t: ["check-pool", "192.168.1.240-245", "--in-use", "192.168.1.x"], "192.168.1.x"),
    ("bad-node", lambda t: ["check-pool", "192.168.1.240-245", "--node", "10.0.0.300"], "10.0.0.300"),
    ("bad-reserved", lambda t: ["check-pool", "192.168.1.240-245", "--reserved", "1.2.3.4-1.2.3.1"], "reversed"),
    ("missing-manifest", lambda t: ["check-pool", "--from", str(t / "nope.yaml")], "nope.yaml"),
    ("broken-yaml", lambda t: ["check-pool", "--from", write(t, "b.yaml", "kind: IPAddressPool\nspec: [oops\n")],
     "line"),
    ("binary-manifest", lambda t: ["check-pool", "--from", write(t, "b.bin", b"\xff\xfe\x00garbage")], "b.bin"),
    # Manifests MetalLB refuses are no longer exit 3: they are Rejection data (manifest-rejected),
    # tested in tests/test_controller_rules.py.
    ("missing-inventory", lambda t: ["check-pool", "192.168.1.240-245", "--inventory", str(t / "none.json")],
     "none.json"),
    ("inventory-not-json", lambda t: ["check-pool", "192.168.1.240-245", "--inventory", write(t, "i.json", "{oops")],
     "not JSON"),
    ("inventory-wrong-shape", lambda t: ["check-pool", "192.168.1.240-245", "--inventory",
                                         write(t, "w.json", '{"hosts": 5, "dhcp_servers": []}')], "must be lists"),
    ("inventory-bad-ip", lambda t: ["check-pool", "192.168.1.240-245", "--inventory", write(
        t, "ip.json", '{"hosts": [{"ip": "999.1.1.1", "macs": []}], "dhcp_servers": []}')], "999.1.1.1"),
    ("unknown-source-scheme", lambda t: ["check-pool", "192.168.1.240-245", "--dhcp-source", "ftp://x"], "ftp"),
    ("source-without-scheme", lambda t: ["check-pool", "192.168.1.240-245", "--dhcp-source", "router"], "scheme"),
    ("bad-format", lambda t: ["check-pool", "192.168.1.240-245", "--format", "xml"], "xml"),
    ("unknown-option", lambda t: ["check-pool", "192.168.1.240-245", "--colour"], "--colour"),
    ("unknown-command", lambda t: ["check-pools"], "check-pools"),
    ("size-zero", lambda t: ["recommend", "--subnet", "192.168.1.0/24", "--size", "0"], "size"),
    ("recommend-no-subnet", lambda t: ["recommend", "--dhcp-range", "203.0.113.2-203.0.113.9"], "subnet"),
    ("unwritable-output", lambda t: ["check-pool", "192.168.1.240-245", *BLOG, "--output", str(t / "no/dir/x")],
     "cannot write"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_3(case, tmp_path):
    _, argv, named = case
    done = subprocess.run([sys.executable, "-m", "ipaudit", *argv(tmp_path)], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 3, done.stderr
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("ipaudit: error: ")
    assert named in done.stderr
    assert "Traceback" not in done.stderr


def test_corpus_is_large_enough():
    assert len(CASES) >= 30
