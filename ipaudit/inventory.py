"""The inventory JSON: what ``ipaudit scan --format json`` writes and ``--inventory`` reads.

Schema (version 1), a stable contract::

    {"version": 1, "interface": "eth0", "subnet": "192.168.1.0/24",
     "hosts": [{"ip": "192.168.1.10", "macs": ["aa:bb:..."], "vendor": "...", "hostname": "..."}],
     "dhcp_servers": [{"server_id", "mac", "source_ip", "offered_ip", "subnet_mask", "router",
                       "dns": [...], "lease_time", "relay"}],
     "findings": [{"code", "key", "severity", "message", "addresses": [...], "pool"}],
     "proxied": [{"block": "192.168.1.128/27", "mac": "...", "router": "192.168.1.1"}]}

``proxied``: blocks a router answers ARP for by proxy (their hosts are the router's MAC, not devices).

Only ``hosts`` and ``dhcp_servers`` are required when reading; every other key is optional
(``hostname`` and ``source_ip`` are newer: older inventories lack them). ``scan --format json``
adds ``generated_at``, ``status``, ``exit_code``, ``counts`` and ``notes`` around it.
"""

from __future__ import annotations

import json
from typing import Any

from netaddr import AddrFormatError, IPAddress

from ipaudit.addresses import parse_ip, parse_network
from ipaudit.errors import IpauditError
from ipaudit.findings import identity_key, known_code
from ipaudit.model import DhcpServer, Finding, Host, Inventory, ProxiedBlock, Severity
from ipaudit.safe_decode import DecodeError, load_json, read_file_bytes

SCHEMA_VERSION = 1
# A scan of a whole /16 (65,536 hosts) writes about 6 MiB; four times that leaves room and bounds memory.
MAX_INVENTORY_BYTES = 24 * 1024 * 1024

class InventoryError(IpauditError):
    """An inventory file that is not the scan JSON."""


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _address_value(text: str) -> tuple[int, int]:
    """(family, integer) of the first address in ``text`` (an IP, ``a-b`` or a CIDR); (9, 0) if none."""
    try:
        address = IPAddress(text.split("-", 1)[0].split("/", 1)[0].strip())
    except (ValueError, TypeError, AddrFormatError):
        return 9, 0
    return address.version, int(address)


def finding_order(finding: Finding) -> tuple:
    """By the value of the first address, then code and key: two scans of one LAN list findings alike."""
    first = _address_value(finding.addresses[0]) if finding.addresses else (0, 0)
    return first, str(finding.code), finding.key, finding.message


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    return {
        "code": str(finding.code),
        "key": finding.key,
        "severity": finding.severity.value,
        "message": finding.message,
        "addresses": list(finding.addresses),
        "pool": finding.pool,
    }


def _ip_key(ip) -> tuple[int, int]:
    return (0, -1) if ip is None else (ip.version, int(ip))


def _host_to_dict(host: Host) -> dict[str, Any]:
    # MACs keep the scan's order (the scanner's own first: hosts_from_observations decides it).
    record = {"ip": str(host.ip), "macs": list(host.macs), "vendor": host.vendor}
    if host.hostname is not None:
        record["hostname"] = host.hostname
    return record


def inventory_to_dict(inventory: Inventory) -> dict[str, Any]:
    """The inventory with everything sorted by value (IPs numerically), never by arrival, so two
    scans of the same LAN give byte-identical lists and a diff shows only what changed."""
    servers = sorted(inventory.dhcp_servers, key=lambda s: (_ip_key(s.server_id), s.mac or "", _ip_key(s.source_ip),
                                                             _ip_key(s.relay), _ip_key(s.offered_ip)))
    return {
        "version": SCHEMA_VERSION,
        "interface": inventory.interface,
        "subnet": _text(inventory.subnet),
        "hosts": [_host_to_dict(h) for h in sorted(inventory.hosts, key=lambda h: _ip_key(h.ip))],
        "dhcp_servers": [
            {
                "server_id": _text(s.server_id),
                "mac": s.mac,
                "source_ip": _text(s.source_ip),
                "offered_ip": _text(s.offered_ip),
                "subnet_mask": _text(s.subnet_mask),
                "router": _text(s.router),
                "dns": [str(d) for d in s.dns],
                "lease_time": s.lease_time,
                "relay": _text(s.relay),
            }
            for s in servers
        ],
        "findings": [finding_to_dict(f) for f in sorted(inventory.findings, key=finding_order)],
        "proxied": [{"block": str(p.block), "mac": p.mac, "router": _text(p.router)} for p in inventory.proxied],
    }


def _proxied(record: Any, where: str) -> ProxiedBlock:
    if not isinstance(record, dict) or not isinstance(record.get("block"), str) \
            or not isinstance(record.get("mac"), str):
        raise InventoryError(f"{where}: a proxied block needs a 'block' and a 'mac'")
    try:
        block = parse_network(record["block"])
    except IpauditError:
        raise InventoryError(f"{where}: proxied block {record['block'][:60]!r} is not a CIDR") from None
    return ProxiedBlock(block=block, mac=record["mac"].lower(), router=_optional_ip(record, "router", where))


def _optional_ip(record: dict, key: str, where: str) -> IPAddress | None:
    value = record.get(key)
    if value in (None, ""):
        return None
    try:
        ip = parse_ip(str(value))
    except IpauditError:
        raise InventoryError(f"{where}: {key} {value!r} is not an IP address") from None
    # Every DHCP server field is DHCPv4: an IPv6 value here would crash the subnet arithmetic later.
    if ip.version != 4:
        raise InventoryError(f"{where}: DHCP server {key} {value!r} is not an IPv4 address")
    return ip


