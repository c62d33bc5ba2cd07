"""The ``ipaudit demo`` command: the blog's story on a throwaway LAN of network namespaces.

A router runs real dnsmasq handing out .2-.253 of 198.51.100.0/24, a phone already
holds .240, two hosts share .20 and a forgotten travel router runs a second
dnsmasq. ``ipaudit scan`` and ``ipaudit check-pool 198.51.100.240-245`` then run
for real from a scanner namespace, and everything is torn down afterwards, also
on failure, Ctrl-C, SIGTERM or SIGHUP. What a demo killed by SIGKILL left behind
is removed by the next ``demo`` or by ``demo --cleanup``. The integration tests
build their LANs with the same lab.
"""

from __future__ import annotations

import shutil
import sys

import click

SUBNET = "198.51.100.0/24"
GATEWAY = "198.51.100.1"
DHCP_RANGE = ("198.51.100.2", "198.51.100.253")
ROGUE_RANGE = ("198.51.100.100", "198.51.100.150")
POOL = "198.51.100.240-245"
# The lab's dnsmasq runs with --no-ping and offers at once; a real one pings ~3 s first,
# which is why scan's default window is 6 s. Keep the default on a real LAN.
DHCP_TIMEOUT = "2"

# (name, address, what it is): the LAN before the scanner joins it.
DEVICES = (
    ("router", "198.51.100.1/24", "home router, dnsmasq DHCP 198.51.100.2-198.51.100.253"),
    ("nas", "198.51.100.10/24", "NAS"),
    ("laptop", "198.51.100.20/24", "laptop with a static .20"),
    ("printer", "198.51.100.20/24", "printer someone also set to .20"),
    ("phone", "198.51.100.240/24", "phone that got .240 from DHCP"),
    ("travel", "198.51.100.254/24", "forgotten travel router, a second dnsmasq"),
)
SCANNER = ("scanner", "198.51.100.250/24", "this machine, where ipaudit runs")


def _say(text: str = "") -> None:
    click.echo(text, err=True)


def _check_tools() -> None:
    """One clear line before building anything: the lab needs root, ``ip`` and dnsmasq."""
    from ipaudit.lab import LabError, require_lab_tools

    require_lab_tools()
    if shutil.which("dnsmasq") is None:
        raise LabError("the demo needs dnsmasq, which is not on PATH",
                       hint="install it, e.g. apt-get install dnsmasq-base")


def build_story(lab) -> dict:
    """The blog's LAN in ``lab``; returns the hosts by name."""
    hosts = {name: host for (name, _, _), host in
             zip(DEVICES + (SCANNER,), lab.add_hosts([(name, address, None, ()) for name, address, _ in
                                                      DEVICES + (SCANNER,)]))}
    lab.start_dnsmasq(hosts["router"], ",".join(DHCP_RANGE), router=GATEWAY, dns=GATEWAY, lease_time="12h")
    lab.start_dnsmasq(hosts["travel"], ",".join(ROGUE_RANGE), router="198.51.100.254", lease_time="1h")
    return hosts


def _run_ipaudit(lab, scanner, args: list[str]) -> None:
    """Run the real CLI inside the scanner's namespace and show what a user would see."""
    shown = " ".join(["ipaudit", *args])
    _say(f"\n$ sudo {shown}      # in namespace {scanner.namespace}")
    done = lab.run(scanner, [sys.executable, "-m", "ipaudit", *args], check=False, timeout=180)
    click.echo(done.stdout, nl=False)
    if done.stderr.strip():
        click.echo(done.stderr.rstrip(), err=True)
    if done.returncode not in (0, 1, 2):
        from ipaudit.lab import LabError

        raise LabError(f"`{shown}` could not run in the demo LAN (exit {done.returncode})")
    _say(f"(exit status {done.returncode})")


def _remove_leftovers() -> None:
    """Remove what labs whose owner died (e.g. a demo killed with SIGKILL) left; say what."""
    from ipaudit.lab.cleanup import remove_stale_labs

    for lab in remove_stale_labs():
        _say(f"Removed the leftovers of lab {lab.name} (owner PID {lab.owner_pid} is gone): "
             f"{len(lab.namespaces)} namespaces, {len(lab.killed)} processes.")


@click.command("demo")
@click.option("--cleanup", is_flag=True,
              help="Only remove what an earlier demo or lab left when it was killed (its owner PID is gone), "
                   "then exit. Labs still in use are never touched.")
def demo_command(cleanup: bool) -> int:
    """Build a throwaway LAN in network namespaces and audit it: the blog's story, for real.

    \b
    The LAN (198.51.100.0/24, documentation addresses):
      router .1 running dnsmasq with DHCP .2-.253, a phone holding .240,
      a laptop and a printer both set to .20, a travel router running a second dnsmasq.
    Then, from a scanner namespace:
      ipaudit scan -i eth0 --allowed-dhcp 198.51.100.1 --dhcp-timeout 2
      ipaudit check-pool 198.51.100.240-245 -i eth0 --dhcp-timeout 2 \\
          --dhcp-range 198.51.100.2-198.51.100.253 --gateway 198.51.100.1
    Expect: duplicate-ip for .20, two DHCP servers (the travel router's unauthorized),
    pool-address-in-use for the phone at .240, and the pool overlapping DHCP.

    Everything is removed afterwards, also on failure, Ctrl-C, SIGTERM or SIGHUP.
    A demo killed with SIGKILL cannot clean up: the next demo, or
    `ipaudit demo --cleanup`, removes what it left (and nothing of a lab in use).

    Needs root, iproute2 (ip) and dnsmasq. Takes about 6 seconds.

    \b
    Example:
      sudo ipaudit demo
      sudo ipaudit demo --cleanup
    """
    from ipaudit.lab import Lab

    if cleanup:
        from ipaudit.lab import require_lab_tools

        require_lab_tools()
        _remove_leftovers()
        return 0
    _check_tools()
    _remove_leftovers()
    with Lab(prefix="ipademo") as lab:
        _say(f"Building a throwaway LAN in {SUBNET} (namespaces {lab.name}-*):")
        hosts = build_story(lab)
        for name, address, what in DEVICES + (SCANNER,):
            _say(f"  {address.split('/')[0]:<15} {hosts[name].mac}  {name:<8} {what}")
        scanner = hosts["scanner"]
        _say(f"(The demo's dnsmasq skips its ~3 s ping before offering, so --dhcp-timeout {DHCP_TIMEOUT} "
             "is enough here; on a real LAN keep the default.)")
        _run_ipaudit(lab, scanner, ["scan", "-i", scanner.interface, "--allowed-dhcp", GATEWAY,
                                    "--dhcp-timeout", DHCP_TIMEOUT])
        _run_ipaudit(lab, scanner, ["check-pool", POOL, "-i", scanner.interface, "--dhcp-timeout", DHCP_TIMEOUT,
                                    "--dhcp-range", "-".join(DHCP_RANGE), "--gateway", GATEWAY])
        _say(f"\nTearing down {len(lab.namespaces)} namespaces and {len(lab.processes)} processes.")
    _say("Done: nothing of the demo LAN is left.")
    return 0


COMMANDS = [demo_command]
