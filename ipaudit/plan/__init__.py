"""Pure checks and recommendations over the LAN model; no I/O here."""
