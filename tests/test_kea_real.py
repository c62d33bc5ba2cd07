"""The Kea sources against a real kea-dhcp4 and kea-ctrl-agent (Debian's Kea 2.2) on loopback.

Each server runs from a temporary directory with its own config: no DHCP
interfaces (it never touches the network), a unix control socket in the temp
dir, and the Control Agent on 127.0.0.1 at a free port. Both are started and
stopped by PID here. Leases are added through the lease_cmds hook, or written
to the memfile before start when the hook is deliberately not loaded.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from netaddr import IPAddress, IPNetwork

from ipaudit.cli.main import program
from ipaudit.sources.interface import SourceError, SourceOptions
from ipaudit.sources.registry import open_source

HOOKS = Path("/usr/lib/x86_64-linux-gnu/kea/hooks")
PASSWORD = "s3cret-ipaK-pw"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class KeaServer:
    """kea-dhcp4 + kea-ctrl-agent serving 198.51.100.0/24 (pool .100-.199) from a temp dir."""

    def __init__(self, lease_cmds: bool = True, auth: bool = False, preloaded_csv: str | None = None,
                 tls: bool = False, cert_required: bool = False):
        for binary in ("kea-dhcp4", "kea-ctrl-agent"):
            if shutil.which(binary) is None:
                pytest.fail(f"{binary} is not installed: apt-get install kea-dhcp4-server kea-ctrl-agent")
        self.dir = Path(tempfile.mkdtemp(prefix="ipaK-kea-"))
        self.port = _free_port()
        self.processes: list[subprocess.Popen] = []
        self.lease_file = self.dir / "kea-leases4.csv"
        if preloaded_csv:
            self.lease_file.write_text(preloaded_csv)
        hooks = [{"library": str(HOOKS / "libdhcp_lease_cmds.so")}] if lease_cmds else []
        dhcp4 = {"Dhcp4": {
            "interfaces-config": {"interfaces": []},
            "control-socket": {"socket-type": "unix", "socket-name": str(self.dir / "kea4.sock")},
            "lease-database": {"type": "memfile", "name": str(self.lease_file), "lfc-interval": 0},
            "hooks-libraries": hooks,
            "valid-lifetime": 3600,
            "subnet4": [{"id": 1, "subnet": "198.51.100.0/24",
                         "pools": [{"pool": "198.51.100.100 - 198.51.100.199"}],
                         "reservations": [{"hw-address": "02:00:00:00:00:10", "ip-address": "198.51.100.10",
                                           "hostname": "nas"}]}],
            "loggers": [{"name": "kea-dhcp4", "output_options": [{"output": str(self.dir / "kea-dhcp4.log")}],
                         "severity": "INFO"}],
        }}
        agent = {"Control-agent": {
            "http-host": "127.0.0.1", "http-port": self.port,
            "control-sockets": {"dhcp4": {"socket-type": "unix", "socket-name": str(self.dir / "kea4.sock")}},
            "loggers": [{"name": "kea-ctrl-agent", "output_options": [{"output": str(self.dir / "ca.log")}],
                         "severity": "INFO"}],
        }}
        self.tls = tls
        self.cert_required = cert_required
        if tls:
            _make_certificates(self.dir, client=cert_required)
            agent["Control-agent"].update({"trust-anchor": str(self.dir / "ca.pem"),
                                           "cert-file": str(self.dir / "server.pem"),
                                           "key-file": str(self.dir / "server.key"), "cert-required": cert_required})
        if auth:
            agent["Control-agent"]["authentication"] = {"type": "basic", "realm": "kea-control-agent",
                                                        "clients": [{"user": "admin", "password": PASSWORD}]}
        self.config = self.dir / "kea-dhcp4.conf"
        self.config.write_text(json.dumps(dhcp4, indent=2))
        (self.dir / "kea-ctrl-agent.conf").write_text(json.dumps(agent, indent=2))
        self.auth = ("admin", PASSWORD) if auth else None

    @property
    def uri(self) -> str:
        return f"kea+{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def ca_cert(self) -> str:
        return str(self.dir / "ca.pem")

    @property
    def client_cert(self) -> tuple[str, str]:
        """A client certificate (clientAuth) and its key, signed by the agent's trust-anchor."""
        return str(self.dir / "client.pem"), str(self.dir / "client.key")

    def __enter__(self) -> KeaServer:
        env = dict(os.environ, KEA_PIDFILE_DIR=str(self.dir), KEA_LOCKFILE_DIR=str(self.dir))
        try:
            self.dhcp4 = self._start(["kea-dhcp4", "-c", str(self.config)], env)
            self.agent = self._start(["kea-ctrl-agent", "-c", str(self.dir / "kea-ctrl-agent.conf")], env)
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self, argv, env) -> subprocess.Popen:
        process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.processes.append(process)
        return process

    def _wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{process.args[0]} exited: {process.stderr.read().decode()[-500:]}")
            try:
                if self.command("status-get")[0]["result"] == 0:
                    return
            except (requests.RequestException, KeyError, IndexError, ValueError):
                pass
            time.sleep(0.1)
        raise RuntimeError("Kea did not become ready")

    def command(self, command: str, arguments: dict | None = None) -> list:
        body = {"command": command, "service": ["dhcp4"], **({"arguments": arguments} if arguments else {})}
        scheme = "https" if self.tls else "http"
        return requests.post(f"{scheme}://127.0.0.1:{self.port}/", json=body, auth=self.auth, timeout=5,
                             verify=self.ca_cert if self.tls else True,
                             cert=self.client_cert if self.cert_required else None).json()

    def stop_dhcp4(self) -> None:
        _stop(self.dhcp4)

    def __exit__(self, *exc_info) -> None:
        for process in self.processes:
            _stop(process)
        shutil.rmtree(self.dir, ignore_errors=True)


