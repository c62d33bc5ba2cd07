"""DHCP frames as bytes: build the one DISCOVER we send, parse the OFFERs and ACKs we hear.

Pure functions, ``struct`` only: the socket loops in ``dhcp.py`` and ``passive.py``
stay thin, and the parsers run on recorded pcaps with no privileges. We never build
a REQUEST, so a scan can never take a lease.
"""

from __future__ import annotations

import hashlib
import random
import struct
from dataclasses import dataclass

from netaddr import IPAddress

from ipaudit.errors import IpauditError
from ipaudit.model import DhcpServer

BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
SERVER_PORT = 67
CLIENT_PORT = 68
MAGIC_COOKIE = b"\x63\x82\x53\x63"

# DHCP message types (RFC 2132, option 53).
DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM = range(1, 9)
MESSAGE_TYPE_NAMES = {DISCOVER: "DISCOVER", OFFER: "OFFER", REQUEST: "REQUEST", DECLINE: "DECLINE",
                      ACK: "ACK", NAK: "NAK", RELEASE: "RELEASE", INFORM: "INFORM"}

# Options we read (RFC 2132).
OPT_PAD, OPT_SUBNET_MASK, OPT_ROUTER, OPT_DNS = 0, 1, 3, 6
OPT_LEASE_TIME, OPT_OVERLOAD, OPT_MESSAGE_TYPE, OPT_SERVER_ID = 51, 52, 53, 54
OPT_PARAMETER_REQUEST, OPT_MAX_SIZE, OPT_CLIENT_ID, OPT_END = 55, 57, 61, 255

ETH_HEADER = struct.Struct("!6s6sH")
IPV4_HEADER = struct.Struct("!BBHHHBBH4s4s")
UDP_HEADER = struct.Struct("!HHHH")
# op, htype, hlen, hops, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr, chaddr, sname, file
BOOTP_HEADER = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")
ETHERTYPE_IPV4, ETHERTYPE_VLAN, ETHERTYPE_QINQ = 0x0800, 0x8100, 0x88A8
BROADCAST_FLAG = 0x8000
BOOTREQUEST, BOOTREPLY = 1, 2
MIN_BOOTP_SIZE = 300  # RFC 1542: some servers drop shorter requests

# What the DISCOVER asks for: mask, router, DNS, domain, lease time, server id, renewal/rebinding.
REQUESTED_OPTIONS = bytes([1, 3, 6, 15, 51, 54, 58, 59])


class MalformedDhcp(IpauditError):
    """A frame that claims to be a DHCP reply but cannot be read; callers count it as skipped."""


@dataclass(frozen=True)
class DhcpReply:
    """One BOOTREPLY from a server (OFFER, ACK, NAK...) with who sent it and to whom.

    ``problems`` names each field that was garbage and left out (a mask of 255.0.255.0,
    a 3-byte router): one bad field must not cost the rest of the report.
    """

    message_type: int
    xid: int
    client_mac: str
    server: DhcpServer
    problems: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return MESSAGE_TYPE_NAMES.get(self.message_type, f"type-{self.message_type}")


# --- MAC helpers -------------------------------------------------------------

def mac_to_bytes(mac: str) -> bytes:
    parts = mac.replace("-", ":").split(":")
    if len(parts) != 6:
        raise IpauditError(f"not a MAC address: {mac!r}", "write it as six hex pairs, e.g. 02:00:5e:10:00:01")
    try:
        raw = bytes(int(part, 16) for part in parts)
    except ValueError:
        raise IpauditError(f"not a MAC address: {mac!r}",
                           "write it as six hex pairs, e.g. 02:00:5e:10:00:01") from None
    return raw


def mac_to_text(raw: bytes) -> str:
    return ":".join(f"{octet:02x}" for octet in raw)


def probe_mac(interface_mac: str) -> str:
    """The fixed client MAC our DISCOVERs carry on this interface.

    Locally administered and unicast, derived by hash so it is stable across runs
    (the server offers the same address each time and the pool never shrinks) yet
    never equal to the interface's own MAC, whose real lease it must not disturb.
    """
    digest = hashlib.sha256(b"ipaudit-dhcp-probe:" + mac_to_bytes(interface_mac)).digest()
    raw = bytes([(digest[0] & 0xFC) | 0x02]) + digest[1:6]
    if raw == mac_to_bytes(interface_mac):
        raw = bytes([raw[0]]) + bytes(octet ^ 0xFF for octet in raw[1:])
    return mac_to_text(raw)


