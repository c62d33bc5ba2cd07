"""Router/appliance API sources against a real local HTTP server serving the vendors' response shapes."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from netaddr import IPAddress, IPNetwork, IPRange
from werkzeug import Response

from http_fakes import PASSWORD, base_uri, clean_env, fixture  # noqa: F401
from ipaudit.sources.interface import SourceError, SourceOptions
from ipaudit.sources.registry import open_source

OPTIONS = SourceOptions(timeout=5)


def read(uri: str):
    return open_source(uri, OPTIONS).read()


def ranges(facts) -> list[tuple[str, str, str | None]]:
    return [(str(IPAddress(r.addresses.first)), str(IPAddress(r.addresses.last)), str(r.subnet) if r.subnet else None)
            for r in facts.ranges]


def ips(records) -> list[str]:
    return [str(record.ip) for record in records]


def failure_text(uri: str) -> str:
    with pytest.raises(SourceError) as raised:
        read(uri)
    text = raised.value.one_line()
    assert PASSWORD not in text and "\n" not in text
    return text


# --- OpenWrt ubus --------------------------------------------------------------------------

def fake_ubus(httpserver, *, login="session_login.json", leases="luci_rpc_get_dhcp_leases.json", uci_error=None):
    calls = []
    sid = fixture("openwrt", "session_login.json")["result"][1]["ubus_rpc_session"]

    def handler(request):
        body = request.get_json()
        session, obj, method, args = body["params"]
        calls.append((session, obj, method, args))
        if (obj, method) == ("session", "login"):
            answer = fixture("openwrt", login)
        elif session != sid:
            answer = fixture("openwrt", "access_denied.json")
        elif (obj, method) == ("uci", "get"):
            answer = fixture("openwrt", uci_error or f"uci_get_{args['config']}.json")
        elif (obj, method) == ("luci-rpc", "getDHCPLeases"):
            answer = fixture("openwrt", leases)
        elif (obj, method) == ("session", "destroy"):
            answer = {"jsonrpc": "2.0", "id": body["id"], "result": [0]}
        else:
            answer = fixture("openwrt", "object_not_found.json")
        answer["id"] = body["id"]
        return Response(json.dumps(answer), content_type="application/json")

    httpserver.expect_request("/ubus", method="POST").respond_with_handler(handler)
    return calls


def test_openwrt_ubus_reads_ranges_hosts_and_leases(httpserver, clean_env):
    clean_env.setenv("IPAUDIT_OPENWRT_PASSWORD", PASSWORD)
    calls = fake_ubus(httpserver)
    facts = read(base_uri("openwrt+http", httpserver))
    # lan: start 100 limit 150 on 192.0.2.1/24; guest: start 10 limit 50 on 198.51.100.1/25.
    assert ranges(facts) == [("192.0.2.100", "192.0.2.249", "192.0.2.0/24"),
                             ("198.51.100.10", "198.51.100.59", "198.51.100.0/25")]
    assert facts.ranges[0].label == "openwrt dhcp.lan (lan)"
    assert ips(facts.reservations) == ["192.0.2.20", "192.0.2.30"]
    assert [r.mac for r in facts.reservations] == ["00:11:32:aa:bb:01", "3c:2a:f4:00:00:02"]
    assert ips(facts.leases) == ["192.0.2.150", "192.0.2.151", "192.0.2.20", "198.51.100.15"]
    laptop = facts.leases[0]
    assert laptop.hostname == "laptop" and laptop.mac == "a4:83:e7:00:00:10"
    assert 41000 < (laptop.expires - datetime.now(timezone.utc)).total_seconds() <= 41234
    assert facts.leases[2].expires is None  # "expires": false is an infinite lease
    assert any("dhcp.wan" in note and "switched off" in note for note in facts.notes)
    assert calls[0][:3] == ("0" * 32, "session", "login")
    assert calls[0][3] == {"username": "root", "password": PASSWORD}
    assert calls[-1][1:3] == ("session", "destroy")


def test_openwrt_wrong_password(httpserver, clean_env):
    clean_env.setenv("IPAUDIT_OPENWRT_PASSWORD", PASSWORD)
    fake_ubus(httpserver, login="session_login_denied.json")
    text = failure_text(base_uri("openwrt+http", httpserver))
    assert "authentication failed (ubus session login as 'root' was refused)" in text
    assert "IPAUDIT_OPENWRT_PASSWORD" in text


def test_openwrt_without_luci_rpc_notes_unknown_leases(httpserver, clean_env):
    clean_env.setenv("IPAUDIT_OPENWRT_PASSWORD", PASSWORD)
    fake_ubus(httpserver, leases="object_not_found.json")
    facts = read(base_uri("openwrt+http", httpserver))
    assert facts.leases == () and len(facts.ranges) == 2
    assert any("getDHCPLeases is not available" in note for note in facts.notes)


def test_openwrt_acl_denies_uci(httpserver, clean_env):
    clean_env.setenv("IPAUDIT_OPENWRT_PASSWORD", PASSWORD)
    fake_ubus(httpserver, uci_error="access_denied.json")
    assert "ubus call uci get: access denied" in failure_text(base_uri("openwrt+http", httpserver))


def test_openwrt_needs_a_password(clean_env):
    with pytest.raises(SourceError) as raised:
        read("openwrt+https://192.0.2.1")
    assert "no password for this source: set IPAUDIT_OPENWRT_PASSWORD" in raised.value.one_line()


# --- MikroTik ------------------------------------------------------------------------------

def fake_routeros(httpserver, username="admin"):
    for path, name in (("ip/pool", "ip_pool.json"), ("ip/dhcp-server", "dhcp_server.json"),
                       ("ip/dhcp-server/network", "dhcp_server_network.json"),
                       ("ip/dhcp-server/lease", "dhcp_server_lease.json")):
        httpserver.expect_request(f"/rest/{path}", headers={"Authorization": basic(username, PASSWORD)}) \
            .respond_with_json(fixture("mikrotik", name))
    httpserver.expect_request("/rest/ip/pool").respond_with_json({"error": 401, "message": "Unauthorized"},
                                                                  status=401)


def basic(user: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_mikrotik_reads_pools_servers_and_leases(httpserver, clean_env):
    clean_env.setenv("IPAUDIT_MIKROTIK_USERNAME", "admin")
    clean_env.setenv("IPAUDIT_MIKROTIK_PASSWORD", PASSWORD)
    fake_routeros(httpserver)
    facts = read(base_uri("mikrotik+http", httpserver))
    assert ranges(facts) == [("192.0.2.10", "192.0.2.99", "192.0.2.0/24"),
                             ("192.0.2.200", "192.0.2.209", "192.0.2.0/24"),
                             ("192.0.2.220", "192.0.2.229", "192.0.2.0/24")]  # next-pool overflow, not vpn
    assert facts.ranges[0].label == "mikrotik pool dhcp_pool0 (dhcp-server defconf)"
    assert ips(facts.reservations) == ["192.0.2.20", "192.0.2.30"]  # the disabled static lease is skipped
    assert ips(facts.leases) == ["192.0.2.50", "192.0.2.30"]  # bound dynamic, and the bound static one
    assert facts.leases[0].hostname == "laptop"
    assert 580 < (facts.leases[0].expires - datetime.now(timezone.utc)).total_seconds() <= 592
    assert any("lab: static-only" in note for note in facts.notes)


def test_mikrotik_wrong_password(httpserver, clean_env):
    clean_env.setenv("IPAUDIT_MIKROTIK_USERNAME", "admin")
    clean_env.setenv("IPAUDIT_MIKROTIK_PASSWORD", PASSWORD)
    fake_routeros(httpserver, username="someone-else")
    text = failure_text(base_uri("mikrotik+http", httpserver))
    assert "authentication failed (HTTP 401 from GET /rest/ip/pool)" in text
    assert "IPAUDIT_MIKROTIK_USERNAME" in text and "IPAUDIT_MIKROTIK_PASSWORD" in text


def test_mikrotik_unexpected_shape(httpserver, clean_env):
    clean_env.setenv("IPAUDIT_USERNAME", "admin")
    clean_env.setenv("IPAUDIT_PASSWORD", PASSWORD)
    httpserver.expect_request("/rest/ip/pool").respond_with_json({"detail": "not a list"})
    assert "unexpected response from GET /rest/ip/pool: expected a list, got an object" in \
        failure_text(base_uri("mikrotik+http", httpserver))


# --- Pi-hole v6 ----------------------------------------------------------------------------

SID = fixture("pihole", "auth_ok.json")["session"]["sid"]


def fake_pihole(httpserver, *, config_status=200):
    def auth(request):
        if request.get_json().get("password") == PASSWORD:
            return Response(json.dumps(fixture("pihole", "auth_ok.json")), content_type="application/json")
        return Response(json.dumps(fixture("pihole", "auth_failed.json")), status=401,
                        content_type="application/json")

    httpserver.expect_request("/api/auth", method="POST").respond_with_handler(auth)
    httpserver.expect_request("/api/auth", method="DELETE", headers={"X-FTL-SID": SID}).respond_with_data("", 204)
    if config_status == 200:
        httpserver.expect_request("/api/config/dhcp", headers={"X-FTL-SID": SID}) \
            .respond_with_json(fixture("pihole", "config_dhcp.json"))
    else:
        httpserver.expect_request("/api/config/dhcp").respond_with_json({"error": {"key": "x"}}, status=config_status)
    httpserver.expect_request("/api/dhcp/leases", headers={"X-FTL-SID": SID}) \
        .respond_with_json(fixture("pihole", "dhcp_leases.json"))


def logouts(httpserver) -> int:
    return sum(1 for request, _ in httpserver.log if request.method == "DELETE" and request.path == "/api/auth")


def test_pihole_reads_config_and_leases_then_logs_out(httpserver, clean_env):
    clean_env.setenv("IPAUDIT_PIHOLE_PASSWORD", PASSWORD)
    fake_pihole(httpserver)
    facts = read(base_uri("pihole+http", httpserver))
    assert ranges(facts) == [("192.0.2.100", "192.0.2.199", "192.0.2.0/24")]
    assert ips(facts.reservations) == ["192.0.2.20", "192.0.2.30"]
    assert [r.hostname for r in facts.reservations] == ["nas", "printer"]
    assert ips(facts.leases) == ["192.0.2.150", "192.0.2.151"]
    assert facts.leases[0].expires == datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert facts.leases[1].hostname is None and facts.leases[1].expires is None
    assert logouts(httpserver) == 1


def test_pihole_logs_out_even_when_reading_fails(httpserver, clean_env):
    clean_env.setenv("IPAUDIT_PIHOLE_PASSWORD", PASSWORD)
    fake_pihole(httpserver, config_status=500)
    assert "HTTP 500" in failure_text(base_uri("pihole+http", httpserver))
    assert logouts(httpserver) == 1


def test_pihole_wrong_password(httpserver, clean_env):
    clean_env.setenv("IPAUDIT_PIHOLE_PASSWORD", "wrong-" + PASSWORD)
    fake_pihole(httpserver)
    with pytest.raises(SourceError) as raised:
        read(base_uri("pihole+http", httpserver))
    text = raised.value.one_line()
    assert "authentication failed (HTTP 401 from POST /api/auth)" in text and PASSWORD not in text
    assert logouts(httpserver) == 0  # no session was opened


# --- AdGuard Home --------------------------------------------------------------------------

def test_adguard_reads_status(httpserver, clean_env):
    clean_env.setenv("IPAUDIT_ADGUARD_USERNAME", "admin")
    clean_env.setenv("IPAUDIT_ADGUARD_PASSWORD", PASSWORD)
    httpserver.expect_request("/control/dhcp/status", headers={"Authorization": basic("admin", PASSWORD)}) \
        .respond_with_json(fixture("adguard", "dhcp_status.json"))
    facts = read(base_uri("adguard+http", httpserver))
    assert ranges(facts) == [("192.0.2.100", "192.0.2.200", "192.0.2.0/24")]
    assert ips(facts.leases) == ["192.0.2.150", "192.0.2.151"]
    assert facts.leases[1].expires == datetime(2030, 1, 1, 10, 30, tzinfo=timezone.utc)
    assert facts.leases[1].hostname is None
    assert ips(facts.reservations) == ["192.0.2.20"]


def test_adguard_disabled_dhcp_is_a_note(httpserver, clean_env):
    clean_env.setenv("IPAUDIT_ADGUARD_USERNAME", "admin")
    clean_env.setenv("IPAUDIT_ADGUARD_PASSWORD", PASSWORD)
    httpserver.expect_request("/control/dhcp/status").respond_with_json(fixture("adguard", "dhcp_status_disabled.json"))
    facts = read(base_uri("adguard+http", httpserver))
    assert facts.ranges == () and any("disabled" in note for note in facts.notes)


def test_adguard_wrong_password_and_wrong_server(httpserver, clean_env):
    clean_env.setenv("IPAUDIT_ADGUARD_USERNAME", "admin")
    clean_env.setenv("IPAUDIT_ADGUARD_PASSWORD", PASSWORD)
    httpserver.expect_request("/control/dhcp/status").respond_with_data("Forbidden", status=403)
    assert "authentication failed (HTTP 403" in failure_text(base_uri("adguard+http", httpserver))
    httpserver.clear()
    httpserver.expect_request("/control/dhcp/status").respond_with_data("<html></html>", content_type="text/html")
    assert "did not return JSON" in failure_text(base_uri("adguard+http", httpserver))


# --- OPNsense ------------------------------------------------------------------------------

def fake_opnsense(httpserver, *, dnsmasq=True):
    auth = {"Authorization": basic("key-abc", PASSWORD)}
    for endpoint, name in (("kea/dhcpv4/search_subnet", "kea_search_subnet.json"),
                           ("kea/dhcpv4/search_reservation", "kea_search_reservation.json"),
                           ("kea/leases4/search", "kea_leases4_search.json"),
                           ("dnsmasq/settings/search_range", "dnsmasq_search_range.json"),
                           ("dnsmasq/settings/search_host", "dnsmasq_search_host.json"),
                           ("dnsmasq/leases/search", "dnsmasq_leases_search.json")):
        if endpoint.startswith("dnsmasq") and not dnsmasq:
            httpserver.expect_request(f"/api/{endpoint}").respond_with_json(fixture("opnsense", "not_found.json"),
                                                                           status=404)
        else:
            httpserver.expect_request(f"/api/{endpoint}", headers=auth).respond_with_json(fixture("opnsense", name))
    httpserver.expect_request("/api/kea/dhcpv4/search_subnet").respond_with_json({"status": 401}, status=401)


def test_opnsense_reads_kea_and_dnsmasq(httpserver, clean_env):
    clean_env.setenv("IPAUDIT_OPNSENSE_API_KEY", "key-abc")
    clean_env.setenv("IPAUDIT_OPNSENSE_API_SECRET", PASSWORD)
    fake_opnsense(httpserver)
    facts = read(base_uri("opnsense+http", httpserver))
    assert ranges(facts) == [("192.0.2.100", "192.0.2.199", "192.0.2.0/24"),
                             ("192.0.2.210", "192.0.2.219", "192.0.2.0/24"),
                             ("198.51.100.128", "198.51.100.191", "198.51.100.0/24"),
                             ("203.0.113.50", "203.0.113.99", "203.0.113.0/24")]
    assert ips(facts.reservations) == ["192.0.2.20", "203.0.113.60"]  # the DNS-only host is not a reservation
    assert ips(facts.leases) == ["192.0.2.150", "203.0.113.77"]  # the expired-reclaimed Kea lease is skipped
    assert any("mode static" in note for note in facts.notes)
    request, _ = httpserver.log[0]
    assert request.args.get("rowCount") == "-1"


def test_opnsense_without_dnsmasq(httpserver, clean_env):
    clean_env.setenv("IPAUDIT_OPNSENSE_API_KEY", "key-abc")
    clean_env.setenv("IPAUDIT_OPNSENSE_API_SECRET", PASSWORD)
    fake_opnsense(httpserver, dnsmasq=False)
    facts = read(base_uri("opnsense+http", httpserver))
    assert len(facts.ranges) == 3 and any("Dnsmasq DHCP is not available" in n for n in facts.notes)


def test_opnsense_wrong_secret(httpserver, clean_env):
    clean_env.setenv("IPAUDIT_OPNSENSE_API_KEY", "key-abc")
    clean_env.setenv("IPAUDIT_OPNSENSE_API_SECRET", "x" + PASSWORD)
    fake_opnsense(httpserver)
    with pytest.raises(SourceError) as raised:
        read(base_uri("opnsense+http", httpserver))
    text = raised.value.one_line()
    assert "authentication failed (HTTP 401" in text and PASSWORD not in text and "key-abc" not in text


# --- UniFi ---------------------------------------------------------------------------------

def fake_unifi(httpserver, *, unifi_os=True, site="default"):
    prefix = "/proxy/network" if unifi_os else ""

    def login(request):
        body = request.get_json()
        ok = body == {"username": "ipaudit", "password": PASSWORD}
        if unifi_os:
            if not ok:
                return Response('{"code":"AUTHENTICATION_FAILED_INVALID_CREDENTIALS"}', status=401,
                                content_type="application/json")
            return Response(json.dumps(fixture("unifi", "login_unifi_os.json")), content_type="application/json",
                            headers={"Set-Cookie": "TOKEN=abc.def.ghi; path=/; HttpOnly",
                                     "X-Updated-Csrf-Token": "csrf-123"})
        name = "login_classic.json" if ok else "login_classic_invalid.json"
        return Response(json.dumps(fixture("unifi", name)), status=200 if ok else 400,
                        content_type="application/json", headers={"Set-Cookie": "unifises=xyz; path=/"})

    if unifi_os:
        httpserver.expect_request("/api/auth/login", method="POST").respond_with_handler(login)
        httpserver.expect_request("/api/auth/logout", method="POST").respond_with_data("", 200)
    else:
        httpserver.expect_request("/api/auth/login").respond_with_data("Not Found", 404)
        httpserver.expect_request("/api/login", method="POST").respond_with_handler(login)
        httpserver.expect_request("/api/logout", method="POST").respond_with_json({"meta": {"rc": "ok"}, "data": []})
    for endpoint, name in (("rest/networkconf", "networkconf.json"), ("rest/user", "user.json"),
                           ("stat/sta", "stat_sta.json")):
        httpserver.expect_request(f"{prefix}/api/s/{site}/{endpoint}").respond_with_json(fixture("unifi", name))
    httpserver.expect_request(f"{prefix}/api/s/nosuchsite/rest/networkconf") \
        .respond_with_json(fixture("unifi", "no_site.json"))


@pytest.mark.parametrize("unifi_os", [True, False])
def test_unifi_reads_networks_fixed_ips_and_clients(httpserver, clean_env, unifi_os):
    clean_env.setenv("IPAUDIT_UNIFI_USERNAME", "ipaudit")
    clean_env.setenv("IPAUDIT_UNIFI_PASSWORD", PASSWORD)
    fake_unifi(httpserver, unifi_os=unifi_os, site="branch")
    facts = read(base_uri("unifi+http", httpserver, "/branch"))
    assert ranges(facts) == [("192.0.2.6", "192.0.2.254", "192.0.2.0/24")]
    assert ips(facts.reservations) == ["192.0.2.20"]
    assert ips(facts.leases) == ["192.0.2.150", "192.0.2.20"]
    assert any("Servers: DHCP server off" in note for note in facts.notes)
    paths = [request.path for request, _ in httpserver.log]
    assert paths[-1] == ("/api/auth/logout" if unifi_os else "/api/logout")
    if unifi_os:  # the session cookie and the CSRF token go back to the console
        logout_request = httpserver.log[-1][0]
        assert logout_request.headers.get("X-Csrf-Token") == "csrf-123"
        assert logout_request.cookies.get("TOKEN") == "abc.def.ghi"


@pytest.mark.parametrize("unifi_os", [True, False])
def test_unifi_wrong_password(httpserver, clean_env, unifi_os):
    clean_env.setenv("IPAUDIT_UNIFI_USERNAME", "ipaudit")
    clean_env.setenv("IPAUDIT_UNIFI_PASSWORD", "no-" + PASSWORD)
    fake_unifi(httpserver, unifi_os=unifi_os)
    with pytest.raises(SourceError) as raised:
        read(base_uri("unifi+http", httpserver))
    text = raised.value.one_line()
    assert "authentication failed" in text and PASSWORD not in text


def test_unifi_unknown_site(httpserver, clean_env):
    clean_env.setenv("IPAUDIT_UNIFI_USERNAME", "ipaudit")
    clean_env.setenv("IPAUDIT_UNIFI_PASSWORD", PASSWORD)
    fake_unifi(httpserver)
    assert "refused: api.err.NoSiteContext" in failure_text(base_uri("unifi+http", httpserver, "/nosuchsite"))


def test_every_vendor_registered_class_has_an_example():
    from ipaudit.sources.registry import SCHEMES, source_class

    for scheme in SCHEMES:
        if "+" in scheme and not scheme.startswith("kea"):
            cls = source_class(scheme)
            assert cls.example.startswith(scheme.split("+")[0] + "+http"), scheme


def test_range_labels_name_the_source(httpserver, clean_env):
    clean_env.setenv("IPAUDIT_ADGUARD_USERNAME", "admin")
    clean_env.setenv("IPAUDIT_ADGUARD_PASSWORD", PASSWORD)
    httpserver.expect_request("/control/dhcp/status").respond_with_json(fixture("adguard", "dhcp_status.json"))
    uri = base_uri("adguard+http", httpserver)
    facts = read(uri)
    assert facts.source == uri and facts.leases[0].source == uri
    assert facts.ranges[0].addresses == IPRange("192.0.2.100", "192.0.2.200")
    assert facts.ranges[0].subnet == IPNetwork("192.0.2.0/24")


def test_pihole_without_a_password_needs_no_login(httpserver, clean_env):
    no_login = {"session": {"valid": True, "totp": False, "sid": None, "csrf": None, "validity": -1}, "took": 0.001}
    httpserver.expect_request("/api/auth", method="GET").respond_with_json(no_login)
    httpserver.expect_request("/api/config/dhcp").respond_with_json(fixture("pihole", "config_dhcp.json"))
    httpserver.expect_request("/api/dhcp/leases").respond_with_json(fixture("pihole", "dhcp_leases.json"))
    facts = read(base_uri("pihole+http", httpserver))
    assert len(facts.leases) == 2
    assert [r.method for r, _ in httpserver.log] == ["GET", "GET", "GET"]  # no POST login, no DELETE logout


def test_pihole_with_a_password_set_but_none_given(httpserver, clean_env):
    httpserver.expect_request("/api/auth", method="GET").respond_with_json(fixture("pihole", "auth_failed.json"),
                                                                          status=401)
    assert "no password for this source: set IPAUDIT_PIHOLE_PASSWORD" in failure_text(base_uri("pihole+http", httpserver))


def test_opnsense_older_search_subnet_without_pools(httpserver, clean_env):
    clean_env.setenv("IPAUDIT_OPNSENSE_API_KEY", "key-abc")
    clean_env.setenv("IPAUDIT_OPNSENSE_API_SECRET", PASSWORD)
    uuid = fixture("opnsense", "kea_search_subnet_subnet_only.json")["rows"][0]["uuid"]
    httpserver.expect_request("/api/kea/dhcpv4/search_subnet") \
        .respond_with_json(fixture("opnsense", "kea_search_subnet_subnet_only.json"))
    httpserver.expect_request(f"/api/kea/dhcpv4/get_subnet/{uuid}").respond_with_json(
        fixture("opnsense", "kea_get_subnet.json"))
    httpserver.expect_request("/api/kea/dhcpv4/search_reservation").respond_with_json({"rows": [], "total": 0})
    httpserver.expect_request("/api/kea/leases4/search").respond_with_json({"rows": [], "total": 0})
    for endpoint in ("search_range", "search_host"):
        httpserver.expect_request(f"/api/dnsmasq/settings/{endpoint}").respond_with_json(
            fixture("opnsense", "not_found.json"), status=404)
    facts = read(base_uri("opnsense+http", httpserver))
    assert ranges(facts) == [("192.0.2.100", "192.0.2.199", "192.0.2.0/24")]


def test_openwrt_dhcp_netmask_overrides_the_interface_prefix():
    from ipaudit.sources.api_records import FactsBuilder
    from ipaudit.sources.openwrt_uci import ranges_from_uci

    dhcp = {"lan": {".type": "dhcp", "interface": "lan", "start": "200", "limit": "100", "netmask": "255.255.254.0"}}
    network = {"lan": {".type": "interface", "proto": "static", "ipaddr": "192.0.2.1/24"}}
    facts = FactsBuilder("test")
    ranges_from_uci(dhcp, network, facts)
    # On the /23 the pool runs past .255 into the next /24, as dnsmasq would hand it out.
    assert [(r.addresses, str(r.subnet)) for r in facts.ranges] == [
        (IPRange("192.0.2.200", "192.0.3.43"), "192.0.2.0/23")]
