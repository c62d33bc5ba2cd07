"""The router API and cluster sources through the real CLI: `ipaudit sources show`,
`check-pool --dhcp-source` and `check-pool --from kubectl|k8s`, against local servers."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from http_fakes import PASSWORD, base_uri, clean_env, fixture, self_signed, threaded_server, tls_server  # noqa: F401
from test_cluster_sources import TOKEN, api_server, fake_kubectl, serve_api, serviceaccount  # noqa: F401
from test_http_sources import fake_pihole, fake_unifi, logouts


def test_sources_show_pihole_as_json(httpserver, clean_env, run_cli):
    clean_env.setenv("IPAUDIT_PIHOLE_PASSWORD", PASSWORD)
    fake_pihole(httpserver)
    result = run_cli("sources", "show", base_uri("pihole+http", httpserver), "--format", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert [r["range"] for r in document["ranges"]] == ["192.0.2.100-192.0.2.199"]
    assert [lease["ip"] for lease in document["leases"]] == ["192.0.2.150", "192.0.2.151"]
    assert [r["ip"] for r in document["reservations"]] == ["192.0.2.20", "192.0.2.30"]
    assert PASSWORD not in result.stdout + result.stderr
    assert logouts(httpserver) == 1


def test_check_pool_with_dhcp_source_finds_overlap_and_lease(httpserver, clean_env, run_cli):
    clean_env.setenv("IPAUDIT_PIHOLE_PASSWORD", PASSWORD)
    fake_pihole(httpserver)
    result = run_cli("check-pool", "192.0.2.150-160", "--subnet", "192.0.2.0/24",
                     "--dhcp-source", base_uri("pihole+http", httpserver), "--format", "json")
    assert result.exit_code == 2, result.stdout + result.stderr
    findings = {finding["code"]: finding for finding in json.loads(result.stdout)["findings"]}
    assert findings["pool-overlaps-dhcp"]["severity"] == "critical"
    assert findings["pool-address-leased"]["severity"] == "critical"
    assert findings["pool-address-leased"]["addresses"] == ["192.0.2.150-192.0.2.151"]  # both Pi-hole leases


def test_wrong_password_exits_3_with_one_line_and_no_password(httpserver, clean_env):
    """Through a real `ipaudit` process: the password is in the environment only, never printed."""
    fake_unifi(httpserver)
    env = {**__import__("os").environ, "IPAUDIT_UNIFI_USERNAME": "ipaudit", "IPAUDIT_UNIFI_PASSWORD": "bad" + PASSWORD}
    result = subprocess.run([sys.executable, "-m", "ipaudit", "check-pool", "192.0.2.240-250", "--subnet",
                             "192.0.2.0/24", "--dhcp-source", base_uri("unifi+http", httpserver)],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 3
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "authentication failed" in lines[0] and "IPAUDIT_UNIFI" in lines[0]
    assert PASSWORD not in result.stdout + result.stderr


def test_tls_failure_through_the_cli_and_insecure_opt_in(tls_server, clean_env, run_cli):
    clean_env.setenv("IPAUDIT_ADGUARD_USERNAME", "admin")
    clean_env.setenv("IPAUDIT_ADGUARD_PASSWORD", PASSWORD)
    tls_server.expect_request("/control/dhcp/status").respond_with_json(fixture("adguard", "dhcp_status.json"))
    uri = base_uri("adguard+https", tls_server)
    refused = run_cli("sources", "show", uri)
    assert refused.exit_code == 3 and "TLS verification failed" in refused.stderr
    insecure = run_cli("sources", "show", uri, "--insecure")
    assert insecure.exit_code == 0 and "192.0.2.150" in insecure.stdout
    assert "ipaudit: warning: TLS certificate of" in insecure.stderr and "is not verified (--insecure)" in insecure.stderr
    quiet = run_cli("sources", "show", uri, "--insecure", "-q")
    assert quiet.exit_code == 0 and "192.0.2.150" in quiet.stdout and quiet.stderr == ""


def test_tls_with_ca_cert_through_the_cli(tls_server, self_signed, clean_env, run_cli):
    clean_env.setenv("IPAUDIT_ADGUARD_USERNAME", "admin")
    clean_env.setenv("IPAUDIT_ADGUARD_PASSWORD", PASSWORD)
    tls_server.expect_request("/control/dhcp/status").respond_with_json(fixture("adguard", "dhcp_status.json"))
    result = run_cli("sources", "show", base_uri("adguard+https", tls_server), "--ca-cert", self_signed[0])
    assert result.exit_code == 0, result.stderr
    assert "warning" not in result.stderr


def test_check_pool_from_kubectl(fake_kubectl, monkeypatch, run_cli):
    monkeypatch.setenv("FAKE_KUBECTL_MODE", "no-cilium")
    result = run_cli("check-pool", "--from", "kubectl", "--context", "lab", "--subnet", "192.0.2.0/24",
                     "--dhcp-range", "192.0.2.100-192.0.2.245", "--format", "json")
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "lan-pool" in result.stdout and "pool-overlaps-dhcp" in result.stdout
    notes = json.loads(result.stdout)["notes"]
    assert any(n.startswith("kubectl: no Cilium LB IPAM pools") for n in notes), notes
    assert "--context lab" in fake_kubectl.read_text()


def test_check_pool_from_k8s(api_server, serviceaccount, monkeypatch, run_cli):
    serve_api(api_server)
    monkeypatch.setenv("IPAUDIT_K8S_API_URL", base_uri("http", api_server))
    monkeypatch.setenv("IPAUDIT_K8S_SERVICEACCOUNT_DIR", serviceaccount)
    result = run_cli("check-pool", "--from", "k8s", "--subnet", "192.0.2.0/24", "--format", "json")
    report = json.loads(result.stdout)
    # The Services the API now serves add the kube-vip VIP outside every pool, checked as a one-address pool.
    assert [pool["name"] for pool in report["pools"]] == ["lan-pool", "blue", "cidr-default", "vip dns/pihole-dns"]
    outside = {f["pool"] for f in report["findings"] if f["code"] == "pool-outside-subnet"}
    assert outside == {"blue", "cidr-default", "vip dns/pihole-dns"}  # not on 192.0.2.0/24
    assert result.exit_code == 2
    assert TOKEN not in result.stdout + result.stderr


@pytest.mark.parametrize("scheme", ["mikrotik+https", "adguard+https", "unifi+https", "opnsense+https"])
def test_missing_credentials_exit_3_naming_the_variables(scheme, clean_env, run_cli):
    result = run_cli("sources", "show", f"{scheme}://192.0.2.1")
    vendor = scheme.split("+")[0].upper()
    assert result.exit_code == 3
    assert f"IPAUDIT_{vendor}_" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_check_pool_source_timeout_is_one_line_exit_3(threaded_server, clean_env, run_cli):
    import time

    from werkzeug import Response

    def slow(_request):
        time.sleep(1.5)
        return Response("{}", content_type="application/json")

    clean_env.setenv("IPAUDIT_ADGUARD_USERNAME", "admin")
    clean_env.setenv("IPAUDIT_ADGUARD_PASSWORD", PASSWORD)
    threaded_server.expect_request("/control/dhcp/status").respond_with_handler(slow)
    started = time.monotonic()
    result = run_cli("check-pool", "192.0.2.150-160", "--subnet", "192.0.2.0/24", "--source-timeout", "0.3",
                     "--dhcp-source", base_uri("adguard+http", threaded_server))
    assert time.monotonic() - started < 1.4
    assert result.exit_code == 3 and result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "no answer within 0.3s" in result.stderr and "--source-timeout" in result.stderr
    assert PASSWORD not in result.stderr
