"""From one run's findings to its conflicts: the ignore list, and one conflict per address.

A phone that answers for a VIP can show up twice (``duplicate-ip`` from the sweep, and
``vip-claimed-by-foreign-device`` from check-pool's VIP ownership); the user must get one
alert about it, named for what it is, so the VIP claim wins its address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ipaudit.audit.config import Ignore
from ipaudit.findings import Code
from ipaudit.model import Finding, Severity

#: Findings worth an alert; info is recorded in the metrics only.
ALERTED = (Severity.CRITICAL, Severity.WARNING)


@dataclass(frozen=True)
class Conflict:
    """One open problem on one LAN, as the state and the alerts know it."""

    key: str
    code: str
    severity: str
    address: str
    message: str


def is_ignored(item: Finding, ignore: Sequence[Ignore]) -> bool:
    return any(rule.code == item.code and (rule.ip is None or rule.ip in item.addresses) for rule in ignore)


def _rank(item: Finding) -> tuple[int, int, str]:
    return (0 if item.code == Code.VIP_CLAIMED_BY_FOREIGN_DEVICE else 1,
            ALERTED.index(item.severity), item.key)


def fold(findings: Sequence[Finding], ignore: Sequence[Ignore] = ()) -> list[Conflict]:
    """One conflict per address: the strongest finding about it wins; the others about it are folded in.

    Ignoring the winner ignores the whole conflict, what was folded into it included: the
    phone on an acknowledged VIP must not resurface as a ``duplicate-ip``.
    """
    candidates = sorted((f for f in findings if f.severity in ALERTED), key=_rank)
    covered: set[str] = set()
    conflicts = []
    for item in candidates:
        addresses = set(item.addresses)
        if addresses and addresses <= covered:
            continue
        covered |= addresses
        if is_ignored(item, ignore):
            continue
        address = item.addresses[0] if item.addresses else (item.pool or "")
        conflicts.append(Conflict(key=item.key, code=str(item.code), severity=item.severity.value,
                                  address=address, message=item.message))
    return conflicts
