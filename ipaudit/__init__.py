"""ipaudit: find IP-address and DHCP conflicts before they bite a layer-2 load balancer pool."""

__version__ = "0.1.0"
