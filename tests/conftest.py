"""Shared test helpers: run the CLI in-process with stdout and stderr kept apart."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ipaudit.cli.main import program


@pytest.fixture
def run_cli():
    def run(*args: str, input: str | None = None):
        return CliRunner().invoke(program, list(args), input=input, catch_exceptions=False)
    return run
