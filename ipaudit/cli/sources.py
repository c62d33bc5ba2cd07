"""The `ipaudit sources` command (being written)."""

COMMANDS: list = []
