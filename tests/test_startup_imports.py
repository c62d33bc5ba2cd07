"""A plain ``check-pool`` loads only what it uses, so it starts fast (benchmarks/check_pool_speed.py times it).

Each run is a fresh interpreter that first imports what the benchmark's baseline does
(click, netaddr, tabulate; netaddr itself loads tempfile), then runs the command: the
modules added after that are the ones ipaudit chose to load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLAIN = ["check-pool", "192.0.2.240-245", "--subnet", "192.0.2.0/24", "--gateway", "192.0.2.1",
         "--dhcp-range", "192.0.2.2-192.0.2.100"]
RUN = ("import json, sys\n"
       "import click, netaddr, tabulate\n"
       "before = set(sys.modules)\n"
       "from ipaudit.cli.main import program\n"
       "code = program.main(sys.argv[1:], standalone_mode=False)\n"
       "print(json.dumps({'code': code, 'before': sorted(before), 'after': sorted(sys.modules)}), file=sys.stderr)\n")
# Only --from, --inventory, -i, -o, --emit and the other commands need these.
NOT_FOR_A_PLAIN_CHECK = ("scapy", "requests", "yaml", "tempfile", "ipaudit.controllers", "ipaudit.scan",
                         "ipaudit.report.scan_table", "ipaudit.report.sources", "ipaudit.report.manifest",
                         "ipaudit.sources.manifests", "ipaudit.sources.kubectl", "ipaudit.sources.k8s_api",
                         "ipaudit.sources.registry")
# The JSON report writes findings as the inventory format does; the table needs neither.
NOT_FOR_A_TABLE = ("ipaudit.safe_decode", "ipaudit.inventory")


def loaded_by(args: list[str]) -> tuple[int, set[str], set[str]]:
    """The exit status, the modules present before ipaudit was imported, and those present after the run."""
    path = os.pathsep.join([str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))])
    done = subprocess.run([sys.executable, "-c", RUN, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": path}, cwd=ROOT)
    assert done.stderr.strip(), done
    found = json.loads(done.stderr.strip().splitlines()[-1])
    return found["code"], set(found["before"]), set(found["after"])


def matching(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules for name in names if m == name or m.startswith(name + "."))


@pytest.mark.parametrize("output_format", ["table", "json"])
def test_a_plain_check_pool_loads_no_scanner_controller_manifest_or_temp_file_code(output_format):
    code, before, after = loaded_by([*PLAIN, "--format", output_format])
    assert code == 0
    assert not matching(before, ("ipaudit", "scapy", "requests", "yaml")), "loaded before the run: proves nothing"
    assert "ipaudit.plan.engine" in after
    assert ("ipaudit.report.table" if output_format == "table" else "ipaudit.report.json_report") in after
    added = after - before
    assert matching(added, NOT_FOR_A_PLAIN_CHECK) == []
    if output_format == "table":
        assert matching(added, NOT_FOR_A_TABLE) == []


def test_the_lazily_loaded_parts_still_load_when_asked_for(tmp_path):
    """--from and --emit pull in what the plain run leaves out (so the probe can see a module load), -o works."""
    manifest = tmp_path / "pools.yaml"
    manifest.write_text("apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: lan, namespace: x}\n"
                        "spec: {addresses: [192.0.2.240-192.0.2.245]}\n")
    code, before, after = loaded_by(["check-pool", "--from", str(manifest), *PLAIN[2:], "--emit", "metallb",
                                "-o", str(tmp_path / "out.yaml")])
    assert code in (0, 1)
    assert {"yaml", "ipaudit.controllers.metallb", "ipaudit.report.manifest", "ipaudit.safe_decode"} <= after - before
    assert "kind: IPAddressPool" in (tmp_path / "out.yaml").read_text()


def test_every_registered_renderer_names_a_function():
    from ipaudit.report.registry import RENDERERS, OutputFormat, renderer

    for report_type, formats in RENDERERS.items():
        for output_format in formats:
            assert callable(renderer(report_type, OutputFormat(output_format))), (report_type, output_format)
