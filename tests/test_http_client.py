"""The shared HTTP client and credentials, against real local HTTP(S) servers on 127.0.0.1."""

from __future__ import annotations

import os
import pickle
import sys
import time

import pytest
from werkzeug import Response

from http_fakes import PASSWORD, base_uri, clean_env, closed_port, self_signed, threaded_server, tls_server  # noqa: F401
from ipaudit.sources.credentials import Secret, credentials_for, file_keys
from ipaudit.sources.http import HttpClient
from ipaudit.sources.source_uri import parse_source_uri, safe_uri
from ipaudit.sources.interface import SourceError, SourceOptions


def client_for(server, options=None, scheme="pihole+http", **kwargs) -> HttpClient:
    return HttpClient(base_uri(scheme, server), options or SourceOptions(timeout=5), **kwargs)


# --- URIs -------------------------------------------------------------------------------

def test_uri_gives_base_url_path_and_user():
    address = parse_source_uri("unifi+https://admin@[2001:db8::1]:8443/branch/")
    assert address.base_url == "https://[2001:db8::1]:8443"
    assert (address.vendor, address.path, address.username) == ("unifi", "branch", "admin")
    assert parse_source_uri("pihole+http://pi.hole").base_url == "http://pi.hole"


def test_password_in_uri_is_refused_without_echoing_it():
    with pytest.raises(SourceError) as raised:
        parse_source_uri(f"mikrotik+https://admin:{PASSWORD}@192.0.2.1")
    text = raised.value.one_line()
    assert PASSWORD not in text
    assert "IPAUDIT_MIKROTIK_PASSWORD" in text
    assert safe_uri(f"x+https://u:{PASSWORD}@h/p") == "x+https://u:***@h/p"


@pytest.mark.parametrize("uri", ["pihole://host", "pihole+ftp://host", "pihole+https://", "pihole+https://h:99999"])
def test_malformed_uris(uri):
    with pytest.raises(SourceError):
        parse_source_uri(uri)


# --- failures map to one line naming the source -------------------------------------------

@pytest.mark.parametrize("status", [401, 403])
def test_auth_failure_is_one_line_without_the_password(httpserver, status):
    httpserver.expect_request("/api/x").respond_with_json({"error": "Unauthorized"}, status=status)
    with client_for(httpserver, auth_hint="check IPAUDIT_PIHOLE_PASSWORD") as client:
        client.basic_auth("admin", Secret(PASSWORD))
        with pytest.raises(SourceError) as raised:
            client.get("/api/x")
    text = raised.value.one_line()
    assert text.startswith(f"{client.source}: authentication failed (HTTP {status} from GET /api/x)")
    assert "IPAUDIT_PIHOLE_PASSWORD" in text and PASSWORD not in text and "\n" not in text
    # The password really was sent: the server saw basic auth.
    request, _ = httpserver.log[-1]
    assert request.authorization.password == PASSWORD


def test_server_error_names_status(httpserver):
    httpserver.expect_request("/boom").respond_with_data("oops", status=500)
    with client_for(httpserver) as client, pytest.raises(SourceError, match=r"HTTP 500 INTERNAL SERVER ERROR from GET /boom"):
        client.get("/boom")


def test_non_json_body(httpserver):
    httpserver.expect_request("/api").respond_with_data("<html>login</html>", content_type="text/html")
    with client_for(httpserver) as client, pytest.raises(SourceError) as raised:
        client.get("/api")
    assert "GET /api did not return JSON (got text/html, 18 bytes)" in raised.value.one_line()


def test_unexpected_shape_names_the_missing_key(httpserver):
    httpserver.expect_request("/api").respond_with_json({"config": {"dns": {}}})
    with client_for(httpserver) as client:
        answer = client.get("/api")
        with pytest.raises(SourceError, match=r"unexpected response from GET /api/config/dhcp: no config\.dhcp"):
            client.require(answer, "config", "dhcp", where="GET /api/config/dhcp")
        with pytest.raises(SourceError, match="expected a list at config, got an object"):
            client.require_list(answer, "config", where="x")


