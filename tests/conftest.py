"""Shared test helpers: run the CLI in-process with stdout and stderr kept apart, and wait for a
namespace listener to be ready instead of sleeping a fixed time."""

from __future__ import annotations

import time

import logging

import pytest
from click.testing import CliRunner

from ipaudit.cli.main import program


@pytest.fixture
def run_cli():
    def run(*args: str, input: str | None = None):
        return CliRunner().invoke(program, list(args), input=input, catch_exceptions=False)
    return run


def packet_socket_bound(pid: int) -> bool:
    """Whether a bound, running AF_PACKET socket exists in ``pid``'s network namespace.

    In a lab host only the process under test opens one, so this is its readiness signal:
    ``/proc/<pid>/net/packet`` lists the namespace's packet sockets, with a non-zero
    interface index and R=1 once bound.
    """
    try:
        with open(f"/proc/{pid}/net/packet", encoding="ascii") as table:
            rows = [line.split() for line in table.readlines()[1:]]
    except FileNotFoundError:
        return False
    return any(len(row) >= 6 and row[4] != "0" and row[5] == "1" for row in rows)


@pytest.fixture
def wait_until_listening():
    """``wait(process)``: block until ``process`` (run in a lab host) has bound its raw socket."""
    def wait(process, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not packet_socket_bound(process.pid):
            assert process.poll() is None, f"listener exited early: {process.communicate()}"
            assert time.monotonic() < deadline, "listener did not open its raw socket in time"
            time.sleep(0.02)
    return wait


@pytest.fixture(autouse=True)
def _fresh_ipaudit_logger():
    """In-process CLI runs point the ``ipaudit`` logger at stderr and stop propagation; undo that after each test
    so caplog sees the records of the next one."""
    logger = logging.getLogger("ipaudit")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    yield
    logger.handlers[:] = saved[0]
    logger.propagate, logger.level = saved[1], saved[2]
