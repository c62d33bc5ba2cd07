"""Who made a network card, from the MAC's OUI (netaddr's IEEE registry copy)."""

from __future__ import annotations

from functools import lru_cache

LOCALLY_ADMINISTERED = "locally administered"


@lru_cache(maxsize=4096)
def vendor_of(mac: str) -> str | None:
    """The OUI owner of ``mac``, "locally administered" when the U/L bit is set, else None."""
    try:
        first_octet = int(mac.replace("-", ":").split(":")[0], 16)
    except ValueError:
        return None
    if first_octet & 0x02:
        # Randomised phone MACs, VMs, containers: no maker to look up.
        return LOCALLY_ADMINISTERED
    from netaddr import EUI

    try:
        return EUI(mac).oui.registration().org
    except Exception:  # noqa: BLE001 - netaddr raises several types for unregistered or odd OUIs
        return None
