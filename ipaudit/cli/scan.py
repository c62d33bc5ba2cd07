"""The `ipaudit scan` command (being written)."""

COMMANDS: list = []
