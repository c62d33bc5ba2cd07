"""The HTTP plumbing every router/appliance API source shares: one small client over requests.

It takes a source URI (``pihole+https://HOST[:PORT][/path]``, parsed by
``source_uri``), keeps TLS verification on unless the user opts out, can present a TLS client
certificate, and maps every failure (401/403, timeouts, refused connections,
TLS, non-JSON, wrong shape) to a one-line ``SourceError`` that names the source
and never a credential.
``requests`` is imported only when a client is built, so offline runs never load it.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from typing import Any

from ipaudit import __version__
from ipaudit.safe_decode import DecodeError
from ipaudit.sources.credentials import Credentials, Secret, credentials_for
from ipaudit.sources.http_transfer import MAX_BODY_BYTES, BodyTooLarge, DeadlineExceeded, HttpAnswer, exchange
from ipaudit.sources.interface import DhcpSource, SourceError, SourceOptions
from ipaudit.sources.source_uri import SourceAddress, parse_source_uri, safe_uri


class HttpClient:
    """JSON over HTTP(S) for one source; every failure becomes a SourceError naming ``display``.

    Use as a context manager so the connection pool closes. Secrets given to
    ``basic_auth``/``secret_header``/``keep_secret`` are scrubbed from every message.
    """

    def __init__(self, uri: str, options: SourceOptions, *, auth_hint: str | None = None,
                 client_cert_hint: str | None = None):
        self.address = parse_source_uri(uri)
        self.options = options
        self.auth_hint = auth_hint
        # Said when the server demands a TLS client certificate: where this source's user sets one.
        self.client_cert_hint = client_cert_hint
        self._client_cert: str | None = None
        self._secrets: list[str] = []
        self._session = None
        self._warned_insecure = False
        self._warned_plain = False

    # --- setup ---------------------------------------------------------------------------

    @property
    def source(self) -> str:
        return self.address.display

    @property
    def base_url(self) -> str:
        return self.address.base_url

    def path_prefix(self, default: str = "") -> str:
        """``/`` plus the URI's path (or ``default`` when it has none); "" when both are empty."""
        path = self.address.path or default
        return "/" + path if path else ""

    def _verify(self) -> bool | str:
        if self.options.insecure:
            return False
        if self.options.ca_cert:
            if not os.path.isfile(self.options.ca_cert):
                raise SourceError(f"{self.source}: CA certificate file {self.options.ca_cert!r} does not exist")
            return self.options.ca_cert
        return True

    def _session_or_new(self):
        if self._session is None:
            import requests

            session = requests.Session()
            session.headers["User-Agent"] = f"ipaudit/{__version__}"
            session.headers["Accept"] = "application/json"
            # Proxies and netrc from the environment would be surprising for a LAN appliance.
            session.trust_env = False
            session.verify = self._verify()
            if session.verify is False and self.address.transport == "https":
                self._warn_insecure()
            self._session = session
        return self._session

    def _warn_insecure(self) -> None:
        import urllib3

        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        if not self._warned_insecure:
            logging.getLogger(__name__).warning("TLS certificate of %s is not verified (--insecure)", self.source)
            self._warned_insecure = True

    def keep_secret(self, *values: str | Secret | None) -> None:
        """Remember values that must never appear in a message (session ids, tokens)."""
        for value in values:
            text = value.reveal() if isinstance(value, Secret) else value
            if text:
                self._secrets.append(text)
                self._warn_if_plain_http()

    def basic_auth(self, username: str, password: Secret) -> None:
        self.keep_secret(password)
        self._session_or_new().auth = (username, password.reveal())

    def secret_header(self, name: str, value: str | Secret) -> None:
        self.keep_secret(value)
        self._session_or_new().headers[name] = value.reveal() if isinstance(value, Secret) else value

    def client_certificate(self, cert_file: str, key_file: str | None = None, *, hint: str | None = None) -> None:
        """Present ``cert_file`` (PEM; its key in it too unless ``key_file`` is given) when TLS asks for one.

        Both files are loaded once here, so a missing, unreadable, mismatched or
        passphrase-protected file is a one-line SourceError naming it (``hint`` says
        where the path came from) instead of a failure on every connection.
        """
        import ssl

        for what, path in (("client certificate", cert_file), ("client key", key_file)):
            if path is not None:
                _require_readable(path, what, self, hint)
        key_name = key_file or cert_file

        def refuse_passphrase():
            raise _EncryptedKey

        try:
            # A callback, so an encrypted key is refused here rather than OpenSSL prompting on the terminal.
            ssl.create_default_context().load_cert_chain(cert_file, key_file, password=refuse_passphrase)
        except _EncryptedKey:
            raise self.error(f"client key {key_name!r} is protected by a passphrase",
                             hint="ipaudit cannot ask for it: give a key file without one, readable only by you"
                             ) from None
        except ssl.SSLError as problem:
            # A key of the other kind (EC for an RSA certificate) gives NO_CERTIFICATE_ASSIGNED.
            if re.search(r"KEY_VALUES_MISMATCH|KEY_TYPE_MISMATCH|NO_CERTIFICATE_ASSIGNED", str(problem)):
                raise self.error(f"client key {key_name!r} does not belong to client certificate {cert_file!r}",
                                 hint=hint) from None
            if key_file is None:
                raise self.error(f"cannot load a PEM client certificate and its private key from {cert_file!r}",
                                 hint=hint or "give the key file separately if it is not in the certificate file"
                                 ) from None
            raise self.error(f"cannot load a PEM client certificate from {cert_file!r} with the key in {key_file!r}",
                             hint=hint) from None
        self._client_cert = cert_file
        self._session_or_new().cert = cert_file if key_file is None else (cert_file, key_file)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # --- errors --------------------------------------------------------------------------

    def scrub(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return " ".join(text.split())

    def error(self, message: str, hint: str | None = None) -> SourceError:
        """A SourceError for this source: ``raise client.error("...")``."""
        return SourceError(self.scrub(f"{self.source}: {message}"), hint=self.scrub(hint) if hint else None)

    # --- requests ------------------------------------------------------------------------

    def request(self, method: str, path: str, *, json: Any = None, params: dict | None = None,
                headers: dict | None = None, expect_json: bool = True, ok_statuses: tuple[int, ...] = ()) -> Any:
        """Send one request; return the decoded JSON (or the ``HttpAnswer`` when ``expect_json`` is false).

        ``--source-timeout`` bounds the whole exchange and the body is size-capped (``http_transfer``).
        """
        import requests

        session = self._session_or_new()
        url = self.base_url + "/" + path.lstrip("/")
        what = f"{method.upper()} /{path.lstrip('/').split('?')[0]}"
        timeout = self.options.timeout
        try:
            response = exchange(session, method, url, timeout=timeout, json=json, params=params, headers=headers,
                                allow_redirects=False)
        except (requests.exceptions.Timeout, DeadlineExceeded):
            raise self.error(f"no answer within {timeout:g}s ({what})",
                             hint="is the host up? give it longer with --source-timeout") from None
        except BodyTooLarge:
            raise self.error(f"the answer to {what} is larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB",
                             hint="is this the right host and port for this kind of source?") from None
        except requests.exceptions.SSLError as problem:
            raise self._tls_error(problem) from None
        except requests.exceptions.ConnectionError as problem:
            reason = _connection_reason(problem, self.address.port or _default_port(self.address))
            hint = None
            if reason.startswith("the server closed") and self.address.transport == "https" \
                    and self._client_cert is None and self.client_cert_hint:
                hint = f"if it requires a TLS client certificate, {self.client_cert_hint}"
            raise self.error(reason, hint=hint) from None
        except requests.exceptions.RequestException as problem:
            raise self.error(f"request failed ({what}): {type(problem).__name__}") from None
        if response.status_code in ok_statuses:
            return response if not expect_json else _json_or_none(response)
        if response.status_code in (401, 403):
            raise self.error(f"authentication failed (HTTP {response.status_code} from {what})",
                             hint=self.auth_hint)
        if 300 <= response.status_code < 400:
            target = response.headers.get("Location", "?")
            raise self.error(f"HTTP {response.status_code} redirect to {safe_uri(target)} ({what})",
                             hint="check http vs https and the port in the source URI")
        if response.status_code >= 400:
            raise self.error(f"HTTP {response.status_code} {response.reason or ''} from {what}".replace("  ", " "))
        if not expect_json:
            return response
        try:
            return response.json(f"the answer to {what}")
        except DecodeError as problem:
            kind = response.headers.get("Content-Type", "no content type").split(";")[0]
            if "not JSON" in problem.message:
                raise self.error(f"{what} did not return JSON (got {kind}, {len(response.body)} bytes)",
                                 hint="is this the right host and port for this kind of source?") from None
            raise self.error(problem.message, problem.hint) from None

    def _warn_if_plain_http(self) -> None:
        """Credentials over http:// to another machine can be read on the wire: say so, once."""
        # Called from keep_secret, which every credential (basic auth, tokens, login bodies) passes through.
        if self._warned_plain or self.address.transport != "http" or _is_loopback(self.address.host):
            return
        self._warned_plain = True
        logging.getLogger(__name__).warning(
            "%s: credentials are sent over plain http:// to a host that is not this machine; "
            "anyone on the network path can read them: use https:// if the server offers it", self.source)

    def _tls_error(self, problem: Exception) -> SourceError:
        text = str(problem)
        # TLS 1.3 servers with mandatory client certificates answer a client without one with this alert.
        if "CERTIFICATE_REQUIRED" in text or "alert certificate required" in text:
            return self.error("the server requires a TLS client certificate and none was given",
                              hint=self.client_cert_hint or "this kind of source cannot send one")
        closed = "EOF occurred" in text or "UNEXPECTED_EOF" in text
        # The same refusal, when the server's reset overtook its alert: the likeliest reason, but not a certain one.
        if closed and self._client_cert is None and self.client_cert_hint:
            return self.error("the server closed the TLS connection during the handshake; it may require a TLS "
                              "client certificate", hint=self.client_cert_hint)
        # A server that refuses the certificate we sent drops the handshake (EOF) or sends a certificate alert.
        if self._client_cert is not None and (closed or _CERTIFICATE_ALERT.search(text)):
            return self.error(f"the server ended the TLS handshake after receiving client certificate "
                              f"{self._client_cert!r} ({_tls_reason(problem)})",
                              hint="is it signed by a CA the server trusts, unexpired, and made for client "
                                   "authentication (extendedKeyUsage clientAuth)?")
        return self.error(f"TLS verification failed ({_tls_reason(problem)})",
                          hint="pass --ca-cert FILE with the router's CA, or --insecure to skip verification")

    def get(self, path: str, **kwargs) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs) -> Any:
        return self.request("POST", path, json=body, **kwargs)

    def delete(self, path: str, **kwargs) -> Any:
        return self.request("DELETE", path, **kwargs)

    # --- shape checks --------------------------------------------------------------------

    def require(self, obj: Any, *keys: str | int, where: str) -> Any:
        """``obj[k1][k2]...``, or a SourceError saying which key the response lacked."""
        current = obj
        walked = ""
        for key in keys:
            walked += f"[{key!r}]" if isinstance(key, int) else f".{key}"
            try:
                current = current[key]
            except (KeyError, IndexError, TypeError):
                raise self.error(f"unexpected response from {where}: no {walked.lstrip('.')!s}",
                                 hint="is this the right kind of source, and a supported firmware version?") from None
        return current

    def require_list(self, obj: Any, *keys: str | int, where: str) -> list:
        value = self.require(obj, *keys, where=where) if keys else obj
        if not isinstance(value, list):
            raise self.error(f"unexpected response from {where}: expected a list{_at(keys)}, got {_kind(value)}")
        return value

    def require_dict(self, obj: Any, *keys: str | int, where: str) -> dict:
        value = self.require(obj, *keys, where=where) if keys else obj
        if not isinstance(value, dict):
            raise self.error(f"unexpected response from {where}: expected an object{_at(keys)}, got {_kind(value)}")
        return value


