"""HTTP source URIs: ``vendor+http(s)://[user@]HOST[:PORT][/path]`` parsed, and printed without secrets."""

from __future__ import annotations

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


def split_userinfo(rest: str) -> tuple[str | None, str]:
    """``user:pass@host/path`` (the URI after ``://``) as (``user:pass``, ``host/path``).

    The last ``@`` of the authority ends the user part, so an ``@`` inside a password is
    never taken as the host. A password holding ``/``, ``?`` or ``#`` ends the authority
    early; it is still caught when a ``:`` before the ``@`` is not followed by a port number.
    """
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    at = rest.rfind("@", 0, end)
    if at >= 0:
        return rest[:at], rest[at + 1:]
    at, colon = rest.rfind("@"), rest.find(":")
    if at >= 0 and 0 <= colon < end and not rest[colon + 1:end].isdigit():
        return rest[:at], rest[at + 1:]
    return None, rest


def parse_source_uri(uri: str) -> SourceAddress:
    """Split ``vendor+http(s)://[user@]HOST[:PORT][/path]``; a password in the URI is refused."""
    scheme, sep, rest = uri.partition("://")
    vendor, plus, transport = scheme.lower().partition("+")
    if not sep or not plus or transport not in ("http", "https"):
        raise SourceError(f"DHCP source {safe_uri(uri)!r} must look like {vendor or 'vendor'}+https://HOST[:PORT]")
    userinfo, _ = split_userinfo(rest)
    if userinfo is not None and ":" in userinfo:
        raise SourceError(
            f"DHCP source {safe_uri(uri)!r} has a password in it",
            hint=f"remove it and set IPAUDIT_{vendor.upper()}_PASSWORD (or _TOKEN, _API_KEY), "
                 "or put it in the credentials file (see 'ipaudit sources')",
        )
    try:
        parts = urlsplit(f"{transport}://{rest}")
    except ValueError:  # "[::1" or "[zz]": brackets that do not hold an IPv6 address
        raise SourceError(f"DHCP source {safe_uri(uri)!r} has an invalid host",
                          hint="write an IPv6 address in brackets, like [2001:db8::1]") from None
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
    scheme, sep, rest = uri.partition("://")
    if not sep:
        return uri
    userinfo, host_part = split_userinfo(rest)
    if userinfo is None or ":" not in userinfo:
        return uri
    return f"{scheme}://{userinfo.partition(':')[0]}:***@{host_part}"
