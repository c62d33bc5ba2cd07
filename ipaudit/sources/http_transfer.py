"""One HTTP exchange bounded in total time and in body size, whatever the server does.

Why a worker thread: requests' ``timeout`` bounds each socket read, not the exchange,
so a server trickling one byte every few seconds (headers included) holds a caller
forever. The exchange runs in a daemon thread; the caller waits at most ``timeout``
seconds in total and then gives up, shutting the socket so the thread ends too.
The body is streamed and refused past ``max_bytes`` (counted after gzip decoding,
so a compressed bomb is caught as well): a 400 MB answer once cost 3.27 GB.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping

from ipaudit.safe_decode import load_json

MAX_BODY_BYTES = 32 * 1024 * 1024  # the biggest lease table of a /16 is a few MiB of JSON
_CHUNK = 1 << 16


class BodyTooLarge(Exception):
    """The answer's body passed the byte limit."""


class DeadlineExceeded(Exception):
    """The whole exchange (connect, headers, body) took longer than the total timeout."""


@dataclass(frozen=True)
class HttpAnswer:
    """A complete HTTP answer, its body already read within the bounds."""

    status_code: int
    reason: str
    headers: Mapping[str, str]
    body: bytes = field(repr=False)

    def json(self, where: str = "the response") -> Any:
        """The body as strict JSON (no NaN, bounded depth); raises ``safe_decode.DecodeError``."""
        return load_json(self.body, where)


def exchange(session, method: str, url: str, *, timeout: float, max_bytes: int = MAX_BODY_BYTES,
             **request_args) -> HttpAnswer:
    """Send one request and read its whole answer within ``timeout`` seconds in total.

    Raises what requests raises, ``BodyTooLarge`` or ``DeadlineExceeded``.
    """
    outcome: dict[str, Any] = {}
    cancelled = threading.Event()

    def work() -> None:
        try:
            response = session.request(method, url, timeout=timeout, stream=True, **request_args)
        except BaseException as problem:  # noqa: BLE001 - handed to the waiting caller
            outcome["error"] = problem
            return
        outcome["response"] = response
        try:
            outcome["answer"] = _read(response, max_bytes, cancelled)
        except BaseException as problem:  # noqa: BLE001 - handed to the waiting caller
            outcome["error"] = problem
        finally:
            response.close()

    worker = threading.Thread(target=work, name="ipaudit-http", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        cancelled.set()
        _abort(outcome.get("response"))
        raise DeadlineExceeded
    if "error" in outcome:
        raise outcome["error"]
    return outcome["answer"]


def _read(response, max_bytes: int, cancelled: threading.Event) -> HttpAnswer:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge
    body = bytearray()
    for chunk in response.iter_content(_CHUNK):
        if cancelled.is_set():
            break
        body += chunk
        if len(body) > max_bytes:
            raise BodyTooLarge
    return HttpAnswer(response.status_code, response.reason or "", dict(response.headers), bytes(body))


def _abort(response) -> None:
    """Unblock a worker stuck reading a body: shut its socket (closing alone may not wake a recv)."""
    if response is None:
        return  # still waiting for headers: its own per-read timeout (<= the total) ends the thread
    try:
        response.raw.connection.sock.shutdown(socket.SHUT_RDWR)  # None once urllib3 released it
    except Exception:  # noqa: BLE001 - best effort: the daemon thread ends with the process anyway
        pass
