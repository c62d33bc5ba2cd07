"""Userspace ARP actors for namespace tests and the benchmark: devices the kernel will not play.

Run inside a lab namespace (``lab.spawn(host, [python, this file, ROLE, ...])``); each binds a
raw socket on eth0, prints "ready", and acts on the scanner's requests:

  late IP SECONDS         answer every request for IP, SECONDS late
  stale IP                before the scanner asks for IP, answer its other requests with "IP is at me"
                          (a reply left over from a previous run); silent once IP has been asked
  announce IP [IP ...]    on the scanner's first request, announce each IP (gratuitous ARP request)
  malformed IP            answer requests for IP from an all-zero, a broadcast and a multicast sender MAC
  flood IP COUNT SECONDS [same|random]
                          from the first request on, send COUNT replies "IP is at <MAC>" to the
                          scanner as fast as possible (at most SECONDS), from one MAC or random ones

The scanner is whoever sends requests from the MAC given by --scanner. Bounded: every actor
stops by itself (flood) or is killed by PID at lab teardown.
"""

from __future__ import annotations

import argparse
import heapq
import os
import select
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ipaudit.scan.arp_frames import (  # noqa: E402
    ARP_REQUEST, build_reply, build_request, ip_int, mac_bytes, parse_arp, MalformedArpFrame)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("role")
    parser.add_argument("args", nargs="*")
    parser.add_argument("--scanner", required=True, help="the scanner's MAC")
    options = parser.parse_args()
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
    sock.bind(("eth0", 0))
    own = sock.getsockname()[4][:6]
    scanner = mac_bytes(options.scanner)
    print("ready", flush=True)
    role, args = options.role, options.args
    pending: list[tuple[float, bytes]] = []  # (send at, frame)
    announced = seen_target = False
    while True:
        wait = max(0.0, pending[0][0] - time.monotonic()) if pending else 1.0
        ready, _, _ = select.select([sock], [], [], wait)
        while pending and pending[0][0] <= time.monotonic():
            sock.send(heapq.heappop(pending)[1])
        if not ready:
            continue
        try:
            packet = parse_arp(sock.recv(256))
        except MalformedArpFrame:
            continue
        if packet.operation != ARP_REQUEST or packet.sender_mac != scanner:
            continue
        asked, asker = packet.target_ip, packet.sender_ip
        if role == "late" and asked == ip_int(args[0]):
            heapq.heappush(pending, (time.monotonic() + float(args[1]), build_reply(own, asked, scanner, asker)))
        elif role == "stale":
            seen_target = seen_target or asked == ip_int(args[0])
            if not seen_target and asker:
                sock.send(build_reply(own, ip_int(args[0]), scanner, asker))
        elif role == "announce" and not announced:
            announced = True
            for ip in args:
                sock.send(build_request(own, ip_int(ip), ip_int(ip)))
        elif role == "malformed" and asked == ip_int(args[0]):
            for fake in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:fb"):
                sock.send(build_reply(mac_bytes(fake), asked, scanner, asker, eth_source=own))
        elif role == "flood":
            return flood(sock, own, scanner, ip_int(args[0]), asker, int(args[1]), float(args[2]),
                         args[3] if len(args) > 3 else "random")


def flood(sock, own: bytes, scanner: bytes, ip: int, asker: int, count: int, seconds: float, style: str) -> int:
    """Send ``count`` replies claiming ``ip`` (bounded by ``seconds``); print what was sent."""
    started = time.monotonic()
    deadline = started + seconds
    sent = 0
    if style == "same":
        frames = [build_reply(own, ip, scanner, asker)]
    else:
        # Fresh locally administered unicast MACs, cycled; the Ethernet source stays ours (a
        # bridge drops frames from invalid sources, and learning a million MACs is not the point).
        frames = [build_reply(bytes([0x02]) + os.urandom(5), ip, scanner, asker, eth_source=own)
                  for _ in range(20000)]
    send = sock.send
    while sent < count:
        frame = frames[sent % len(frames)]
        try:
            send(frame)
        except OSError:
            time.sleep(0.0001)
            continue
        sent += 1
        if sent % 1024 == 0 and time.monotonic() > deadline:
            break
    elapsed = time.monotonic() - started
    print(f"sent {sent} in {elapsed:.2f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
