"""The `ipaudit demo` command (being written)."""

COMMANDS: list = []
