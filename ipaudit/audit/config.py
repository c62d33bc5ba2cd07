"""``ipaudit.toml``: read with the standard library's tomllib, checked key by key.

tomllib gives values but no line numbers, so a mistake is located by finding the key in
the text under its table header: "line 12: unknown key 'pols' in [[lan]] #1".
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ipaudit.addresses import parse_ip, parse_network, parse_spec
from ipaudit.errors import IpauditError
from ipaudit.findings import known_code

SEARCH_PATHS = ("/etc/ipaudit/ipaudit.toml", "~/.config/ipaudit/ipaudit.toml")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class ConfigError(IpauditError):
    """The config file is missing, unreadable or wrong; the message names the key and its line."""


@dataclass(frozen=True)
class Ignore:
    """An acknowledged finding: ``code`` at ``ip`` (any address when None) is never alerted."""

    code: str
    ip: str | None = None


@dataclass(frozen=True)
class LanConfig:
    name: str
    interface: str | None = None
    subnet: str | None = None
    gateway: str | None = None
    dhcp_ranges: tuple[str, ...] = ()
    dhcp_sources: tuple[str, ...] = ()
    allowed_dhcp: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()
    pools: tuple[str, ...] = ()
    pools_from: tuple[str, ...] = ()
    ignore: tuple[Ignore, ...] = ()

    @property
    def allowed_ips(self) -> tuple[str, ...]:
        return tuple(a for a in self.allowed_dhcp if not _MAC.match(a.lower()))

    @property
    def allowed_macs(self) -> frozenset[str]:
        return frozenset(a.lower() for a in self.allowed_dhcp if _MAC.match(a.lower()))


@dataclass(frozen=True)
class AuditConfig:
    path: str
    state_dir: str = "/var/lib/ipaudit"
    realert_after: float = 86400.0
    interval: float = 300.0
    lans: tuple[LanConfig, ...] = ()
    urls: tuple[str, ...] = ()
    alertmanager: str | None = None
    textfile: str | None = None
    #: Where each key was written, for messages: ("lan", 0, "pools") -> line.
    lines: dict = field(default_factory=dict, compare=False, repr=False)


def parse_duration(text: str) -> float:
    """"24h", "5m", "30s", "7d" or "0" as seconds."""
    match = _DURATION.match(str(text).strip().lower())
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30s, 5m, 24h or 7d")
    return float(match.group(1)) * _UNITS[match.group(2)]


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"]+)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"]+)\s*=")


def key_lines(text: str) -> dict[tuple[str, int, str], int]:
    """(table, index, key) -> line number, for every ``key =`` line; the top level is table "" #0."""
    lines: dict[tuple[str, int, str], int] = {}
    counts: dict[str, int] = {}
    table, index = "", 0
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            table = header.group(2).strip('"')
            counts[table] = counts.get(table, -1) + 1
            index = counts[table]
            lines.setdefault((table, index, ""), number)
            continue
        key = _KEY.match(line)
        if key:
            lines.setdefault((table, index, key.group(1).strip('"')), number)
    return lines


class _Reader:
    """Checks one table's keys against what it allows, naming the line of any mistake."""

    def __init__(self, path: str, lines: dict, table: str, index: int, values: dict):
        self.path, self.lines, self.table, self.index, self.values = path, lines, table, index, values

    def where(self, key: str) -> str:
        line = self.lines.get((self.table, self.index, key)) or self.lines.get((self.table, self.index, ""))
        place = f"[[{self.table}]] #{self.index + 1}" if self.table == "lan" else (
            f"[{self.table}]" if self.table else "the top level")
        return f"{self.path} line {line}: {place}: " if line else f"{self.path}: {place}: "

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where(key)}{key!r}: {problem}")

    def check_keys(self, allowed: set[str]) -> None:
        for key in self.values:
            if key not in allowed:
                raise self.fail(key, f"unknown key (known: {', '.join(sorted(allowed))})")

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.values.get(key, default)
        if value is not None and not isinstance(value, str):
            raise self.fail(key, f"must be a string, not {type(value).__name__}")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.values.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "must be a list of strings, like [\"192.168.1.240-192.168.1.245\"]")
        return tuple(value)

    def checked(self, key: str, value: Any, check) -> Any:
        try:
            check(value)
        except (IpauditError, ValueError) as problem:
            text = problem.one_line() if isinstance(problem, IpauditError) else str(problem)
            raise self.fail(key, text) from None
        return value

    def duration(self, key: str, default: float) -> float:
        value = self.values.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise self.fail(key, "must be a duration string like \"5m\"")
        try:
            return parse_duration(str(value))
        except ValueError as problem:
            raise self.fail(key, str(problem)) from None


LAN_KEYS = {"name", "interface", "subnet", "gateway", "dhcp_ranges", "dhcp_sources", "allowed_dhcp", "nodes",
            "pools", "pools_from", "ignore"}


def _allowed_entry(text: str) -> None:
    if not _MAC.match(text.lower()):
        parse_ip(text)