def test_redirect_is_reported_not_followed(httpserver):
    httpserver.expect_request("/").respond_with_data("", status=302, headers={"Location": "https://elsewhere/"})
    with client_for(httpserver) as client, pytest.raises(SourceError, match="redirect to https://elsewhere/"):
        client.get("/")


def test_timeout(threaded_server):
    def slow(_request):
        time.sleep(1.5)
        return Response("{}", content_type="application/json")

    threaded_server.expect_request("/slow").respond_with_handler(slow)
    started = time.monotonic()
    with client_for(threaded_server, SourceOptions(timeout=0.3)) as client, pytest.raises(SourceError) as raised:
        client.get("/slow")
    assert time.monotonic() - started < 1.4
    assert raised.value.one_line().startswith(f"{client.source}: no answer within 0.3s (GET /slow)")


def test_connection_refused():
    port = closed_port()
    with HttpClient(f"adguard+http://127.0.0.1:{port}", SourceOptions(timeout=2)) as client:
        with pytest.raises(SourceError) as raised:
            client.get("/control/dhcp/status")
    assert raised.value.one_line() == f"adguard+http://127.0.0.1:{port}: connection refused on port {port}"


# --- TLS -------------------------------------------------------------------------------

def test_tls_self_signed_is_refused_by_default(tls_server):
    tls_server.expect_request("/api").respond_with_json({"ok": True})
    with client_for(tls_server, scheme="pihole+https") as client, pytest.raises(SourceError) as raised:
        client.get("/api")
    text = raised.value.one_line()
    assert "TLS verification failed (certificate verify failed: self-signed certificate)" in text
    assert "--ca-cert" in text and "--insecure" in text


def test_tls_with_ca_cert_verifies(tls_server, self_signed):
    cert, _ = self_signed
    tls_server.expect_request("/api").respond_with_json({"ok": True})
    with client_for(tls_server, SourceOptions(ca_cert=cert), scheme="pihole+https") as client:
        assert client.get("/api") == {"ok": True}


def test_tls_insecure_warns_once(tls_server, caplog):
    tls_server.expect_request("/api").respond_with_json({"ok": True})
    with client_for(tls_server, SourceOptions(insecure=True), scheme="pihole+https") as client:
        assert client.get("/api") == {"ok": True}
        assert client.get("/api") == {"ok": True}
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [f"TLS certificate of {client.source} is not verified (--insecure)"]


def test_missing_ca_file(tls_server):
    with client_for(tls_server, SourceOptions(ca_cert="/nonexistent/ca.pem"), scheme="pihole+https") as client:
        with pytest.raises(SourceError, match="CA certificate file '/nonexistent/ca.pem' does not exist"):
            client.get("/api")


def test_secrets_are_scrubbed_from_messages(httpserver):
    with client_for(httpserver) as client:
        client.secret_header("X-FTL-SID", "sid-12345-abc")
        error = client.error("server said sid-12345-abc is stale")
    assert "sid-12345-abc" not in error.one_line() and "***" in error.one_line()


# --- Secret and credentials -----------------------------------------------------------------

def test_secret_never_shows_itself():
    secret = Secret(PASSWORD)
    assert PASSWORD not in repr(secret) and PASSWORD not in str(secret) and PASSWORD not in f"{secret}"
    assert PASSWORD not in repr(credentials_for("pihole+https://pi.hole", {"IPAUDIT_PIHOLE_PASSWORD": PASSWORD,
                                                                           "XDG_CONFIG_HOME": "/nonexistent"}))
    assert secret.reveal() == PASSWORD
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def write_credentials(path, text, mode=0o600):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_env_specific_beats_file_beats_generic(tmp_path):
    creds_file = write_credentials(tmp_path / "c.yaml", "router.lan:\n  username: fileuser\n  password: filepass\n")
    environ = {"IPAUDIT_CREDENTIALS": str(creds_file), "IPAUDIT_MIKROTIK_PASSWORD": "envpass",
               "IPAUDIT_USERNAME": "genericuser", "IPAUDIT_TOKEN": "generictoken"}
    creds = credentials_for("mikrotik+https://router.lan", environ)
    assert creds.password.reveal() == "envpass" and creds.origins["password"] == "IPAUDIT_MIKROTIK_PASSWORD"
    assert creds.username == "fileuser" and creds.origins["username"] == f"{creds_file} [router.lan]"
    assert creds.token.reveal() == "generictoken"
    assert creds.api_key is None


