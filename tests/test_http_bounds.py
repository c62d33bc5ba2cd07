"""HttpClient bounds in-process: a total deadline, a body cap, and the plain-http credentials warning."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from ipaudit.sources.credentials import Secret
from ipaudit.sources.http import HttpClient
from ipaudit.sources.http_transfer import exchange, BodyTooLarge
from ipaudit.sources.interface import SourceError, SourceOptions

PLAIN = "ipaudit.sources.http"


@pytest.mark.parametrize("uri, warned", [
    ("adguard+http://192.0.2.1", True),
    ("adguard+http://router.lan:8080", True),
    ("adguard+https://192.0.2.1", False),
    ("adguard+http://127.0.0.1:3000", False),
    ("adguard+http://[::1]:3000", False),
    ("adguard+http://localhost", False),
])
def test_credentials_over_plain_http_to_another_host_are_warned_once(uri, warned, caplog):
    caplog.set_level(logging.WARNING, logger=PLAIN)
    with HttpClient(uri, SourceOptions()) as client:  # nothing is sent: the warning comes when credentials are set
        client.basic_auth("admin", Secret("pw-not-in-log"))
        client.secret_header("X-Token", Secret("tok-not-in-log"))
    records = [r for r in caplog.records if r.name == PLAIN]
    assert len(records) == (1 if warned else 0)
    assert all("not-in-log" not in r.getMessage() for r in records)
    if warned:
        assert "plain http://" in records[0].getMessage()


def test_no_credentials_no_warning(caplog):
    caplog.set_level(logging.WARNING, logger=PLAIN)
    with HttpClient("adguard+http://192.0.2.1", SourceOptions()):
        pass
    assert not [r for r in caplog.records if r.name == PLAIN]


@pytest.fixture
def trickler():
    """A raw socket server sending one header byte every 0.2 s: each read is quick, the answer never ends."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            with connection:
                connection.recv(4096)
                for byte in b"HTTP/1.1 200 OK\r\n" + b"X: " + b"a" * 1000:
                    if stop.wait(0.2):
                        break
                    try:
                        connection.sendall(bytes([byte]))
                    except OSError:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()
    thread.join(5)


def test_source_timeout_is_a_total_deadline(trickler):
    started = time.monotonic()
    with HttpClient(f"adguard+http://127.0.0.1:{trickler}", SourceOptions(timeout=1.0)) as client, \
            pytest.raises(SourceError) as raised:
        client.get("/control/dhcp/status")
    assert time.monotonic() - started < 3  # per-read timeouts alone would wait ~200 s here
    assert "no answer within 1s" in raised.value.one_line()


def test_body_cap_counts_while_streaming(httpserver):
    httpserver.expect_request("/big").respond_with_data(b"x" * 5000)
    import requests

    with requests.Session() as session:
        with pytest.raises(BodyTooLarge):
            exchange(session, "GET", httpserver.url_for("/big"), timeout=5, max_bytes=4096)
        answer = exchange(session, "GET", httpserver.url_for("/big"), timeout=5, max_bytes=5000)
    assert answer.status_code == 200 and len(answer.body) == 5000
