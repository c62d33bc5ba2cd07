"""Write the audit's gauges in the node_exporter textfile format, atomically.

node_exporter's textfile collector reads every ``*.prom`` file in its directory on each scrape, so
a half-written file would be scraped as garbage: write a hidden temp file in the same directory
(same filesystem, so the rename is atomic) and rename it over the old one. Names follow the
Prometheus naming guide: an ``ipaudit_`` prefix, base units (``_seconds``), no ``_total`` on
gauges, and dimensions as labels, never in names.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from typing import Sequence

from ipaudit.errors import IpauditError


class MetricsError(IpauditError):
    """The metrics textfile could not be written."""


@dataclass(frozen=True)
class LanMetrics:
    """One LAN's numbers after a run. ``findings`` maps (code, severity) to a count;
    ``pool_free`` maps a pool name to its free addresses; ``last_success`` is None before the first."""

    lan: str
    findings: dict[tuple[str, str], int]
    hosts: int
    dhcp_servers: int
    pool_free: dict[str, int]
    last_run: float
    last_success: float | None
    duration: float


# (name, help); every family is a gauge.
FAMILIES = (
    ("ipaudit_findings", "Open findings of the last audit, by code and severity."),
    ("ipaudit_hosts", "Hosts that answered the last audit's ARP sweep."),
    ("ipaudit_dhcp_servers", "DHCP servers that answered the last audit."),
    ("ipaudit_pool_free_addresses", "Pool addresses neither in use nor answering, per pool."),
    ("ipaudit_last_run_timestamp_seconds", "Unix time the last audit run ended, successful or not."),
    ("ipaudit_last_success_timestamp_seconds", "Unix time the last audit that checked everything ended."),
    ("ipaudit_audit_duration_seconds", "How long the last audit run took."),
)


def render(metrics: Sequence[LanMetrics]) -> str:
    """The textfile: each family's HELP and TYPE once, then its samples, LANs in the given order."""
    names = [lan.lan for lan in metrics]
    if len(set(names)) != len(names):
        raise MetricsError("two LANs share one name; metrics need a unique lan label each")
    samples: dict[str, list[tuple[dict[str, str], float]]] = {
        "ipaudit_findings": [({"lan": m.lan, "code": code, "severity": severity}, count)
                             for m in metrics for (code, severity), count in sorted(m.findings.items())],
        "ipaudit_hosts": [({"lan": m.lan}, m.hosts) for m in metrics],
        "ipaudit_dhcp_servers": [({"lan": m.lan}, m.dhcp_servers) for m in metrics],
        "ipaudit_pool_free_addresses": [({"lan": m.lan, "pool": pool}, free)
                                        for m in metrics for pool, free in sorted(m.pool_free.items())],
        "ipaudit_last_run_timestamp_seconds": [({"lan": m.lan}, m.last_run) for m in metrics],
        "ipaudit_last_success_timestamp_seconds": [({"lan": m.lan}, m.last_success)
                                                   for m in metrics if m.last_success is not None],
        "ipaudit_audit_duration_seconds": [({"lan": m.lan}, m.duration) for m in metrics],
    }
    lines: list[str] = []
    for name, help_text in FAMILIES:
        lines.append(f"# HELP {name} {_escape_help(help_text)}")
        lines.append(f"# TYPE {name} gauge")
        lines.extend(f"{name}{_labels(labels)} {_value(value)}" for labels, value in samples[name])
    return "\n".join(lines) + "\n"


def write_textfile(path: str, metrics: Sequence[LanMetrics]) -> None:
    """Replace ``path`` with the rendered metrics in one rename; a reader sees the old or the new file."""
    text = render(metrics)
    directory = os.path.dirname(os.path.abspath(path))
    # A name not ending in .prom: the collector ignores the temp file while it is being written.
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    except OSError as problem:
        raise MetricsError(f"cannot write metrics in {directory}: {problem.strerror}",
                           "create the directory, or set metrics.textfile to one the job can write") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o644)  # node_exporter runs as its own user
        os.replace(temp, path)
    except OSError as problem:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise MetricsError(f"cannot write metrics file {path}: {problem.strerror}") from None


def escape_label_value(value: str) -> str:
    """Escape a label value as the text exposition format wants: backslash, double quote, newline."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _labels(labels: dict[str, str]) -> str:
    return "{" + ",".join(f'{name}="{escape_label_value(str(value))}"' for name, value in labels.items()) + "}"


def _value(value: float | int) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MetricsError(f"metric value {value!r} is not a number")
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