def normalize_client_mac(mac: str) -> str:
    """Validate a ``--client-mac``: six octets, not multicast (a server would ignore it)."""
    raw = mac_to_bytes(mac)
    if raw[0] & 0x01:
        raise IpauditError(f"--client-mac {mac} is a multicast address", "use a unicast MAC such as 02:00:5e:10:00:01")
    return mac_to_text(raw)


def random_xid() -> int:
    return random.getrandbits(32)


# --- building ------------------------------------------------------------------

def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _option(code: int, value: bytes) -> bytes:
    return bytes([code, len(value)]) + value


def build_discover(client_mac: str, xid: int, source_mac: str | None = None) -> bytes:
    """A broadcast DISCOVER frame from 0.0.0.0:68 to 255.255.255.255:67, broadcast flag set.

    ``client_mac`` goes in chaddr and the client identifier; ``source_mac`` (the
    interface's own MAC) in the Ethernet header, so switches with port security and
    Wi-Fi access points pass the frame. The broadcast flag asks servers to broadcast
    their OFFER, so it reaches us although chaddr is not our MAC.
    """
    chaddr = mac_to_bytes(client_mac)
    options = (MAGIC_COOKIE
               + _option(OPT_MESSAGE_TYPE, bytes([DISCOVER]))
               + _option(OPT_CLIENT_ID, b"\x01" + chaddr)
               + _option(OPT_PARAMETER_REQUEST, REQUESTED_OPTIONS)
               + _option(OPT_MAX_SIZE, struct.pack("!H", 1500))
               + bytes([OPT_END]))
    zero = b"\x00" * 4
    bootp = BOOTP_HEADER.pack(BOOTREQUEST, 1, 6, 0, xid, 0, BROADCAST_FLAG, zero, zero, zero, zero,
                              chaddr.ljust(16, b"\x00"), b"\x00" * 64, b"\x00" * 128) + options
    bootp = bootp.ljust(MIN_BOOTP_SIZE, b"\x00")

    source_ip, dest_ip = zero, b"\xff" * 4
    udp_length = UDP_HEADER.size + len(bootp)
    pseudo = source_ip + dest_ip + struct.pack("!BBH", 0, 17, udp_length)
    udp_sum = _checksum(pseudo + UDP_HEADER.pack(CLIENT_PORT, SERVER_PORT, udp_length, 0) + bootp) or 0xFFFF
    udp = UDP_HEADER.pack(CLIENT_PORT, SERVER_PORT, udp_length, udp_sum) + bootp

    ip_header = IPV4_HEADER.pack(0x45, 0x10, IPV4_HEADER.size + len(udp), 0, 0, 64, 17, 0, source_ip, dest_ip)
    ip_header = ip_header[:10] + struct.pack("!H", _checksum(ip_header)) + ip_header[12:]
    ethernet = ETH_HEADER.pack(mac_to_bytes(BROADCAST_MAC), mac_to_bytes(source_mac or client_mac),
                               ETHERTYPE_IPV4)
    return ethernet + ip_header + udp


# --- parsing -------------------------------------------------------------------

