"""What each command's report holds, the output formats, and how a renderer is told to draw.

Reports are frozen data made by the engine functions (``plan/engine.py``,
``scan/engine.py``, ``sources/show.py``); renderers in ``report/`` turn them into
text and never print.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from ipaudit.exitstatus import ExitStatus
from ipaudit.model import DhcpFacts, Finding, Inventory, Lan, Pool
from ipaudit.plan.recommend import Recommendation

if TYPE_CHECKING:  # a type only: the controllers' rules load when manifests are read (--from)
    from ipaudit.controllers.services import Vip


class OutputFormat(str, Enum):
    TABLE = "table"
    JSON = "json"


class EmitKind(str, Enum):
    """The manifests ``--emit`` writes (``report/manifest.py``); here so the CLI offers them without loading it."""

    METALLB = "metallb"
    CILIUM = "cilium"


@dataclass(frozen=True)
class RenderOptions:
    """How a table is drawn: the terminal's width, and whether severities get colour."""

    width: int = 100
    color: bool = False


@dataclass(frozen=True)
class PlanReport:
    """The result of check-pool or recommend: pools, findings, recommendations and the verdict."""

    pools: tuple[Pool, ...]
    findings: tuple[Finding, ...]
    recommendations: tuple[Recommendation, ...]
    lan: Lan
    status: ExitStatus
    #: What the sources could not tell, or what was left out (shown in tables, kept in JSON).
    notes: tuple[str, ...] = ()
    #: The pools as ``--emit`` writes them (moved to their recommended blocks).
    emitted: tuple[Pool, ...] = ()
    #: LoadBalancer Service addresses read from the cluster or manifests, with their pools.
    vips: tuple[Vip, ...] = ()
    #: The user's pool and L2 objects as read, so ``--emit`` keeps their settings and never reuses their names.
    existing: tuple[dict, ...] = ()


@dataclass(frozen=True)
class ScanReport:
    """The result of ``ipaudit scan``: the inventory, and what the human table shows beside it."""

    inventory: Inventory
    status: ExitStatus
    summary: str = ""
    #: First-reply round-trip time in seconds, by IP text.
    rtts: tuple[tuple[str, float], ...] = ()
    own_ip: str | None = None
    #: Every address of this host on the LAN (its primary, secondaries, --self-vip): marked in the table.
    own_ips: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceReport:
    """``ipaudit sources show URI``: what one DHCP source yields."""

    facts: DhcpFacts
    status: ExitStatus = ExitStatus.OK


@dataclass(frozen=True)
class SchemeRow:
    schemes: tuple[str, ...]
    example: str
    reads: str


@dataclass(frozen=True)
class SchemesReport:
    """``ipaudit sources``: the DHCP source schemes this build reads."""

    rows: tuple[SchemeRow, ...]
    status: ExitStatus = ExitStatus.OK


Report = PlanReport | ScanReport | SourceReport | SchemesReport