def api_client(source: DhcpSource, *fields: str) -> tuple[Credentials, HttpClient]:
    """The credentials and a (not yet entered) client for ``source``, once every one of ``fields`` is set.

    A missing field is a SourceError saying where to set it, raised before the URI is
    even parsed; a 401/403 later names where ``fields`` came from.
    """
    credentials = credentials_for(source.uri)
    credentials.require(*fields, source=source.uri)
    return credentials, HttpClient(source.uri, source.options, auth_hint=credentials.auth_hint(*fields))


def basic_auth_client(source: DhcpSource, user_field: str, secret_field: str) -> HttpClient:
    """A client for ``source`` that sends HTTP basic auth from two credential fields.

    ``user_field`` may itself be a secret (OPNsense's API key): it is then kept out of
    every message too. Use the result as a context manager.
    """
    credentials, client = api_client(source, user_field, secret_field)
    user = getattr(credentials, user_field)
    try:
        client.basic_auth(user.reveal() if isinstance(user, Secret) else user, getattr(credentials, secret_field))
        if isinstance(user, Secret):
            client.keep_secret(user)
    except BaseException:
        client.close()
        raise
    return client


# TLS alerts a server sends about the client certificate it was given.
_CERTIFICATE_ALERT = re.compile(r"ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|"
                                r"CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|ACCESS_DENIED)")


