"""Post alerts to Alertmanager's v2 API, the channel for sites that already run Prometheus.

Alertmanager dedupes and routes: a sender re-posts every alert that still fires on each run, with
``endsAt`` a few intervals ahead, and posts a resolved one with ``endsAt`` = now. Posting the same
labels twice updates one alert, so a retry after a crash never duplicates it (the outbox relies on
this). Shapes follow alertmanager api/v2/openapi.yaml: ``POST /api/v2/alerts`` takes a JSON array
of postableAlert {labels, annotations, startsAt, endsAt, generatorURL}; 200 means accepted, 400
carries a JSON string saying why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Sequence
from urllib.parse import urlsplit

from ipaudit import __version__
from ipaudit.audit.notify import DeliveryError
from ipaudit.safe_decode import DecodeError, load_json
from ipaudit.sanitize import one_line
from ipaudit.sources.http_transfer import BodyTooLarge, DeadlineExceeded, exchange

# alertmanager pkg/labels and model.LabelName: names match this, values are any UTF-8.
_LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_MAX_ANSWER = 64 * 1024  # Alertmanager answers POST with an empty body or one short error string


@dataclass(frozen=True)
class AmAlert:
    """One alert as Alertmanager stores it; its identity is its ``labels``."""

    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    generator_url: str = ""


def post_alerts(base_url: str, alerts: Sequence[AmAlert], timeout: float) -> None:
    """POST ``alerts`` to ``base_url``/api/v2/alerts within ``timeout`` seconds; raise DeliveryError."""
    if not alerts:
        return
    root = _api_root(base_url)
    body = [_postable(alert) for alert in alerts]
    import requests

    with requests.Session() as session:
        session.trust_env = False  # a proxy from the environment would be a surprise for a LAN service
        session.headers["User-Agent"] = f"ipaudit/{__version__}"
        try:
            answer = exchange(session, "POST", root + "/api/v2/alerts", timeout=timeout,
                              max_bytes=_MAX_ANSWER, json=body)
        except DeadlineExceeded:
            raise DeliveryError(f"Alertmanager {_shown(root)}: no answer within {timeout:g} s") from None
        except BodyTooLarge:
            raise DeliveryError(f"Alertmanager {_shown(root)}: answer larger than {_MAX_ANSWER} bytes") from None
        except requests.RequestException as problem:
            raise DeliveryError(f"Alertmanager {_shown(root)}: {_reason(problem)}",
                                "is it running, and is alerts.alertmanager its base URL?") from None
    if answer.status_code != 200:
        raise DeliveryError(f"Alertmanager {_shown(root)} refused the alerts: HTTP {answer.status_code}"
                            f"{_said(answer.body)}")


def rfc3339(moment: datetime) -> str:
    """A UTC RFC 3339 timestamp as the API's date-time format wants it; naive means UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _postable(alert: AmAlert) -> dict:
    for name in list(alert.labels) + list(alert.annotations):
        if not _LABEL_NAME.match(name):
            raise DeliveryError(f"Alertmanager label name {name!r} is not valid",
                                "names are letters, digits and underscores, not starting with a digit")
    if "alertname" not in alert.labels:
        raise DeliveryError("an Alertmanager alert needs an alertname label")
    postable = {"labels": dict(alert.labels), "annotations": dict(alert.annotations),
                "startsAt": rfc3339(alert.starts_at), "endsAt": rfc3339(alert.ends_at)}
    if alert.generator_url:
        postable["generatorURL"] = alert.generator_url
    return postable


def _api_root(base_url: str) -> str:
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryError(f"Alertmanager URL must be http(s)://HOST[:PORT][/PATH], not {_shown(base_url)!r}")
    if parts.username or parts.password:
        raise DeliveryError("credentials in the Alertmanager URL are not supported",
                            "they would land in logs and ps; put Alertmanager behind a local proxy instead")
    if parts.query or parts.fragment:
        raise DeliveryError(f"Alertmanager URL {_shown(base_url)!r} must not have a query or fragment")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _shown(url: str) -> str:
    """The URL without any userinfo, bounded, printable."""
    return one_line(re.sub(r"//[^/@]*@", "//", url))[:200]


def _reason(problem: Exception) -> str:
    import requests

    if isinstance(problem, requests.ConnectionError):
        return "connection failed"
    if isinstance(problem, requests.Timeout):
        return "timed out"
    return type(problem).__name__


def _said(body: bytes) -> str:
    """Alertmanager's error text (a JSON string), cleaned up for one line."""
    try:
        text = load_json(body, "Alertmanager's answer")
    except DecodeError:
        text = body.decode("utf-8", "replace")
    text = one_line(text)[:200]
    return f": {text}" if text else ""