def _udp_payload_from_server(frame: bytes) -> tuple[bytes, bytes, bytes] | None:
    """(server MAC, IP source, BOOTP bytes) if this is IPv4/UDP from port 67, else None."""
    if len(frame) < ETH_HEADER.size:
        return None
    _, source_mac, ethertype = ETH_HEADER.unpack_from(frame)
    offset = ETH_HEADER.size
    while ethertype in (ETHERTYPE_VLAN, ETHERTYPE_QINQ):
        if len(frame) < offset + 4:
            return None
        (ethertype,) = struct.unpack_from("!H", frame, offset + 2)
        offset += 4
    if ethertype != ETHERTYPE_IPV4 or len(frame) < offset + IPV4_HEADER.size:
        return None
    version_ihl, _, total_length, _, fragment, _, protocol, _, ip_source, _ = IPV4_HEADER.unpack_from(frame, offset)
    if version_ihl >> 4 != 4 or protocol != 17:
        return None
    header_length = (version_ihl & 0x0F) * 4
    if len(frame) < offset + header_length + UDP_HEADER.size:
        return None
    source_port, _, udp_length, _ = UDP_HEADER.unpack_from(frame, offset + header_length)
    if source_port != SERVER_PORT:
        return None
    # From here on the frame says it is a DHCP reply: anything wrong is malformed, not "other traffic".
    if header_length < IPV4_HEADER.size:
        raise MalformedDhcp(f"IPv4 header length {header_length} is below 20")
    if fragment & 0x3FFF:
        raise MalformedDhcp("fragmented DHCP reply")
    if total_length < header_length + UDP_HEADER.size or offset + total_length > len(frame):
        raise MalformedDhcp(f"IPv4 total length {total_length} does not fit the {len(frame) - offset}-byte packet")
    udp_start = offset + header_length
    if udp_length < UDP_HEADER.size or udp_start + udp_length > offset + total_length:
        raise MalformedDhcp(f"UDP length {udp_length} does not fit the IPv4 packet")
    return source_mac, ip_source, frame[udp_start + UDP_HEADER.size: udp_start + udp_length]


def _read_options(area: bytes, where: str, into: dict[int, bytes], problems: list[str]) -> None:
    """Parse code/length/value options; a repeated code concatenates (RFC 3396).

    A cut-off option or a missing end marker keeps what was read before it and says so in
    ``problems``: whether the reply is still usable is decided by the fields it needs.
    """
    index = 0
    while index < len(area):
        code = area[index]
        if code == OPT_PAD:
            index += 1
            continue
        if code == OPT_END:
            return
        if index + 1 >= len(area):
            problems.append(f"option {code} in {where} is cut off before its length")
            return
        length = area[index + 1]
        if index + 2 + length > len(area):
            problems.append(f"option {code} in {where} claims {length} bytes, only {len(area) - index - 2} left")
            return
        into[code] = into.get(code, b"") + area[index + 2: index + 2 + length]
        index += 2 + length
    if where == "options":
        problems.append("options have no end marker")


def _address(options: dict[int, bytes], code: int, problems: list[str]) -> IPAddress | None:
    """Option ``code`` as one IPv4 address; a wrong length is noted and the field left out."""
    value = options.get(code)
    if value is None:
        return None
    if len(value) != 4:
        problems.append(f"option {code} is {len(value)} bytes, an IPv4 address takes 4")
        return None
    return IPAddress(int.from_bytes(value, "big"))


def _addresses(options: dict[int, bytes], code: int, problems: list[str]) -> tuple[IPAddress, ...]:
    value = options.get(code)
    if value is None:
        return ()
    if not value or len(value) % 4:
        problems.append(f"option {code} is {len(value)} bytes, not a list of IPv4 addresses")
        return ()
    return tuple(IPAddress(int.from_bytes(value[i:i + 4], "big")) for i in range(0, len(value), 4))


def _server_id(options: dict[int, bytes], ip_source: IPAddress | None, problems: list[str]) -> IPAddress | None:
    """Option 54. Given twice (dnsmasq adds its own id beside one set with --dhcp-option=54) the parts
    concatenate (RFC 3396); clients differ on which they keep, so the id that is not the sender's
    own IP is the claim that counts: a copied id is how a rogue poses as the real server."""
    value = options.get(OPT_SERVER_ID)
    if value is None or len(value) <= 4 or len(value) % 4:
        return _address(options, OPT_SERVER_ID, problems)
    ids = [IPAddress(int.from_bytes(value[i:i + 4], "big")) for i in range(0, len(value), 4)]
    problems.append(f"option 54 (server id) names {len(ids)} servers: {', '.join(map(str, ids))}")
    return next((ip for ip in ids if ip != ip_source), ids[0])


