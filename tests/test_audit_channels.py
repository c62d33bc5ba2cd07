"""The audit's delivery channels against real receivers: Apprise over json:// to a local HTTP
server, and a real Alertmanager's v2 API (posted, then read back with GET /api/v2/alerts)."""

from __future__ import annotations

import socket
import threading
from datetime import datetime, timedelta, timezone

import pytest

from audit_servers import alertmanager, json_webhook  # noqa: F401 - fixtures
from ipaudit.audit.alertmanager import AmAlert, post_alerts, rfc3339
from ipaudit.audit.notify import IDEMPOTENCY_HEADER, DeliveryError, Notification, send
from ipaudit.errors import IpauditError

NOW = datetime.now(timezone.utc).replace(microsecond=0)
VIP = "192.0.2.240"


def notification(key: str = "home/vip/1", event: str = "conflict-started", severity: str = "critical") -> Notification:
    return Notification(key=key, event=event, lan="home", code="vip-claimed-by-foreign-device", severity=severity,
                        address=VIP, title=f"ipaudit home: {VIP} claimed by a foreign device",
                        body=f"{VIP} answered from 02:00:00:00:00:99 (not a node)", at=NOW)


def alert(ends_in: timedelta = timedelta(minutes=15), **labels: str) -> AmAlert:
    return AmAlert(labels={"alertname": "vip-claimed-by-foreign-device", "severity": "critical", "lan": "home",
                           "address": VIP, "instance": "auditor-1", **labels},
                   annotations={"summary": f"{VIP} claimed by 02:00:00:00:00:99"},
                   starts_at=NOW, ends_at=NOW + ends_in)