def _ignore(reader: _Reader) -> tuple[Ignore, ...]:
    entries = reader.values.get("ignore", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise reader.fail("ignore", "must be a list of tables like [{code = \"arp-flux\", ip = \"192.168.1.10\"}]")
    result = []
    for entry in entries:
        unknown = set(entry) - {"code", "ip"}
        if unknown:
            raise reader.fail("ignore", f"unknown key {sorted(unknown)[0]!r} in an entry (known: code, ip)")
        code, ip = entry.get("code"), entry.get("ip")
        if not isinstance(code, str) or known_code(code) is None:
            raise reader.fail("ignore", f"{code!r} is not a finding code (see the README's findings table)")
        if ip is not None:
            if not isinstance(ip, str):
                raise reader.fail("ignore", "ip must be a string")
            reader.checked("ignore", ip, parse_ip)
        result.append(Ignore(code, ip))
    return tuple(result)


def _lan(path: str, lines: dict, index: int, values: Any) -> LanConfig:
    reader = _Reader(path, lines, "lan", index, values if isinstance(values, dict) else {})
    reader.check_keys(LAN_KEYS)
    name = reader.text("name")
    if not name:
        raise reader.fail("name", "every [[lan]] needs a name")
    subnet = reader.text("subnet")
    gateway = reader.text("gateway")
    if subnet:
        reader.checked("subnet", subnet, parse_network)
    if gateway:
        reader.checked("gateway", gateway, parse_ip)
    specs = {key: reader.texts(key) for key in ("dhcp_ranges", "nodes", "pools")}
    for key, values_ in specs.items():
        for spec in values_:
            reader.checked(key, spec, parse_spec)
    allowed = reader.texts("allowed_dhcp")
    for entry in allowed:
        reader.checked("allowed_dhcp", entry, _allowed_entry)
    return LanConfig(name=name, interface=reader.text("interface"), subnet=subnet, gateway=gateway,
                     dhcp_ranges=specs["dhcp_ranges"], dhcp_sources=reader.texts("dhcp_sources"),
                     allowed_dhcp=allowed, nodes=specs["nodes"], pools=specs["pools"],
                     pools_from=reader.texts("pools_from"), ignore=_ignore(reader))


def parse_config(text: str, path: str = "ipaudit.toml") -> AuditConfig:
    """The config in ``text``, or a ConfigError naming the file, the line and the key."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as problem:
        raise ConfigError(f"{path}: not valid TOML: {problem}") from None
    lines = key_lines(text)
    top = _Reader(path, lines, "", 0, document)
    top.check_keys({"state_dir", "realert_after", "interval", "lan", "alerts", "metrics"})
    lan_tables = document.get("lan", [])
    if not isinstance(lan_tables, list):
        raise top.fail("lan", "write each LAN as a [[lan]] table")
    lans = tuple(_lan(path, lines, i, values) for i, values in enumerate(lan_tables))
    names = [lan.name for lan in lans]
    if len(set(names)) != len(names):
        raise top.fail("lan", "two [[lan]] tables share a name")
    alerts = _Reader(path, lines, "alerts", 0, document.get("alerts", {}))
    metrics = _Reader(path, lines, "metrics", 0, document.get("metrics", {}))
    for reader, allowed in ((alerts, {"urls", "alertmanager"}), (metrics, {"textfile"})):
        if not isinstance(reader.values, dict):
            raise top.fail(reader.table, "must be a table")
        reader.check_keys(allowed)
    interval = top.duration("interval", 300.0)
    if interval <= 0:
        raise top.fail("interval", "must be longer than 0")
    return AuditConfig(path=path, state_dir=top.text("state_dir") or "/var/lib/ipaudit",
                       realert_after=top.duration("realert_after", 86400.0), interval=interval, lans=lans,
                       urls=alerts.texts("urls"), alertmanager=alerts.text("alertmanager"),
                       textfile=metrics.text("textfile"), lines=lines)


def find_config(given: str | None) -> str:
    """The config path: ``--config``, then $IPAUDIT_CONFIG, then /etc/ipaudit, then ~/.config/ipaudit."""
    if given:
        return given
    if os.environ.get("IPAUDIT_CONFIG"):
        return os.environ["IPAUDIT_CONFIG"]
    for candidate in SEARCH_PATHS:
        path = Path(candidate).expanduser()
        if path.is_file():
            return str(path)
    raise ConfigError("no config file: looked for --config, $IPAUDIT_CONFIG, " + " and ".join(SEARCH_PATHS),
                      hint="write one with: ipaudit config example > /etc/ipaudit/ipaudit.toml")


def load_config(given: str | None) -> AuditConfig:
    path = find_config(given)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as problem:
        raise ConfigError(f"cannot read config {path}: {problem}") from None
    return parse_config(text, path)


def channel_url(url: str) -> str:
    """A URL from the config; ``env:NAME`` reads it from the environment so a token never sits in the file."""
    if url.startswith("env:"):
        value = os.environ.get(url[4:])
        if not value:
            raise ConfigError(f"alert URL {url}: the environment variable {url[4:]} is not set")
        return value
    return url
