"""The exit statuses of every ipaudit command: the monitoring-plugin convention."""

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    WARNING = 1
    CRITICAL = 2
    # Also usage errors, bad input, missing privileges and unreachable sources.
    UNKNOWN = 3