def _ip_or_refuse(value: Any, key: str, where: str) -> IPAddress:
    try:
        return parse_ip(str(value))
    except IpauditError:
        raise InventoryError(f"{where}: {key} {value!r} is not an IP address") from None


def _host(record: Any, where: str) -> Host:
    # Called once per host: a scan of a /16 holds tens of thousands, so keep it lean.
    if not isinstance(record, dict) or not isinstance(record.get("ip"), str):
        raise InventoryError(f"{where}: a host needs an 'ip'")
    macs = record.get("macs") or ()
    if not isinstance(macs, list | tuple):
        raise InventoryError(f"{where}: 'macs' must be a list")
    try:
        ip = parse_ip(record["ip"])
    except IpauditError:
        raise InventoryError(f"{where}: ip {record['ip']!r} is not an IP address") from None
    vendor, hostname = record.get("vendor"), record.get("hostname")
    return Host(ip, tuple(str(m).lower() for m in macs), None if vendor is None else str(vendor),
                None if hostname is None else str(hostname))


def _server(record: Any, where: str) -> DhcpServer:
    if not isinstance(record, dict):
        raise InventoryError(f"{where}: a DHCP server must be an object")
    dns = record.get("dns") or []
    if not isinstance(dns, list):
        raise InventoryError(f"{where}: 'dns' must be a list")
    lease_time = record.get("lease_time")
    if lease_time is not None and (not isinstance(lease_time, int) or isinstance(lease_time, bool) or lease_time < 0):
        raise InventoryError(f"{where}: 'lease_time' must be a whole number of seconds")
    subnet_mask = _optional_ip(record, "subnet_mask", where)
    if subnet_mask is not None and not subnet_mask.is_netmask():
        # The scanner drops such a mask from an offer (dhcp-packet-malformed): only a hand-made file has one.
        raise InventoryError(f"{where}: DHCP server subnet_mask {str(subnet_mask)!r} is not a netmask "
                             "(its one bits must be contiguous, like 255.255.255.0)")
    return DhcpServer(
        server_id=_optional_ip(record, "server_id", where),
        mac=_text(record.get("mac")),
        offered_ip=_optional_ip(record, "offered_ip", where),
        subnet_mask=subnet_mask,
        router=_optional_ip(record, "router", where),
        dns=tuple(_ip_or_refuse(d, "dns", where) for d in dns),
        lease_time=lease_time,
        relay=_optional_ip(record, "relay", where),
        source_ip=_optional_ip(record, "source_ip", where),
    )


def _finding(record: Any, where: str) -> Finding:
    addresses = record.get("addresses") if isinstance(record, dict) else None
    if addresses is not None and (not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses)):
        raise InventoryError(f"{where}: a finding's 'addresses' must be a list of strings")
    try:
        code = known_code(str(record["code"]))
        if code is None:
            raise InventoryError(f"{where}: finding code {str(record['code'])[:60]!r} is unknown to this ipaudit")
        addresses = tuple(str(a) for a in record.get("addresses") or ())
        pool = record.get("pool")
        key = record.get("key") or identity_key(code, tuple(p for p in (pool, *addresses) if p))
        return Finding(code=code, severity=Severity(record["severity"]), message=str(record.get("message", "")),
                       addresses=addresses, pool=None if pool is None else str(pool), key=str(key))
    except (KeyError, TypeError, ValueError, AttributeError):
        raise InventoryError(f"{where}: a finding needs 'code' and a known 'severity'") from None


def inventory_from_dict(document: Any, where: str = "inventory") -> Inventory:
    if isinstance(document, dict) and document.get("status") == "unknown":
        raise InventoryError(f"{where} is the report of a scan that failed or is still running: "
                             f"{str(document.get('error'))[:200]}", hint="run the scan again")
    if not isinstance(document, dict) or "hosts" not in document or "dhcp_servers" not in document:
        raise InventoryError(f"{where}: not an ipaudit inventory (needs 'hosts' and 'dhcp_servers')")
    if not isinstance(document["hosts"], list) or not isinstance(document["dhcp_servers"], list):
        raise InventoryError(f"{where}: 'hosts' and 'dhcp_servers' must be lists")
    subnet = document.get("subnet")
    if subnet:
        try:
            subnet = parse_network(str(subnet))
        except IpauditError as problem:
            raise InventoryError(f"{where}: {problem.message}") from None
    findings = document.get("findings") or []
    proxied = document.get("proxied") or []
    if not isinstance(findings, list) or not isinstance(proxied, list):
        raise InventoryError(f"{where}: 'findings' and 'proxied' must be lists")
    return Inventory(
        hosts=tuple(_host(h, where) for h in document["hosts"]),
        dhcp_servers=tuple(_server(s, where) for s in document["dhcp_servers"]),
        interface=_text(document.get("interface")),
        subnet=subnet or None,
        findings=tuple(_finding(f, where) for f in findings),
        proxied=tuple(_proxied(p, where) for p in proxied),
    )


def load_inventory(path: str) -> Inventory:
    """Read one ``--inventory`` file: strict JSON, at most ``MAX_INVENTORY_BYTES`` (see ``safe_decode``)."""
    where = f"inventory {path}"
    try:
        document = load_json(read_file_bytes(path, where, MAX_INVENTORY_BYTES), where)
    except DecodeError as problem:
        raise InventoryError(problem.message, problem.hint) from None
    return inventory_from_dict(document, where=where)


def inventory_to_json(inventory: Inventory) -> str:
    return json.dumps(inventory_to_dict(inventory), indent=2) + "\n"

