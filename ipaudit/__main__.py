"""Allow ``python -m ipaudit``."""

from ipaudit.cli.main import main

main()
