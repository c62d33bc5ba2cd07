"""Throwaway Ethernet LANs of network namespaces, for the demo, integration tests and benchmark.

    from ipaudit.lab import Lab

    with Lab(prefix="ipaL") as lab:                       # a bridge in namespace <prefix><pid>x<n>-sw
        router = lab.add_host("router", "198.51.100.1/24")   # namespace + veth "eth0" into the bridge
        phone = lab.add_host("phone", "198.51.100.240/24", mac="02:00:00:00:02:40")
        scanner = lab.add_host("scanner", "198.51.100.250/24")
        dhcp = lab.start_dnsmasq(router, "198.51.100.2,198.51.100.253", router="198.51.100.1")
        lab.run(scanner, ["ipaudit", "scan", "-i", "eth0", "--format", "json"])
        server = lab.spawn(router, ["some-daemon"])         # Popen; killed by PID at teardown
    # here every tracked process is dead and every lab namespace deleted

Big labs: ``lab.add_hosts([...])`` builds many namespaces with batched ``ip`` commands,
``lab.add_addresses(host, [...])`` puts thousands of addresses on one host (the kernel
answers ARP for each with that host's MAC), ``lab.drop_arp_requests(host, 20)`` drops 20%
of the ARP requests a host receives (nftables). Teardown runs on success, exception,
Ctrl-C, SIGTERM and interpreter exit. Needs root and iproute2; raises ``LabError``
(an ``IpauditError``) otherwise.
"""

from ipaudit.lab.dnsmasq import Dnsmasq, start_dnsmasq
from ipaudit.lab.host import Host, LabError, lab_mac, require_lab_tools
from ipaudit.lab.netns import Lab


__all__ = ["Dnsmasq", "Host", "Lab", "LabError", "lab_mac", "require_lab_tools", "start_dnsmasq"]
