"""Sources: facts read from files and HTTP APIs (DHCP servers, routers, clusters)."""
