"""The shape every DHCP source shares: a URI in, one DhcpFacts out, SourceError on failure."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from ipaudit.errors import IpauditError
from ipaudit.model import DhcpFacts


class SourceError(IpauditError):
    """A source that could not be read: names the source, never a credential."""


@dataclass(frozen=True)
class SourceOptions:
    """Settings that apply to every source; credentials come from the environment, never argv."""

    ca_cert: str | None = None
    insecure: bool = False
    timeout: float = 10.0


class DhcpSource(ABC):
    """Reads DHCP ranges, leases and reservations from one server or router."""

    #: The URI scheme, e.g. ``kea`` or ``kea+http``.
    scheme: str = ""
    #: One example URI for ``ipaudit sources``.
    example: str = ""

    def __init__(self, uri: str, options: SourceOptions):
        self.uri = uri
        self.options = options

    @abstractmethod
    def read(self) -> DhcpFacts:
        """Return the facts, or raise SourceError naming ``self.uri``."""