def _netmask(options: dict[int, bytes], problems: list[str]) -> IPAddress | None:
    """Option 1, only if its one bits are contiguous: 255.0.255.0 names no subnet (RFC 950)."""
    mask = _address(options, OPT_SUBNET_MASK, problems)
    if mask is not None and not mask.is_netmask():
        problems.append(f"option 1 (subnet mask) {mask} is not a netmask: its one bits are not contiguous")
        return None
    return mask


def _nonzero(raw: bytes) -> IPAddress | None:
    value = int.from_bytes(raw, "big")
    return IPAddress(value) if value else None


def reply_from_packet(frame) -> DhcpReply | None:
    """Read a DHCP reply (any message type) from an Ethernet frame or a scapy packet.

    Returns None for frames that are not IPv4/UDP from port 67 (someone else's
    traffic). Raises MalformedDhcp when the frame is a DHCP reply that cannot be
    read at all: truncated header, wrong lengths, missing magic cookie or message
    type. A bad field (mask, router, lease...) is left out and named in ``problems``.
    """
    frame = bytes(frame)  # a scapy packet gives its wire bytes: one parser for both
    found = _udp_payload_from_server(frame)
    if found is None:
        return None
    server_mac, ip_source, bootp = found
    if len(bootp) < BOOTP_HEADER.size + len(MAGIC_COOKIE):
        raise MalformedDhcp(f"BOOTP message is {len(bootp)} bytes, shorter than its fixed header")
    (op, htype, hlen, _, xid, _, _, _, yiaddr, _, giaddr, chaddr, sname, boot_file) = BOOTP_HEADER.unpack_from(bootp)
    if op != BOOTREPLY:
        return None  # a request relayed from port 67 to a server: not an answer
    if bootp[BOOTP_HEADER.size: BOOTP_HEADER.size + 4] != MAGIC_COOKIE:
        raise MalformedDhcp("BOOTP reply without the DHCP magic cookie")
    if htype != 1 or hlen != 6:
        raise MalformedDhcp(f"hardware type {htype} / length {hlen} is not Ethernet")

    options: dict[int, bytes] = {}
    problems: list[str] = []
    _read_options(bootp[BOOTP_HEADER.size + 4:], "options", options, problems)
    overload = options.get(OPT_OVERLOAD, b"\x00")
    if len(overload) != 1:
        problems.append(f"option 52 (overload) is {len(overload)} bytes, takes 1")
        overload = b"\x00"
    if overload[0] & 1:
        _read_options(boot_file, "file field", options, problems)
    if overload[0] & 2:
        _read_options(sname, "sname field", options, problems)

    # Without a readable message type there is no telling an OFFER from a NAK: the whole packet goes.
    message_type = options.get(OPT_MESSAGE_TYPE)
    if message_type is None:
        raise MalformedDhcp("; ".join(["DHCP reply without a message type", *problems]))
    if len(message_type) != 1:
        raise MalformedDhcp(f"message type option is {len(message_type)} bytes, takes 1")
    lease = options.get(OPT_LEASE_TIME)
    if lease is not None and len(lease) != 4:
        problems.append(f"option 51 (lease time) is {len(lease)} bytes, takes 4")
        lease = None

    server = DhcpServer(
        # Option 54 names the server; an old BOOTP-style server without it is known by its IP source.
        server_id=_server_id(options, _nonzero(ip_source), problems) or _nonzero(ip_source),
        mac=mac_to_text(server_mac),
        offered_ip=_nonzero(yiaddr),
        subnet_mask=_netmask(options, problems),
        router=(_addresses(options, OPT_ROUTER, problems) or (None,))[0],
        dns=_addresses(options, OPT_DNS, problems),
        lease_time=int.from_bytes(lease, "big") if lease is not None else None,
        relay=_nonzero(giaddr),
        source_ip=_nonzero(ip_source),
    )
    return DhcpReply(message_type=message_type[0], xid=xid, client_mac=mac_to_text(chaddr[:6]), server=server,
                     problems=tuple(problems))


def offer_from_packet(frame, xid: int | None = None) -> DhcpServer | None:
    """The server behind a DHCPOFFER frame, or None if it is no OFFER (or answers another xid)."""
    reply = reply_from_packet(frame)
    if reply is None or reply.message_type != OFFER:
        return None
    if xid is not None and reply.xid != xid:
        return None
    return reply.server
