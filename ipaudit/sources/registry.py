"""Which class reads which ``--dhcp-source`` URI scheme; modules load lazily so offline runs stay fast."""

from __future__ import annotations

import importlib

from ipaudit.sources.interface import DhcpSource, SourceError, SourceOptions

# scheme -> "module:Class". Modules are imported only when a URI names them,
# so check-pool never pays for requests unless an HTTP source is used.
SCHEMES: dict[str, str] = {
    "kea": "ipaudit.sources.kea_files:KeaFileSource",
    "kea+http": "ipaudit.sources.kea_api:KeaApiSource",
    "kea+https": "ipaudit.sources.kea_api:KeaApiSource",
    "dnsmasq": "ipaudit.sources.dnsmasq:DnsmasqSource",
    "dhcpd": "ipaudit.sources.dhcpd:DhcpdSource",
    "openwrt": "ipaudit.sources.openwrt_uci:OpenWrtUciSource",
    "openwrt+http": "ipaudit.sources.openwrt_ubus:OpenWrtUbusSource",
    "openwrt+https": "ipaudit.sources.openwrt_ubus:OpenWrtUbusSource",
    "mikrotik+https": "ipaudit.sources.mikrotik:MikroTikSource",
    "mikrotik+http": "ipaudit.sources.mikrotik:MikroTikSource",
    "opnsense+https": "ipaudit.sources.opnsense:OpnsenseSource",
    "opnsense+http": "ipaudit.sources.opnsense:OpnsenseSource",
    "pihole+http": "ipaudit.sources.pihole:PiholeSource",
    "pihole+https": "ipaudit.sources.pihole:PiholeSource",
    "adguard+http": "ipaudit.sources.adguard:AdGuardSource",
    "adguard+https": "ipaudit.sources.adguard:AdGuardSource",
    "unifi+https": "ipaudit.sources.unifi:UnifiSource",
    "unifi+http": "ipaudit.sources.unifi:UnifiSource",
}


def scheme_of(uri: str) -> str:
    scheme, sep, _ = uri.partition(":")
    if not sep or not scheme:
        raise SourceError(f"DHCP source {uri!r} has no scheme", hint="run 'ipaudit sources' for the list")
    return scheme.lower()


def source_class(scheme: str) -> type[DhcpSource]:
    target = SCHEMES.get(scheme)
    if target is None:
        raise SourceError(f"unknown DHCP source scheme {scheme!r}", hint="run 'ipaudit sources' for the list")
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        raise SourceError(f"DHCP source scheme {scheme!r} is not available in this build") from None
    return getattr(module, class_name)


def open_source(uri: str, options: SourceOptions | None = None) -> DhcpSource:
    """The source object for a URI; reading it is a separate step (``.read()``).

    An HTTP source URI is parsed here, before any source can word a message around it,
    so a password typed into the URI is refused first and never printed.
    """
    scheme = scheme_of(uri)
    if scheme.endswith(("+http", "+https")):
        from ipaudit.sources.source_uri import parse_source_uri

        parse_source_uri(uri)
    return source_class(scheme)(uri, options or SourceOptions())