def _make_certificates(directory: Path, client: bool = False) -> None:
    """A throwaway CA and a server certificate for 127.0.0.1 (and a client one), made with the openssl CLI."""
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=ipaK test CA",
            "-keyout", "ca.key", "-out", "ca.pem", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key",
            "-out", "server.csr")
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "1", "-extfile", "san.ext", "-out", "server.pem")
    if client:
        # EC keys: much quicker to make than RSA, and Kea's OpenSSL takes them.
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=ipaudit",
                "-keyout", "client.key", "-out", "client.csr")
        (directory / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
        openssl("x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "1", "-extfile", "client.ext", "-out", "client.pem")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def kea():
    """One hooked Kea for the module, with a lease at .150 added through the API."""
    with KeaServer(lease_cmds=True) as server:
        added = server.command("lease4-add", {"ip-address": "198.51.100.150", "hw-address": "02:00:00:00:01:50",
                                              "hostname": "printer"})
        assert added[0]["result"] == 0, added
        yield server


def test_control_agent_source_reads_pool_reservation_and_lease(kea):
    facts = open_source(kea.uri, SourceOptions()).read()
    assert [(r.addresses.first, r.addresses.last, r.subnet) for r in facts.ranges] == [
        (int(IPAddress("198.51.100.100")), int(IPAddress("198.51.100.199")), IPNetwork("198.51.100.0/24"))]
    assert [(str(r.ip), r.mac, r.hostname) for r in facts.reservations] == [("198.51.100.10", "02:00:00:00:00:10", "nas")]
    assert [(str(x.ip), x.mac, x.hostname) for x in facts.leases] == [("198.51.100.150", "02:00:00:00:01:50", "printer")]
    assert facts.leases[0].expires is not None
    assert facts.notes == ()


def test_file_source_reads_the_lease_file_kea_wrote(kea):
    facts = open_source(f"kea:{kea.config}", SourceOptions()).read()
    assert [(str(x.ip), x.mac) for x in facts.leases] == [("198.51.100.150", "02:00:00:00:01:50")]
    assert [str(r.ip) for r in facts.reservations] == ["198.51.100.10"]


def test_declined_lease_is_not_active_and_deleted_lease_disappears(kea):
    kea.command("lease4-add", {"ip-address": "198.51.100.151", "hw-address": "02:00:00:00:01:51", "state": 1})
    kea.command("lease4-add", {"ip-address": "198.51.100.152", "hw-address": "02:00:00:00:01:52"})
    kea.command("lease4-del", {"ip-address": "198.51.100.152"})
    try:
        for uri in (kea.uri, f"kea:{kea.config}"):
            facts = open_source(uri, SourceOptions()).read()
            assert [str(x.ip) for x in facts.leases] == ["198.51.100.150"], uri
            assert any("198.51.100.151" in note and "declined" in note for note in facts.notes), uri
    finally:
        kea.command("lease4-del", {"ip-address": "198.51.100.151"})


def test_check_pool_with_kea_source_reports_overlap_and_leased_address(kea):
    result = CliRunner().invoke(program, ["check-pool", "198.51.100.150-160", "--subnet", "198.51.100.0/24",
                                          "--dhcp-source", kea.uri, "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    codes = {f["code"]: f for f in json.loads(result.stdout)["findings"]}
    assert "pool-overlaps-dhcp" in codes
    assert "198.51.100.150" in json.dumps(codes["pool-address-leased"])


def test_without_lease_cmds_a_note_and_statistics_counts():
    # The lease is in the memfile before start: Kea loads it, so the counters are real.
    expire = int(time.time()) + 3600
    csv = ("address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n"
           f"198.51.100.150,02:00:00:00:01:50,,3600,{expire},1,0,0,printer,0,\n")
    with KeaServer(lease_cmds=False, preloaded_csv=csv) as server:
        facts = open_source(server.uri, SourceOptions()).read()
    assert facts.leases == ()
    assert len(facts.ranges) == 1
    assert any("lease_cmds hook is not loaded" in note for note in facts.notes)
    assert "subnet 198.51.100.0/24 (id 1): 1 address(es) leased of 100 (addresses unknown)" in facts.notes


def test_wrong_password_exits_3_with_one_line_and_no_password(monkeypatch, tmp_path):
    monkeypatch.setenv("IPAUDIT_CREDENTIALS", str(tmp_path / "none.yaml"))
    (tmp_path / "none.yaml").write_text("{}\n")
    (tmp_path / "none.yaml").chmod(0o600)
    with KeaServer(auth=True) as server:
        monkeypatch.setenv("IPAUDIT_KEA_USERNAME", "admin")
        monkeypatch.setenv("IPAUDIT_KEA_PASSWORD", "wrong-" + PASSWORD)
        result = CliRunner().invoke(program, ["sources", "show", server.uri], catch_exceptions=False)
        assert result.exit_code == 3
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1 and "authentication failed (HTTP 401" in result.stderr
        assert server.uri in result.stderr
        assert PASSWORD not in result.output + result.stderr
        monkeypatch.setenv("IPAUDIT_KEA_PASSWORD", PASSWORD)
        good = CliRunner().invoke(program, ["sources", "show", server.uri], catch_exceptions=False)
        assert good.exit_code == 0, good.stderr
        assert "198.51.100.100-198.51.100.199" in good.stdout
        assert PASSWORD not in good.output


def test_agent_up_but_dhcp4_down_and_nothing_listening():
    with KeaServer() as server:
        server.stop_dhcp4()
        with pytest.raises(SourceError) as caught:
            open_source(server.uri, SourceOptions()).read()
        line = caught.value.one_line()
        assert line.startswith(f"{server.uri}: config-get failed:") and "\n" not in line
        port = server.port
    with pytest.raises(SourceError, match=f"connection refused on port {port}"):
        open_source(f"kea+http://127.0.0.1:{port}", SourceOptions(timeout=2)).read()


def test_https_control_agent_needs_its_ca_or_an_explicit_insecure():
    with KeaServer(tls=True) as server:
        assert server.uri.startswith("kea+https://")
        trusted = _cli("sources", "show", server.uri, "--ca-cert", server.ca_cert)
        assert trusted.exit_code == 0, trusted.stderr
        assert "198.51.100.100-198.51.100.199" in trusted.stdout and trusted.stderr == ""
        untrusted = _cli("sources", "show", server.uri)
        assert untrusted.exit_code == 3 and untrusted.stdout == ""
        assert "TLS verification failed" in untrusted.stderr and untrusted.stderr.count("\n") == 1
        insecure = _cli("sources", "show", server.uri, "--insecure")
        assert insecure.exit_code == 0
        assert "is not verified (--insecure)" in insecure.stderr


def test_control_agent_that_requires_a_client_certificate(monkeypatch, tmp_path):
    # Kea's default TLS setup: "cert-required": true.
    monkeypatch.delenv("IPAUDIT_KEA_CLIENT_CERT", raising=False)
    monkeypatch.delenv("IPAUDIT_KEA_CLIENT_KEY", raising=False)
    with KeaServer(tls=True, cert_required=True) as server:
        show = ("sources", "show", server.uri, "--ca-cert", server.ca_cert)
        without = _cli(*show)
        assert without.exit_code == 3 and without.stdout == ""
        assert without.stderr.count("\n") == 1, without.stderr
        # The agent's "certificate required" alert, or (when its reset overtakes the alert) a closed handshake.
        assert "require a TLS client certificate" in without.stderr or "requires a TLS client certificate" \
            in without.stderr, without.stderr
        assert "IPAUDIT_KEA_CLIENT_CERT" in without.stderr and server.uri in without.stderr

        cert, key = server.client_cert
        monkeypatch.setenv("IPAUDIT_KEA_CLIENT_CERT", cert)
        monkeypatch.setenv("IPAUDIT_KEA_CLIENT_KEY", key)
        with_cert = _cli(*show)
        assert with_cert.exit_code == 0, with_cert.stderr
        assert "198.51.100.100-198.51.100.199" in with_cert.stdout and with_cert.stderr == ""

        # Certificate and key in one PEM file: IPAUDIT_KEA_CLIENT_KEY is not needed.
        both = tmp_path / "client-and-key.pem"
        both.write_text(Path(cert).read_text() + Path(key).read_text())
        monkeypatch.setenv("IPAUDIT_KEA_CLIENT_CERT", str(both))
        monkeypatch.delenv("IPAUDIT_KEA_CLIENT_KEY")
        assert _cli(*show).exit_code == 0

        missing = str(tmp_path / "no-such-client.pem")
        monkeypatch.setenv("IPAUDIT_KEA_CLIENT_CERT", missing)
        gone = _cli(*show)
        assert gone.exit_code == 3 and gone.stdout == "" and gone.stderr.count("\n") == 1, gone.stderr
        assert missing in gone.stderr and "does not exist" in gone.stderr

        # The agent's own server certificate is not for client auth: the agent drops the handshake.
        monkeypatch.setenv("IPAUDIT_KEA_CLIENT_CERT", str(server.dir / "server.pem"))
        monkeypatch.setenv("IPAUDIT_KEA_CLIENT_KEY", str(server.dir / "server.key"))
        refused = _cli(*show)
        assert refused.exit_code == 3 and refused.stderr.count("\n") == 1, refused.stderr
        assert "ended the TLS handshake after receiving client certificate" in refused.stderr
        assert "server.pem" in refused.stderr

        # A key that belongs to another certificate is caught before connecting, naming both files.
        monkeypatch.setenv("IPAUDIT_KEA_CLIENT_CERT", cert)
        mismatch = _cli(*show)
        assert mismatch.exit_code == 3 and mismatch.stderr.count("\n") == 1, mismatch.stderr
        assert "does not belong to client certificate" in mismatch.stderr and "server.key" in mismatch.stderr

        # A passphrase-protected key is refused instead of prompting on the terminal.
        locked = tmp_path / "locked.key"
        subprocess.run(["openssl", "pkey", "-in", key, "-aes256", "-passout", "pass:x", "-out", str(locked)],
                       check=True, capture_output=True)
        monkeypatch.setenv("IPAUDIT_KEA_CLIENT_KEY", str(locked))
        passphrase = CliRunner().invoke(program, list(show), input="", catch_exceptions=False)
        assert passphrase.exit_code == 3 and passphrase.stderr.count("\n") == 1, passphrase.stderr
        assert "is protected by a passphrase" in passphrase.stderr and str(locked) in passphrase.stderr


def _cli(*args: str):
    return CliRunner().invoke(program, list(args), catch_exceptions=False)


# --- answers a running Kea gives rarely: replayed by a real local HTTP server ------------------------

def test_agent_behind_a_reverse_proxy_path_and_odd_answers(httpserver):
    # Shapes recorded from this Kea 2.2: a per-service list, and the agent's own bare object.
    config = [{"arguments": {"Dhcp4": {"subnet4": [{"id": 1, "subnet": "198.51.100.0/24",
                                                    "pools": [{"pool": "198.51.100.100-198.51.100.199"}]}]}},
               "result": 0}]
    httpserver.expect_request("/kea", method="POST", json={"command": "config-get", "service": ["dhcp4"]}) \
        .respond_with_json(config)
    httpserver.expect_request("/kea", method="POST", json={"command": "lease4-get-all", "service": ["dhcp4"]}) \
        .respond_with_json([{"arguments": {"leases": []}, "result": 3, "text": "0 IPv4 lease(s) found."}])
    facts = open_source(f"kea+http://127.0.0.1:{httpserver.port}/kea", SourceOptions()).read()
    assert len(facts.ranges) == 1 and facts.leases == () and facts.notes == ()

    httpserver.clear()
    httpserver.expect_request("/", method="POST").respond_with_json({"result": 400, "text": "Bad Request"})
    with pytest.raises(SourceError, match="config-get failed: Bad Request"):
        open_source(f"kea+http://127.0.0.1:{httpserver.port}", SourceOptions()).read()

    httpserver.clear()
    httpserver.expect_request("/", method="POST").respond_with_json({"status": "ok"})
    with pytest.raises(SourceError, match="not a Kea answer"):
        open_source(f"kea+http://127.0.0.1:{httpserver.port}", SourceOptions()).read()
