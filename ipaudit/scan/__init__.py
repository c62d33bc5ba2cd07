"""The wire: ARP sweeps, DHCP discovery and passive listening on one interface."""
