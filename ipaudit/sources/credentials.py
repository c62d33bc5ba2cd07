"""Credentials for HTTP sources: from environment variables or a YAML file, never from argv.

Lookup, per field, most specific first:

1. ``IPAUDIT_<VENDOR>_<FIELD>`` (VENDOR is the URI scheme before ``+``: KEA, OPENWRT,
   MIKROTIK, OPNSENSE, PIHOLE, ADGUARD, UNIFI);
2. the credentials file entry for this source (``$IPAUDIT_CREDENTIALS``, else
   ``$XDG_CONFIG_HOME/ipaudit/credentials.yaml``, else ``~/.config/ipaudit/credentials.yaml``),
   keyed by the full URI, ``scheme://host[:port]``, ``host:port`` or ``host``;
3. ``IPAUDIT_<FIELD>``, the generic fallback.

FIELD is USERNAME, PASSWORD, TOKEN, API_KEY or API_SECRET. Each variable also has
a ``_FILE`` form (``IPAUDIT_PIHOLE_PASSWORD_FILE=/run/secrets/pihole``) that names a
file holding the value, for container secrets. A username may also be given in the
URI (``openwrt+https://root@router``). Secrets are wrapped in ``Secret``, whose repr
and str are masked.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from ipaudit.safe_decode import DecodeError, load_yaml, read_file_bytes
from ipaudit.sources.interface import SourceError
from ipaudit.sources.source_uri import parse_source_uri

FIELDS = ("username", "password", "token", "api_key", "api_secret")
SECRET_FIELDS = ("password", "token", "api_key", "api_secret")
MAX_CREDENTIALS_BYTES = 1024 * 1024


class Secret:
    """A credential value that never shows itself: ``repr``/``str`` print ``***``; ``reveal()`` gives it."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = str(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __format__(self, spec: str) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self):
        raise TypeError("a Secret cannot be pickled")


@dataclass(frozen=True)
class Credentials:
    """What we know to log in to one source; ``origins`` names where each field came from (never the value)."""

    vendor: str
    username: str | None = None
    password: Secret | None = None
    token: Secret | None = None
    api_key: Secret | None = None
    api_secret: Secret | None = None
    origins: Mapping[str, str] = field(default_factory=dict)
    file: str = ""

    def where_to_set(self, *fields: str) -> str:
        """A hint naming the variables (and file) that supply ``fields``."""
        names = " and ".join(env_name(self.vendor, f) for f in fields)
        return f"set {names} (or the IPAUDIT_ generic forms), or add them to {self.file or default_file()}"

    def require(self, *fields: str, source: str) -> None:
        """Raise a SourceError naming the variables to set when any of ``fields`` is missing."""
        missing = [f for f in fields if not getattr(self, f)]
        if missing:
            raise SourceError(f"{source}: no {' or '.join(f.replace('_', ' ') for f in missing)} for this source",
                              hint=self.where_to_set(*missing))

    def secret(self, field: str, source: str) -> Secret:
        """The secret in ``field``, or the SourceError ``require`` raises when it is missing."""
        self.require(field, source=source)
        value = getattr(self, field)
        return value if isinstance(value, Secret) else Secret(str(value))

    def auth_hint(self, *fields: str) -> str:
        """For 401/403: which places the rejected fields came from."""
        places = sorted({self.origins.get(f, "nowhere") for f in fields})
        return f"check the credentials from {', '.join(places)}"


def env_name(vendor: str, field_name: str) -> str:
    return f"IPAUDIT_{vendor.upper()}_{field_name.upper()}"


def default_file(environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    if environ.get("IPAUDIT_CREDENTIALS"):
        return environ["IPAUDIT_CREDENTIALS"]
    config_home = environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(config_home, "ipaudit", "credentials.yaml")


def _from_env(name: str, environ: Mapping[str, str]) -> str | None:
    value = environ.get(name)
    if value:
        return value
    path = environ.get(name + "_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as problem:
            raise SourceError(f"cannot read {name}_FILE {path!r}: {problem.strerror}") from None
    return None


def _warn_if_readable(path: str) -> None:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        logging.getLogger(__name__).warning("credentials file %s is readable by group or others: chmod 600 %s",
                                            path, path)


def load_file(path: str, *, required: bool) -> dict[str, dict[str, str]]:
    """The credentials file as ``{key: {field: value}}``; errors name the file and line, never its content."""
    if not os.path.exists(path):
        if required:
            raise SourceError(f"credentials file {path} (from IPAUDIT_CREDENTIALS) does not exist")
        return {}
    _warn_if_readable(path)
    try:
        # The decoder's reasons can quote the text they choked on, which may be a password: position only.
        document = load_yaml(read_file_bytes(path, f"credentials file {path}", MAX_CREDENTIALS_BYTES),
                             f"credentials file {path}", quote_problem=False)
    except DecodeError as problem:
        detail = problem.detail.removesuffix(": invalid YAML")
        raise SourceError(f"credentials file {path} is not valid YAML {detail}" if detail.startswith("at line")
                          else problem.message, problem.hint) from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise SourceError(f"credentials file {path} must map a host or source URI to its credentials")
    entries: dict[str, dict[str, str]] = {}
    for key, entry in document.items():
        if not isinstance(entry, dict):
            raise SourceError(f"credentials file {path}: entry {str(key)!r} must be a mapping of "
                              f"{', '.join(FIELDS)}")
        unknown = sorted(str(k) for k in entry if k not in FIELDS)
        if unknown:
            raise SourceError(f"credentials file {path}: entry {str(key)!r} has unknown field(s) {', '.join(unknown)}",
                              hint=f"use {', '.join(FIELDS)}")
        entries[str(key).rstrip("/").lower()] = {k: str(v) for k, v in entry.items() if v is not None}
    return entries


def file_keys(uri: str, scheme: str, host: str, port: int | None) -> list[str]:
    """Keys that name this source in the credentials file, most specific first."""
    bracketed = f"[{host}]" if ":" in host else host
    with_port = f"{bracketed}:{port}" if port is not None else None
    keys = [uri.rstrip("/").lower()]
    if with_port:
        keys.append(f"{scheme}://{with_port}".lower())
    keys.append(f"{scheme}://{bracketed}".lower())
    if with_port:
        keys.append(with_port.lower())
    keys.append(host.lower())
    return list(dict.fromkeys(keys))


def credentials_for(uri: str, environ: Mapping[str, str] | None = None) -> Credentials:
    """Everything the environment and the credentials file say about logging in to ``uri``."""
    environ = os.environ if environ is None else environ
    address = parse_source_uri(uri)
    path = default_file(environ)
    entries = load_file(path, required=bool(environ.get("IPAUDIT_CREDENTIALS")))
    entry: dict[str, str] = {}
    entry_key = ""
    for key in file_keys(address.display, address.scheme, address.host, address.port):
        if key in entries:
            entry, entry_key = entries[key], key
            break

    values: dict[str, str] = {}
    origins: dict[str, str] = {}
    if address.username:
        values["username"], origins["username"] = address.username, "the source URI"
    for name in FIELDS:
        if name in values:
            continue
        specific = env_name(address.vendor, name)
        generic = f"IPAUDIT_{name.upper()}"
        for origin, value in ((specific, _from_env(specific, environ)),
                              (f"{path} [{entry_key}]", entry.get(name)),
                              (generic, _from_env(generic, environ))):
            if value:
                values[name], origins[name] = value, origin
                break
    return Credentials(
        vendor=address.vendor,
        username=values.get("username"),
        **{name: Secret(values[name]) for name in SECRET_FIELDS if name in values},
        origins=origins,
        file=path,
    )
