"""What ``check-pool -i`` can vouch for: the DHCP servers it heard, and only the addresses it ARPed.

A pool probe asks about the pools' addresses (and the nodes'), not the whole subnet,
so a block recommended elsewhere was never asked about. Probing it too would mean a
second sweep, and a second plan whenever that sweep finds a device, for an answer a
full ``ipaudit scan`` gives better; so the recommendation says which of its addresses
were not probed and how to check them, and never calls them free on the wire's word.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from ipaudit.addresses import describe_set, format_range
from ipaudit.addressset import AddressSet
from ipaudit.model import Finding, Inventory
from ipaudit.plan.recommend import Recommendation


def dhcp_truths(live: Sequence[Inventory], interface: str, timeout: float) -> tuple[list[Finding], list[str]]:
    """``multiple-dhcp-servers`` when more than one answered the probe, and a note naming each one."""
    from ipaudit.scan.dhcp_findings import describe_server, dhcp_findings  # only -i gets here

    servers = [server for inventory in live for server in inventory.dhcp_servers]
    if not live:
        return [], []
    if not servers:
        return [], [f"-i {interface}: no DHCP server answered within {timeout:g} s"]
    seen = dict.fromkeys(describe_server(server) for server in servers)
    noun = "server" if len(seen) == 1 else "servers"
    return dhcp_findings(servers), [f"-i {interface}: DHCP {noun} that answered: {'; '.join(seen)}"]


def mark_unprobed(advice: Sequence[Recommendation], probed: AddressSet, interface: str) -> list[Recommendation]:
    """Each recommendation naming addresses the probe did not ask about, with a note saying so."""
    marked = []
    for item in advice:
        blocks = [item.block] if item.block is not None else list(item.zones)
        unprobed = AddressSet(blocks) - probed if blocks else AddressSet()
        if unprobed and item.block is not None:
            item = replace(item, message=f"{item.message}. Not probed: -i {interface} asked only about the "
                           f"pools' addresses, so {describe_set(unprobed)} may be in use; check it with "
                           f"'ipaudit check-pool {format_range(item.block)} -i {interface}' before using it")
        elif unprobed:
            item = replace(item, message=f"{item.message}. Not probed: {unprobed.size} of these addresses were "
                           f"not asked about by -i {interface}; run 'ipaudit scan -i {interface}' and pass "
                           "--inventory before using one")
        marked.append(item)
    return marked