class _EncryptedKey(Exception):
    """Raised from the passphrase callback: ipaudit never prompts for a key's passphrase."""


def _require_readable(path: str, what: str, client: HttpClient, hint: str | None) -> None:
    if not os.path.exists(path):
        raise client.error(f"{what} file {path!r} does not exist", hint=hint)
    if os.path.isdir(path):
        raise client.error(f"{what} file {path!r} is a directory", hint=hint)
    try:
        with open(path, "rb"):
            pass
    except OSError as problem:
        raise client.error(f"cannot read {what} file {path!r}: {problem.strerror}", hint=hint) from None


def _at(keys: tuple) -> str:
    return f" at {'.'.join(str(k) for k in keys)}" if keys else ""


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(type(value), type(value).__name__)


def _default_port(address: SourceAddress) -> int:
    return 443 if address.transport == "https" else 80


def _json_or_none(response: HttpAnswer) -> Any:
    try:
        return response.json()
    except DecodeError:
        return None


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _tls_reason(problem: Exception) -> str:
    text = str(problem)
    match = re.search(r"certificate verify failed: ([^(')\]]+)", text)
    if match:
        return "certificate verify failed: " + match.group(1).strip()
    if "hostname" in text.lower() and "match" in text.lower():
        return "certificate does not match the host name"
    if "EOF occurred" in text or "UNEXPECTED_EOF" in text:
        return "connection closed during the handshake"
    match = re.search(r"\[SSL: ([A-Z0-9_]+)\]", text)
    if match:
        return match.group(1).lower().replace("_", " ")
    return "TLS handshake failed"


def _connection_reason(problem: Exception, port: int) -> str:
    text = str(problem)
    if "Connection refused" in text or "Errno 111" in text:
        return f"connection refused on port {port}"
    if "Name or service not known" in text or "getaddrinfo failed" in text or "Temporary failure in name resolution" in text \
            or "No address associated" in text:
        return "cannot resolve the host name"
    if "No route to host" in text or "Network is unreachable" in text:
        return "host unreachable"
    if "RemoteDisconnected" in text or "Connection aborted" in text or "Connection reset" in text:
        return "the server closed the connection (wrong port, or http vs https?)"
    return "cannot connect"
