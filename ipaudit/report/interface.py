"""What a planning report holds, and the output formats every command offers."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ipaudit.exitstatus import ExitStatus
from ipaudit.model import Finding, Lan, Pool
from ipaudit.plan.recommend import Recommendation


class OutputFormat(str, Enum):
    TABLE = "table"
    JSON = "json"


@dataclass(frozen=True)
class PlanReport:
    """The result of check-pool or recommend: pools, findings, recommendations and the verdict."""

    pools: tuple[Pool, ...]
    findings: tuple[Finding, ...]
    recommendations: tuple[Recommendation, ...]
    lan: Lan
    status: ExitStatus
