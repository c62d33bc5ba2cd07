"""DHCP servers on the scanning host itself (a forgotten Pi-hole, a dnsmasq for a VM bridge).

Their OFFER to our DISCOVER never reaches our raw socket: the kernel delivers it
over loopback or not at all. So we ask the kernel instead: every UDP socket bound to
port 67 in this network namespace (``/proc/net/udp``), and, where ``/proc/*/fd`` is
readable (root, before the capability drop), the process that holds it.
"""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

from netaddr import IPAddress

from ipaudit.findings import Code, finding
from ipaudit.model import Finding, Severity
from ipaudit.scan.dhcp_servers import AllowedDhcp

SERVER_PORT = 67
PROC = Path("/proc")
UNCONNECTED = "07"  # TCP_CLOSE, the state of a bound UDP socket that has no peer
#: Processes we look through for the socket's owner: beyond this many, the owner stays unnamed.
MAX_PROCESSES = 100_000


@dataclass(frozen=True)
class LocalListener:
    """A UDP/67 socket in this host's namespace and, if we could tell, who holds it."""

    address: IPAddress
    inode: int
    process: str | None = None  # "dnsmasq (pid 812)"


def _address(hex_text: str, width: int) -> IPAddress:
    raw = bytes.fromhex(hex_text)
    if width == 4:
        return IPAddress(socket.inet_ntop(socket.AF_INET, struct.pack("=I", int.from_bytes(raw, "big"))))
    words = struct.unpack(">4I", raw)
    return IPAddress(socket.inet_ntop(socket.AF_INET6, struct.pack("=4I", *words)))


def parse_proc_udp(text: str, width: int = 4) -> list[tuple[IPAddress, int]]:
    """(local address, inode) of every unconnected socket bound to port 67 in a /proc/net/udp table."""
    found = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or ":" not in fields[1]:
            continue
        address, _, port = fields[1].partition(":")
        try:
            if int(port, 16) != SERVER_PORT or fields[3] != UNCONNECTED:
                continue
            found.append((_address(address, width), int(fields[9])))
        except ValueError:
            continue
    return found


def _owners(inodes: set[int]) -> dict[int, str]:
    """socket inode -> "name (pid N)", from the fd links we may read."""
    wanted = {f"socket:[{inode}]": inode for inode in inodes}
    owners: dict[int, str] = {}
    try:
        pids = [entry for entry in os.listdir(PROC) if entry.isdigit()][:MAX_PROCESSES]
    except OSError:
        return owners
    for pid in pids:
        try:
            links = os.listdir(PROC / pid / "fd")
        except OSError:
            continue  # gone, or not ours to read
        for fd in links:
            try:
                target = os.readlink(PROC / pid / "fd" / fd)
            except OSError:
                continue
            if target in wanted and wanted[target] not in owners:
                try:
                    name = (PROC / pid / "comm").read_text(errors="replace").strip()
                except OSError:
                    name = "?"
                owners[wanted[target]] = f"{name} (pid {pid})"
        if len(owners) == len(wanted):
            break
    return owners


def local_dhcp_listeners() -> list[LocalListener]:
    """Every UDP/67 listener in the calling process's network namespace, sorted by address."""
    sockets: list[tuple[IPAddress, int]] = []
    for table, width in (("udp", 4), ("udp6", 16)):
        try:
            sockets += parse_proc_udp((PROC / "self" / "net" / table).read_text(), width)
        except OSError:
            continue
    if not sockets:
        return []
    owners = _owners({inode for _, inode in sockets})
    return sorted((LocalListener(address, inode, owners.get(inode)) for address, inode in sockets),
                  key=lambda listener: (listener.address.version, int(listener.address), listener.inode))


def local_dhcp_findings(listeners: list[LocalListener], own_ips=(), allowed: AllowedDhcp | None = None
                        ) -> list[Finding]:
    """``dhcp-server-on-this-host`` per listening address; info when --allowed-dhcp names this host."""
    own = {IPAddress(str(ip)) for ip in own_ips}
    findings = []
    seen: set[str] = set()
    for listener in listeners:
        where = f"{listener.address}:{SERVER_PORT}"
        if where in seen:
            continue  # several sockets on one address (SO_REUSEPORT): one finding
        seen.add(where)
        holders = sorted({l.process or "a process we may not inspect" for l in listeners if l.address == listener.address})
        serves_as = own if listener.address in (IPAddress("0.0.0.0"), IPAddress("::")) else {listener.address}
        allowed_here = allowed is not None and bool(serves_as & set(allowed.ips))
        findings.append(finding(
            Code.DHCP_SERVER_ON_THIS_HOST,
            f"a DHCP server listens on this host itself, {where} ({', '.join(holders)}): its offers never reach "
            "the scan's raw socket, so it is reported from the kernel's socket table"
            + ("; its address is in --allowed-dhcp" if allowed_here else
               ". A forgotten one (Pi-hole, a VM bridge's dnsmasq) hands out addresses nobody planned around"),
            addresses=(str(listener.address),),
            subject=("udp", where),
            severity=Severity.INFO if allowed_here else None))
    return findings
