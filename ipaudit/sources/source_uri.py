"""HTTP source URIs: ``vendor+http(s)://[user@]HOST[:PORT][/path]`` parsed, and printed without secrets."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ipaudit.sources.interface import SourceError


@dataclass(frozen=True)
class SourceAddress:
    """Where an HTTP source lives, parsed from its URI; ``display`` is safe to print."""

    scheme: str  # the whole URI scheme, e.g. "pihole+https"
    vendor: str  # the part before '+', e.g. "pihole"
    transport: str  # "http" or "https"
    host: str
    port: int | None
    path: str  # without leading/trailing slashes; "" when absent
    username: str | None
    display: str

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.transport}://{host}{port}"


def parse_source_uri(uri: str) -> SourceAddress:
    """Split ``vendor+http(s)://[user@]HOST[:PORT][/path]``; a password in the URI is refused."""
    scheme, sep, rest = uri.partition("://")
    vendor, plus, transport = scheme.lower().partition("+")
    if not sep or not plus or transport not in ("http", "https"):
        raise SourceError(f"DHCP source {safe_uri(uri)!r} must look like {vendor or 'vendor'}+https://HOST[:PORT]")
    parts = urlsplit(f"{transport}://{rest}")
    if parts.password is not None:
        raise SourceError(
            f"DHCP source {safe_uri(uri)!r} has a password in it",
            hint=f"remove it and set IPAUDIT_{vendor.upper()}_PASSWORD or use the credentials file instead",
        )
    try:
        port = parts.port
    except ValueError:
        raise SourceError(f"DHCP source {safe_uri(uri)!r} has an invalid port") from None
    if not parts.hostname:
        raise SourceError(f"DHCP source {safe_uri(uri)!r} has no host")
    return SourceAddress(
        scheme=scheme.lower(),
        vendor=vendor,
        transport=transport,
        host=parts.hostname,
        port=port,
        path=parts.path.strip("/"),
        username=parts.username or None,
        display=safe_uri(uri),
    )


def safe_uri(uri: str) -> str:
    """The URI with any ``user:password@`` password replaced, fit for messages and reports."""
    return re.sub(r"(://[^/@:]*):[^/@]*@", r"\1:***@", uri)
