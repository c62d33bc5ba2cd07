"""What the lab's parts share: a host on the lab LAN, the lab's error, and its naming rules.

Kept apart from ``netns.py`` (which builds LANs) and ``dnsmasq.py`` (which runs
servers in them) so that neither imports the other's module in a circle, and so
that ``cleanup.py`` can recognise a lab's namespaces without building one.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field

from netaddr import IPAddress, IPNetwork

from ipaudit.errors import IpauditError

# Every lab namespace is "<prefix><owner pid>x<lab number>-<part>". The pid lets a later run
# tell a lab whose owner died (SIGKILL, SIGHUP before handlers) from one still in use.
PREFIX_PATTERN = r"ipa[A-Za-z]*"
LAB_NAMESPACE = re.compile(rf"^(?P<lab>{PREFIX_PATTERN}(?P<pid>[0-9]+)x[0-9]+)-[A-Za-z0-9_.-]+$")


class LabError(IpauditError):
    """The namespace lab could not be built (no ``ip``, not root, a command failed)."""


@dataclass
class Host:
    """One namespace on the lab LAN: its interface, MAC and addresses (first is primary)."""

    name: str
    namespace: str
    interface: str
    mac: str
    addresses: list[IPNetwork] = field(default_factory=list)
    switch_port: str = ""

    @property
    def ip(self) -> IPAddress:
        return self.addresses[0].ip

    @property
    def network(self) -> IPNetwork:
        return self.addresses[0].cidr


def lab_mac(number: int) -> str:
    """A locally administered unicast MAC (02:...) unique within a lab for ``number`` < 2**32."""
    return "02:1a:" + ":".join(f"{(number >> shift) & 0xFF:02x}" for shift in (24, 16, 8, 0))


def check_prefix(prefix: str) -> str:
    """``prefix`` if cleanup will recognise the lab's namespaces by it ("ipa" and letters)."""
    if not re.fullmatch(PREFIX_PATTERN, prefix):
        raise LabError(f"lab prefix {prefix!r} must be 'ipa' followed by letters only",
                       hint="e.g. ipaL: the owner's PID follows it, and cleanup relies on that")
    return prefix


def require_lab_tools() -> None:
    """Raise LabError unless we are root and iproute2's ``ip`` is installed."""
    if shutil.which("ip") is None:
        raise LabError("the namespace lab needs the `ip` command (iproute2), which is not on PATH",
                       hint="install it, e.g. apt-get install iproute2")
    if os.geteuid() != 0:
        raise LabError("the namespace lab needs root to create network namespaces",
                       hint="run it with sudo")
