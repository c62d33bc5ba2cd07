"""Deliver one notification to one Apprise URL, and say clearly when it did not arrive.

Why Apprise: one URL syntax reaches 100+ services (ntfy, Slack, Discord, Gotify, Telegram, mail,
json:// webhooks), so ipaudit carries no per-service code. It is imported lazily: only a run that
has something to deliver pays for it. Apprise reports failure as ``False`` plus log lines, not
exceptions; ``send`` turns that into one ``DeliveryError`` whose text never holds the URL's secrets.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from datetime import datetime

from ipaudit.errors import IpauditError
from ipaudit.findings import Code
from ipaudit.sanitize import one_line

log = logging.getLogger(__name__)

# The audit-failed event carries the finding code of the same name.
EVENTS = ("conflict-started", "conflict-resolved", "reminder", Code.AUDIT_FAILED.value, "new-dhcp-server")

# A receiver that can read headers (json://, form://, xml://) gets the outbox key, so it can drop the
# one repeat a crash between "sent" and "marked sent" may cause.
IDEMPOTENCY_HEADER = "X-Ipaudit-Idempotency-Key"


class DeliveryError(IpauditError):
    """A channel did not accept a notification; the outbox keeps it for the next attempt."""


@dataclass(frozen=True)
class Notification:
    """One event for one channel. ``key`` is unique per event and channel (the outbox's primary key)."""

    key: str
    event: str
    lan: str
    code: str
    severity: str
    address: str
    title: str
    body: str
    at: datetime


def send(url: str, notification: Notification, timeout: float) -> None:
    """Send ``notification`` to the one Apprise ``url`` within ``timeout`` seconds in total."""
    apprise = _apprise()
    channel = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if channel is None:
        raise DeliveryError(f"not an Apprise URL (scheme {_scheme(url)}://)",
                            "see https://github.com/caronc/apprise/wiki for the URL of each service")
    where = _redacted(channel)
    # Apprise retries on its own when asked; the outbox does the retrying, so one try per call.
    channel.socket_connect_timeout = channel.socket_read_timeout = max(timeout, 0.1)
    if isinstance(getattr(channel, "headers", None), dict):
        channel.headers[IDEMPOTENCY_HEADER] = notification.key
    outcome: dict[str, object] = {}

    def deliver() -> None:
        with apprise.LogCapture(level=logging.WARNING) as captured:
            try:
                outcome["sent"] = channel.notify(body=notification.body, title=notification.title,
                                                 notify_type=_notify_type(apprise, notification))
            except Exception as problem:  # noqa: BLE001 - a plugin bug must not end the run
                outcome["sent"], outcome["why"] = False, type(problem).__name__
            outcome.setdefault("why", _last_line(captured.getvalue()))

    # Apprise's own timeouts bound each socket read, not the exchange (see sources/http_transfer.py).
    worker = threading.Thread(target=deliver, name="ipaudit-notify", daemon=True)
    worker.start()
    worker.join(timeout + 1.0)
    if worker.is_alive():
        raise DeliveryError(f"{where}: no answer within {timeout:g} s")
    if not outcome.get("sent"):
        raise DeliveryError(f"{where}: not delivered", str(outcome.get("why") or "") or None)
    log.debug("delivered %s to %s", notification.key, where)


def _apprise():
    try:
        import apprise
    except ImportError as missing:
        raise DeliveryError("alert URLs need the Python package apprise",
                            "pip install apprise (ipaudit depends on it)") from missing
    return apprise


def _notify_type(apprise, notification: Notification):
    if notification.event == "conflict-resolved":
        return apprise.NotifyType.SUCCESS
    if notification.severity == "critical" or notification.event == Code.AUDIT_FAILED.value:
        return apprise.NotifyType.FAILURE
    if notification.severity == "warning":
        return apprise.NotifyType.WARNING
    return apprise.NotifyType.INFO


def _redacted(channel) -> str:
    """The channel as Apprise prints it with passwords and tokens hidden, without its query string."""
    try:
        return channel.url(privacy=True).split("?", 1)[0]
    except Exception:  # noqa: BLE001 - a description only
        return f"{type(channel).__name__} channel"


def _scheme(url: str) -> str:
    scheme = url.split("://", 1)[0] if "://" in url else ""
    return "".join(ch for ch in scheme[:20] if ch.isalnum() or ch in "+-.") or "?"


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    # Apprise's messages can quote a URL; its path or query may hold a token.
    return re.sub(r"\S+://\S+", "<url>", one_line(lines[-1]))[:200] if lines else ""