def test_file_keys_most_specific_first(tmp_path):
    assert file_keys("pihole+https://pi.hole:8443/x", "pihole+https", "pi.hole", 8443) == [
        "pihole+https://pi.hole:8443/x", "pihole+https://pi.hole:8443", "pihole+https://pi.hole", "pi.hole:8443", "pi.hole"]
    creds_file = write_credentials(tmp_path / "c.yaml",
                                   "pi.hole:\n  password: byhost\n'pi.hole:8443':\n  password: byport\n")
    environ = {"IPAUDIT_CREDENTIALS": str(creds_file)}
    assert credentials_for("pihole+https://pi.hole:8443", environ).password.reveal() == "byport"
    assert credentials_for("pihole+https://pi.hole", environ).password.reveal() == "byhost"


def test_secret_from_file_variable(tmp_path):
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    creds = credentials_for("adguard+http://h", {"IPAUDIT_ADGUARD_PASSWORD_FILE": str(tmp_path / "pw"),
                                                 "XDG_CONFIG_HOME": str(tmp_path)})
    assert creds.password.reveal() == PASSWORD


def test_readable_credentials_file_warns(tmp_path, caplog):
    creds_file = write_credentials(tmp_path / "c.yaml", "h:\n  password: x\n", mode=0o644)
    credentials_for("adguard+http://h", {"IPAUDIT_CREDENTIALS": str(creds_file)})
    assert f"credentials file {creds_file} is readable by group or others: chmod 600" in caplog.text
    caplog.clear()
    os.chmod(creds_file, 0o600)
    credentials_for("adguard+http://h", {"IPAUDIT_CREDENTIALS": str(creds_file)})
    assert caplog.text == ""


def test_broken_credentials_file_does_not_quote_its_content(tmp_path):
    creds_file = write_credentials(tmp_path / "c.yaml", f"h:\n  password: {PASSWORD}\n   bad: [\n")
    with pytest.raises(SourceError) as raised:
        credentials_for("adguard+http://h", {"IPAUDIT_CREDENTIALS": str(creds_file)})
    assert "is not valid YAML at line" in raised.value.one_line() and PASSWORD not in raised.value.one_line()


def test_credentials_file_errors(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        credentials_for("adguard+http://h", {"IPAUDIT_CREDENTIALS": str(tmp_path / "missing.yaml")})
    creds_file = write_credentials(tmp_path / "c.yaml", "h:\n  passwd: x\n")
    with pytest.raises(SourceError, match="unknown field.*passwd"):
        credentials_for("adguard+http://h", {"IPAUDIT_CREDENTIALS": str(creds_file)})


def test_missing_credentials_say_what_to_set():
    creds = credentials_for("opnsense+https://fw", {"XDG_CONFIG_HOME": "/nonexistent"})
    with pytest.raises(SourceError) as raised:
        creds.require("api_key", "api_secret", source="opnsense+https://fw")
    text = raised.value.one_line()
    assert "no api key or api secret" in text
    assert "IPAUDIT_OPNSENSE_API_KEY and IPAUDIT_OPNSENSE_API_SECRET" in text
    assert "/nonexistent/ipaudit/credentials.yaml" in text


def test_username_from_uri():
    creds = credentials_for("openwrt+https://admin@router", {"XDG_CONFIG_HOME": "/nonexistent",
                                                              "IPAUDIT_USERNAME": "other"})
    assert creds.username == "admin" and creds.origins["username"] == "the source URI"


def test_requests_is_not_imported_by_offline_code():
    import subprocess

    code = ("import sys, ipaudit.sources.http, ipaudit.sources.credentials, ipaudit.sources.pihole, "
            "ipaudit.sources.unifi, ipaudit.sources.opnsense, ipaudit.sources.mikrotik, ipaudit.sources.adguard, "
            "ipaudit.sources.openwrt_ubus, ipaudit.sources.kubectl, ipaudit.sources.k8s_api; "
            "print('requests' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
