#!/usr/bin/env python3
"""Benchmark: DHCP discovery runs beside the ARP sweep, so a scan takes about max(sweep, window).

The wall-clock half of tests/test_scan_netns.py's overlap check (the test itself only
checks the order of frames on the wire). A namespace LAN of one router running a
pinging dnsmasq, as on a real LAN, and a scanner; a sweep of about 500 requests at
200/s beside a 4 s DHCP window. Target: wall < sweep + window - 1 s.

Not a test: shared machines are noisy, so it prints figures and PASS/MISS, and exits 0.
Needs root. Usage: sudo python benchmarks/scan_overlap.py
"""

from __future__ import annotations

import re
import sys
import time

from ipaudit.lab import Lab

WINDOW = 4.0


def main() -> int:
    with Lab(prefix="ipaB") as lab:
        router = lab.add_host("router", "198.51.100.1/24")
        scanner = lab.add_host("scanner", "198.51.100.250/24")
        lab.start_dnsmasq(router, "198.51.100.150,198.51.100.199", router="198.51.100.1", ping=True)
        started = time.monotonic()
        done = lab.run(scanner, [sys.executable, "-m", "ipaudit", "scan", "-i", "eth0", "--rate", "200",
                                 "--dhcp-timeout", str(WINDOW)], check=False)
        wall = time.monotonic() - started
    found = re.search(r"swept \S+ on eth0 in ([0-9.]+) s", done.stdout + done.stderr)
    if found is None or "198.51.100.1 " not in done.stdout:
        print(f"scan failed (exit {done.returncode}): {done.stderr.strip()[:300]}")
        return 0
    sweep = float(found.group(1))
    verdict = "PASS" if wall < sweep + WINDOW - 1.0 else "MISS"
    print(f"sweep {sweep:.2f} s, DHCP window {WINDOW:g} s, whole scan {wall:.2f} s "
          f"(sequential would be {sweep + WINDOW:.2f} s): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
