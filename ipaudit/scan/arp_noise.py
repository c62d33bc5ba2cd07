"""``arp-flood`` and ``arp-malformed``: what a sweep heard that no honest device sends.

Pure functions of the sweep's bounded counts (``arp_tally.NoiseCounts``). A flood is
told from a busy LAN by comparing with what the scan asked for: each request draws at
most one reply per holder, so a source that sent far more frames than the scan sent
requests, an address claimed by more MACs than any LAN has, or far more frames in all
than requests, were not answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from ipaudit.findings import Code, finding
from ipaudit.model import Finding
from ipaudit.scan.arp_tally import MAX_MACS_PER_IP, NoiseCounts

#: Frames a source may send beyond one per request before it counts as flooding
#: (announcements, other hosts' requests, a proxy-ARP router answering a whole block).
SOURCE_SLACK = 1000
#: All frames heard beyond this many per request sent (plus the slack) make a flood.
FRAMES_PER_REQUEST = 10
NAMED_SOURCES = 5


@dataclass(frozen=True)
class Shielded:
    """What the sweep's kernel filter dropped unread once it saw a flood (``arp_shield``): the sources
    and addresses passed this module's tests when they were shielded, so they stay a flood."""

    frames: int = 0
    sources: tuple[str, ...] = ()  # Ethernet sources shielded
    addresses: tuple[str, ...] = ()  # addresses whose claims were shielded
    counted: bool = True  # False: the counting socket failed, ``frames`` is a lower bound


def flood_finding(noise: NoiseCounts, requests_sent: int, kernel_drops: int = 0,
                  shielded: Shielded = Shielded()) -> list[Finding]:
    """``arp-flood`` naming the busiest source MACs and the addresses claimed by too many MACs."""
    heavy = [(mac, frames) for mac, frames in noise.sources
             if frames > requests_sent + SOURCE_SLACK or mac in shielded.sources]
    crowded = [(ip, more) for ip, more in noise.more_macs if more > 0]
    too_many = noise.frames + shielded.frames > FRAMES_PER_REQUEST * requests_sent + SOURCE_SLACK
    if not (heavy or crowded or too_many):
        return []
    named = heavy or list(noise.sources)
    shown = ", ".join(f"{mac} ({frames} frames)" for mac, frames in named[:NAMED_SOURCES])
    others = noise.distinct_sources - min(len(named), NAMED_SOURCES)
    parts = [f"{noise.frames} ARP frames heard while sending {requests_sent} requests, from {shown}"
             + (f" and {others} more source MACs" if others > 0 else "")]
    if crowded:
        at_least = lambda ip: "at least " if noise.more_macs_saturated or ip in shielded.addresses else ""  # noqa: E731
        parts.append("; ".join(f"{ip} claimed by {MAX_MACS_PER_IP} MACs kept and {at_least(ip)}{more} more"
                               for ip, more in crowded[:NAMED_SOURCES]))
    if shielded.frames or shielded.sources or shielded.addresses:
        parts.append(f"once the flood was plain, a kernel filter dropped {'at least ' if not shielded.counted else ''}"
                     f"{shielded.frames} more frames unread")
    if kernel_drops:
        parts.append(f"the kernel dropped {kernel_drops} frames the scan could not read in time")
    subject = sorted(ip for ip, _ in crowded) + sorted(mac for mac, _ in heavy)
    return [finding(
        Code.ARP_FLOOD,
        "; ".join(parts) + ": a flood (an attack or a broken device); answers counted from the flood are "
        "not trustworthy, scan again once it stops",
        addresses=tuple(ip for ip, _ in crowded), subject=subject or ["lan"])]


def malformed_finding(noise: NoiseCounts) -> list[Finding]:
    """``arp-malformed``: frames from an all-zero, broadcast or multicast MAC, counted, not devices."""
    if not noise.malformed:
        return []
    examples = ", ".join(f"{ip} from {mac}" for ip, mac in noise.malformed_examples)
    addresses = tuple(sorted({ip for ip, _ in noise.malformed_examples}))
    return [finding(
        Code.ARP_MALFORMED,
        f"{noise.malformed} ARP frames with an all-zero, broadcast or multicast sender MAC (e.g. {examples}): "
        "no device has such a MAC, so they were not counted as hosts",
        addresses=addresses, subject=addresses or ["lan"])]


def noise_findings(noise: NoiseCounts, requests_sent: int, kernel_drops: int = 0,
                   shielded: Shielded = Shielded()) -> list[Finding]:
    return flood_finding(noise, requests_sent, kernel_drops, shielded) + malformed_finding(noise)