@pytest.fixture
def silent_server():
    """A TCP server that accepts and never answers: the total deadline must end the wait."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    worker = threading.Thread(target=accept, daemon=True)
    worker.start()
    yield listener.getsockname()[1]
    stop.set()
    worker.join()
    for connection in held:
        connection.close()
    listener.close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- Apprise --------------------------------------------------------------------------------

def test_json_webhook_receives_one_post_with_title_body_type_and_key(json_webhook):
    send(json_webhook.apprise_url, notification(), timeout=10)
    [received] = json_webhook.received
    assert received.path == "/ipaudit"
    assert received.body["title"] == f"ipaudit home: {VIP} claimed by a foreign device"
    assert received.body["message"] == f"{VIP} answered from 02:00:00:00:00:99 (not a node)"
    assert received.body["type"] == "failure"
    assert received.headers[IDEMPOTENCY_HEADER] == "home/vip/1"


@pytest.mark.parametrize(("event", "severity", "kind"), [
    ("conflict-resolved", "critical", "success"), ("conflict-started", "warning", "warning"),
    ("audit-failed", "info", "failure"), ("new-dhcp-server", "info", "info")])
def test_notify_type_follows_event_and_severity(json_webhook, event, severity, kind):
    send(json_webhook.apprise_url, notification(event=event, severity=severity), timeout=10)
    assert [message["type"] for message in json_webhook.messages()] == [kind]


def test_refusing_receiver_is_a_delivery_error_without_the_secret(json_webhook):
    json_webhook.fail(503)
    url = f"json://ipaudit:Hunter2Secret@127.0.0.1:{json_webhook.port}/ipaudit"
    with pytest.raises(DeliveryError) as raised:
        send(url, notification(), timeout=10)
    assert json_webhook.refused == 1 and json_webhook.received == []
    text = raised.value.one_line()
    assert "not delivered" in text and "Hunter2Secret" not in text
    assert isinstance(raised.value, IpauditError)


def test_receiver_down_is_a_delivery_error_and_back_up_delivers(json_webhook):
    json_webhook.stop()
    with pytest.raises(DeliveryError, match="not delivered"):
        send(json_webhook.apprise_url, notification(), timeout=5)
    json_webhook.start()
    send(json_webhook.apprise_url, notification(), timeout=10)
    assert len(json_webhook.received) == 1


def test_silent_receiver_ends_within_the_deadline(silent_server):
    with pytest.raises(DeliveryError):
        send(f"json://127.0.0.1:{silent_server}/hook", notification(), timeout=1.0)


@pytest.mark.parametrize("url", ["nosuchservice://example/x", "not a url", ""])
def test_unknown_url_is_a_delivery_error(url):
    with pytest.raises(DeliveryError, match="not an Apprise URL"):
        send(url, notification(), timeout=1)


# --- Alertmanager ---------------------------------------------------------------------------

def test_posted_alert_reads_back_with_labels_annotations_and_times(alertmanager):
    generator = "http://auditor-1.example/ipaudit"
    firing = AmAlert(**{**alert().__dict__, "generator_url": generator})
    post_alerts(alertmanager.url, [firing], timeout=10)
    [shown] = alertmanager.alerts()
    assert shown["labels"] == firing.labels
    assert shown["annotations"] == firing.annotations
    assert shown["startsAt"] == rfc3339(NOW) and shown["endsAt"] == rfc3339(firing.ends_at)
    assert shown["generatorURL"] == generator
    assert shown["status"]["state"] == "active"


def test_reposting_updates_one_alert_and_endsat_now_resolves_it(alertmanager):
    other = alert(address="192.0.2.241")
    post_alerts(alertmanager.url, [alert(), other], timeout=10)
    post_alerts(alertmanager.url, [alert(ends_in=timedelta(minutes=30))], timeout=10)
    assert sorted(a["labels"]["address"] for a in alertmanager.alerts()) == [VIP, "192.0.2.241"]
    resolved = AmAlert(alert().labels, alert().annotations, NOW, datetime.now(timezone.utc))
    post_alerts(alertmanager.url, [resolved], timeout=10)
    assert [a["labels"]["address"] for a in alertmanager.alerts()] == ["192.0.2.241"]


def test_alertmanager_refusal_is_one_line_with_its_reason(alertmanager):
    backwards = AmAlert(alert().labels, {}, NOW, NOW - timedelta(hours=1))
    with pytest.raises(DeliveryError) as raised:
        post_alerts(alertmanager.url, [backwards], timeout=10)
    text = raised.value.one_line()
    assert "HTTP 400" in text and "\n" not in text
    assert alertmanager.alerts() == []


def test_bad_label_name_is_refused_before_posting():
    with pytest.raises(DeliveryError, match="label name 'bad-name'"):
        post_alerts("http://127.0.0.1:1", [alert(**{"bad-name": "x"})], timeout=1)


def test_unreachable_alertmanager_is_a_delivery_error():
    with pytest.raises(DeliveryError, match="connection failed"):
        post_alerts(f"http://127.0.0.1:{closed_port()}", [alert()], timeout=5)


def test_silent_alertmanager_ends_within_the_deadline(silent_server):
    with pytest.raises(DeliveryError, match="no answer within 1 s"):
        post_alerts(f"http://127.0.0.1:{silent_server}", [alert()], timeout=1.0)


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://127.0.0.1:9093", "must be http"), ("http://admin:PassW0rdX@127.0.0.1:9093", "credentials"),
    ("http://127.0.0.1:9093/?x=1", "query")])
def test_bad_alertmanager_url_is_refused_without_secret(url, message):
    with pytest.raises(DeliveryError, match=message) as raised:
        post_alerts(url, [alert()], timeout=1)
    assert "PassW0rdX" not in raised.value.one_line()


def test_nothing_to_post_sends_nothing():
    post_alerts(f"http://127.0.0.1:{closed_port()}", [], timeout=1)


def test_naive_time_is_utc():
    assert rfc3339(datetime(2024, 5, 1, 12, 0, 0)) == "2024-05-01T12:00:00.000Z"
    assert rfc3339(datetime(2024, 5, 1, 14, 0, 0, tzinfo=timezone(timedelta(hours=2)))) == "2024-05-01T12:00:00.000Z"
