"""The `ipaudit check-pool` and `ipaudit recommend` commands (being written)."""

COMMANDS: list = []
