"""Options on the command line: sets are repeatable and comma-separated, one-value options refuse a second.

These run through the real CLI, which also reads this machine's interfaces and routes; the addresses
(198.18.0.0/15, RFC 2544 benchmarking space) sit on no interface here.
"""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from ipaudit.cli.options import SingleValueOption, refuse_repeats

POOL = ["check-pool", "198.18.0.240-198.18.0.245", "--dhcp-range", "198.18.0.2-198.18.0.120"]


@pytest.mark.parametrize("twice, named", [
    (["--gateway", "198.18.0.1", "--gateway", "198.18.0.254"], "--gateway given 2 times"),
    (["--format", "json", "--format", "table"], "--format given 2 times"),
    (["--subnet", "198.18.0.0/24", "--subnet", "198.18.1.0/24"], "two IPv4 subnets"),
    (["--subnet", "198.18.0.0/24,198.18.1.0/24"], "two IPv4 subnets"),
    (["-o", "a.json", "--output", "b.json"], "--output given 2 times"),
])
def test_a_one_value_option_given_twice_is_a_usage_error(run_cli, twice, named):
    result = run_cli(*POOL, *twice)
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("ipaudit: error: ")
    assert named in result.stderr


def test_the_same_value_twice_is_no_ambiguity(run_cli):
    result = run_cli(*POOL, "--gateway", "198.18.0.1", "--gateway=198.18.0.1", "--subnet", "198.18.0.0/24",
                     "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["gateway"] == "198.18.0.1"


def test_one_subnet_per_family_is_dual_stack(run_cli):
    result = run_cli("check-pool", "198.18.0.240-198.18.0.245,2001:db8::10-2001:db8::20", "--subnet",
                     "198.18.0.0/24,2001:db8::/64", "--gateway", "198.18.0.1", "--dhcp-range",
                     "198.18.0.2-198.18.0.120", "--format", "json")
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["findings"] == []


def test_sets_are_repeatable_and_comma_separated(run_cli):
    result = run_cli(*POOL, "--subnet", "198.18.0.0/24", "--gateway", "198.18.0.1", "--format", "json",
                     "--node", "198.18.0.241,198.18.0.242", "--node", "198.18.0.243",
                     "--reserved", "198.18.0.244", "--in-use", "198.18.0.245,198.18.0.246")
    findings = {f["code"]: f["addresses"] for f in json.loads(result.stdout)["findings"]}
    assert findings["pool-includes-node"] == ["198.18.0.241-198.18.0.243"]
    assert findings["pool-includes-reserved"] == ["198.18.0.244"]
    assert findings["pool-address-in-use"] == ["198.18.0.245"]


def test_acceptance_pool_holding_an_unknown_router_exits_1(run_cli):
    result = run_cli("check-pool", "198.18.0.1-198.18.0.6", "--subnet", "198.18.0.0/24", "--dhcp-range",
                     "198.18.0.100-198.18.0.200")
    assert result.exit_code == 1
    assert "gateway-unknown" in result.stdout


def test_help_example_without_subnet_warns_instead_of_a_silent_half_check(run_cli):
    result = run_cli("check-pool", "198.18.0.240-245", "--dhcp-range", "198.18.0.2,198.18.0.120", "--gateway",
                     "198.18.0.1", "--format", "json")
    report = json.loads(result.stdout)
    assert result.exit_code == 1
    assert [f["code"] for f in report["findings"]] == ["subnet-unknown"]
    assert report["subnet"] == "198.18.0.0/24"
    assert any("read as the range 198.18.0.2-198.18.0.120" in n for n in report["notes"])


def test_refuse_repeats_converts_a_command_built_elsewhere():
    @click.command()
    @click.option("--rate", type=int)
    @click.option("--tag", multiple=True)
    @click.option("--force", is_flag=True)
    def command(rate, tag, force):
        click.echo(f"{rate} {','.join(tag)} {force}")

    refuse_repeats(command)
    assert isinstance(command.params[0], SingleValueOption)
    ok = CliRunner().invoke(command, ["--rate", "5", "--tag", "a", "--tag", "b", "--force", "--force"])
    assert ok.exit_code == 0 and ok.output == "5 a,b True\n"
    twice = CliRunner().invoke(command, ["--rate", "5", "--rate", "6"])
    assert twice.exit_code == 2 and "--rate given 2 times" in twice.output
