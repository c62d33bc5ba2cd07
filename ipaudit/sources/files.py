"""What the file-based DHCP sources share: ``scheme:PATH?leases=PATH`` URIs, and reading files safely.

Every file source accepts ``scheme:PATH``, ``scheme://PATH`` (``kea:///etc/kea/kea-dhcp4.conf``)
and an optional ``?leases=PATH`` naming the lease file when it is not where the
config says (a copy taken from the router, say). ``?leases=`` (empty) means "no
lease file": ranges and reservations only.

Paths come from the user and from configs we do not control (``dhcp-leasefile=``,
``conf-file=``, ``<?include?>``), so every file is opened the one way here: regular
files only (``/dev/zero`` and FIFOs are refused without blocking), streamed, and
refused beyond ``MAX_FILE_BYTES`` (docs/sources-files.md says why that number).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

# One definition of each value helper for file and API sources alike (re-exported for kea_api).
from ipaudit.sources.api_records import from_epoch, normal_mac, utc_now
from ipaudit.sources.interface import SourceError

if TYPE_CHECKING:
    from ipaudit.model import Lease

__all__ = ["FileUri", "LeaseReader", "MAX_CONFIG_BYTES", "MAX_FILE_BYTES", "MAX_LEASES", "from_epoch", "normal_mac", "parse_file_uri",
           "read_leases", "read_lines", "read_text", "resolve_lease_file", "too_many_leases", "utc_now"]

#: The largest config or lease file read. A /16 (the largest LAN a layer-2 pool shares)
#: has 65,536 addresses; a Kea CSV or dhcpd.leases block is ~250 bytes, so one lease per
#: address is 16 MiB, and 64 MiB leaves room for the renewals a lease log keeps between
#: compactions (kea-lfc, dhcpd's hourly rewrite). dnsmasq's whole default lease file
#: (dhcp-lease-max 1000) is under 1 MiB.
MAX_FILE_BYTES = 64 * 1024 * 1024
#: The largest config file (dnsmasq.conf and what it includes, dhcpd.conf, kea-dhcp4.conf,
#: UCI). Configs are parsed whole, at ~20x their size in memory; 65,536 host reservations
#: at ~100 bytes each are 6.5 MiB, so 8 MiB holds a /16 of them.
MAX_CONFIG_BYTES = 8 * 1024 * 1024
#: The most distinct leases one source may yield: four /16s. Each costs ~1 KiB once parsed
#: and printed, so this keeps a hostile 64 MiB file of short lines well inside 1 GiB.
MAX_LEASES = 4 * 65536

# (lease file path, source URI, now) -> (active leases, notes on what was left out)
LeaseReader = Callable[[str, str, datetime], "tuple[list[Lease], list[str]]"]


@dataclass(frozen=True)
class FileUri:
    """A parsed file-source URI; ``leases`` is None when not given, "" when explicitly none."""

    uri: str
    scheme: str
    path: str
    leases: str | None = None


def parse_file_uri(uri: str) -> FileUri:
    scheme, _, rest = uri.partition(":")
    if rest.startswith("//"):
        rest = rest[2:]
    path, question, query = rest.partition("?")
    leases = None
    if question:
        params = parse_qs(query, keep_blank_values=True)
        unknown = sorted(set(params) - {"leases"})
        if unknown:
            raise SourceError(f"{uri}: unknown parameter {unknown[0]!r}", hint="the only parameter is ?leases=PATH")
        leases = params.get("leases", [None])[-1]
    if not path:
        raise SourceError(f"DHCP source {uri!r} names no file", hint=f"like {scheme}:/etc/...")
    return FileUri(uri=uri, scheme=scheme.lower(), path=os.path.expanduser(path), leases=leases)


def resolve_lease_file(target: FileUri, default_path: str | None, notes: list[str],
                       why_not: str | None = None) -> str | None:
    """The lease file to read, or None with a note on ``notes`` saying why no leases are read.

    ``?leases=PATH`` is read as given (a missing file is then an error, not a note);
    ``?leases=`` reads none. Otherwise ``default_path`` (the config's lease file, or the
    server's default) is read if it exists, unless ``why_not`` says the server keeps no
    lease file we can read.
    """
    if target.leases is not None:
        if not target.leases:
            notes.append("no lease file read (?leases= is empty)")
        return target.leases or None
    if why_not or default_path is None:
        notes.append(why_not or "the server keeps no lease file")
        return None
    if not os.path.exists(default_path):
        notes.append(f"lease file {default_path} does not exist: leases unknown (pass ?leases=PATH)")
        return None
    return default_path


def read_leases(lease_path: str | None, read: LeaseReader, source: str, now: datetime | None,
                notes: list[str]) -> list[Lease]:
    """The leases ``read`` finds in ``lease_path`` (none when it is None); its notes go onto ``notes``."""
    if not lease_path:
        return []
    leases, lease_notes = read(lease_path, source, now or utc_now())
    notes += lease_notes
    return leases


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _too_big(source: str, what: str, path: str, limit: int) -> SourceError:
    return SourceError(f"{source}: {what} {path} is larger than {limit // (1024 * 1024)} MiB",
                       hint="ipaudit reads DHCP files up to that size (see docs/sources-files.md)")


def _open_regular(path: str, source: str, what: str, limit: int):
    """A binary handle on ``path`` if it is a regular file of at most ``limit`` bytes, else SourceError.

    O_NONBLOCK makes opening a FIFO with no writer return at once instead of hanging,
    and fstat on the open descriptor checks the very file we read, not a name a
    symlink swap could change in between.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as problem:
        if problem.errno is not None and os.path.isdir(path):
            raise SourceError(f"{source}: {what} {path} is a directory") from None
        raise SourceError(f"{source}: cannot read {what} {path}: {problem.strerror or problem}") from None
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            kind = next((name for test, name in _KINDS if test(status.st_mode)), "not a regular file")
            raise SourceError(f"{source}: {what} {path} is {kind}, not a regular file")
        if status.st_size > limit:
            raise _too_big(source, what, path, limit)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def read_lines(path: str, source: str, what: str, limit: int = MAX_FILE_BYTES) -> Iterator[str]:
    """The file's lines (without line ends), streamed; refused past ``limit`` bytes even if it grows."""
    with _open_regular(path, source, what, limit) as handle:
        total = 0
        while True:
            # Never read more than what is left of the budget, so one endless line stays bounded.
            raw = handle.readline(limit - total + 1)
            if not raw:
                return
            total += len(raw)
            if total > limit:
                raise _too_big(source, what, path, limit)
            yield raw.decode("utf-8", errors="replace").rstrip("\r\n")


def read_text(path: str, source: str, what: str, limit: int = MAX_CONFIG_BYTES) -> str:
    """A whole config file's text (JSON and UCI are parsed whole), bounded as ``read_lines``."""
    with _open_regular(path, source, what, limit) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise _too_big(source, what, path, limit)
    return data.decode("utf-8", errors="replace")


def too_many_leases(source: str, what: str, path: str, limit: int = MAX_LEASES, kind: str = "leases") -> SourceError:
    """The error for a file holding more distinct leases (or reservations) than MAX_LEASES, checked while streaming."""
    return SourceError(f"{source}: {what} {path} holds more than {limit} {kind}",
                       hint="ipaudit reads up to four /16s of leases per source (see docs/sources-files.md)")
