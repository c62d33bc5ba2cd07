"""What the file-based DHCP sources share: ``scheme:PATH?leases=PATH`` URIs and reading files as SourceErrors.

Every file source accepts ``scheme:PATH``, ``scheme://PATH`` (``kea:///etc/kea/kea-dhcp4.conf``)
and an optional ``?leases=PATH`` naming the lease file when it is not where the
config says (a copy taken from the router, say). ``?leases=`` (empty) means "no
lease file": ranges and reservations only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from ipaudit.sources.interface import SourceError

if TYPE_CHECKING:
    from ipaudit.model import Lease

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


def resolve_lease_file(target: FileUri, default_path: str, notes: list[str], why_not: str | None = None) -> str | None:
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
    if why_not:
        notes.append(why_not)
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


def read_text(path: str, source: str, what: str) -> str:
    """A file's text, or a one-line SourceError naming the source, the file and why."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except IsADirectoryError:
        raise SourceError(f"{source}: {what} {path} is a directory") from None
    except OSError as problem:
        raise SourceError(f"{source}: cannot read {what} {path}: {problem.strerror or problem}") from None


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def normal_mac(text: str | None) -> str | None:
    """``AA-BB-..`` or ``aa:bb:..`` as lower-case colon form; anything else (DUIDs, ids) as given."""
    if not text:
        return None
    candidate = text.strip().lower().replace("-", ":")
    parts = candidate.split(":")
    if len(parts) == 6 and all(len(p) in (1, 2) and all(c in "0123456789abcdef" for c in p) for p in parts):
        return ":".join(p.zfill(2) for p in parts)
    return text.strip()
