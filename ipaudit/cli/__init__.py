"""The command line: option groups, commands and the one place errors become exit statuses."""
