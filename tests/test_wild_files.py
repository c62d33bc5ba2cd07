"""Real files from the wild (issue 8 section 6), kept under fixtures/wild/ with their provenance.

Each test states exactly what ipaudit says about one file, so a parser change that alters a
verdict on real input shows up here.
"""

from __future__ import annotations

from pathlib import Path

from netaddr import IPRange

from ipaudit.model import DhcpFacts
from ipaudit.sources.kea_json import load_kea_json
from ipaudit.sources.registry import open_source

WILD = Path(__file__).resolve().parent.parent / "fixtures" / "wild"


def facts_of(uri: str) -> DhcpFacts:
    return open_source(uri).read()


def test_kea_all_keys_with_dot_five_floats_is_read():
    # kea src/bin/dhcp4/dhcp4_lexer.ll: floats match -?(0|[1-9][0-9]*)?\.?[0-9]*([eE][-+]?[0-9]+)?, so ".5" is 0.5.
    document = load_kea_json(str(WILD / "kea4-all-keys.json"), "kea")
    assert document["Dhcp4"]["t1-percent"] == 0.5 and document["Dhcp4"]["cache-threshold"] == 0.25
    facts = facts_of(f"kea:{WILD / 'kea4-all-keys.json'}")
    assert [(r.addresses, str(r.subnet)) for r in facts.ranges] == [
        (IPRange("192.1.0.1", "192.1.0.200"), "192.0.0.0/8"), (IPRange("192.3.0.1", "192.3.0.200"), "192.0.0.0/8")]
    assert [str(r.ip) for r in facts.reservations] == ["192.0.2.204"]


def test_kea_numbers_in_json_spelling(tmp_path):
    config = tmp_path / "kea.json"
    config.write_text('{"Dhcp4": {"a": .5, "b": 5., "c": -.25, "d": 007, "e": 1.5e3, "f": "x.5", "g": [0, -1]}}')
    assert load_kea_json(str(config), "kea")["Dhcp4"] == {"a": 0.5, "b": 5.0, "c": -0.25, "d": 7, "e": 1500.0,
                                                          "f": "x.5", "g": [0, -1]}


def write_openwrt(tmp_path, dhcp_options: str) -> str:
    (tmp_path / "dhcp").write_text("config dhcp 'lan'\n\toption interface 'lan'\n" + dhcp_options)
    (tmp_path / "network").write_text("config interface 'lan'\n\toption proto 'static'\n"
                                      "\toption ipaddr '192.0.2.1'\n\toption netmask '255.255.255.0'\n")
    (tmp_path / "none.leases").write_text("")
    return f"openwrt:{tmp_path}?leases={tmp_path / 'none.leases'}"


def test_openwrt_option_end_keeps_the_wider_reading(tmp_path):
    # Stock dnsmasq.init dhcp_add reads start/limit only: 100 + 150 - 1 = .249. A firmware writing
    # "option end" serves start..end. The wider of the two is kept, with a note, never silently one.
    facts = facts_of(write_openwrt(tmp_path, "\toption start '100'\n\toption limit '20'\n\toption end '200'\n"))
    assert [r.addresses for r in facts.ranges] == [IPRange("192.0.2.100", "192.0.2.200")]
    assert any("option end '200': stock OpenWrt ignores it (start/limit give 192.0.2.100-192.0.2.119)" in n
               for n in facts.notes)
    narrower_end = facts_of(write_openwrt(tmp_path, "\toption start '100'\n\toption end '192.0.2.120'\n"))
    assert [r.addresses for r in narrower_end.ranges] == [IPRange("192.0.2.100", "192.0.2.249")]


def test_openwrt_option_end_that_is_not_a_number_is_a_note(tmp_path):
    facts = facts_of(write_openwrt(tmp_path, "\toption start '100'\n\toption end 'last'\n"))
    assert [r.addresses for r in facts.ranges] == [IPRange("192.0.2.100", "192.0.2.249")]
    assert any("option end 'last' is not a number" in n for n in facts.notes)


HOME_LAN = ["--subnet", "192.168.1.0/24", "--gateway", "192.168.1.1"]


def test_charlesthomas_pools_one_without_buffer_and_a_reread_clean_emit(run_cli):
    import json

    import yaml

    from ipaudit.sources.manifests import pools_from_documents

    path = str(WILD / "charlesthomas-homelab-metallb-ip-address-pools.yaml")
    result = run_cli("check-pool", "--from", path, *HOME_LAN, "--dhcp-range", "192.168.1.100-192.168.1.200",
                     "--format", "json")
    report = json.loads(result.stdout)
    assert result.exit_code == 1
    assert [(f["code"], f["pool"]) for f in report["findings"]] == [("pool-no-buffer", "internal")]
    # Issue 8 section 5: keep .40-.99 after a DHCP cut of 4 first; the move stays near it, not at .9-.68.
    assert [(r["kind"], r["range"], r["new_dhcp_range"]) for r in report["recommendations"][:2]] == [
        ("shrink-dhcp", "192.168.1.40-192.168.1.99", "192.168.1.104-192.168.1.200"),
        ("use-block", "192.168.1.36-192.168.1.95", None)]
    emitted = run_cli("check-pool", "--from", path, *HOME_LAN, "--dhcp-range", "192.168.1.100-192.168.1.200",
                      "--emit", "metallb")
    documents = list(yaml.safe_load_all(emitted.stdout))
    # Each pool keeps its namespace; the user's three L2Advertisements still name them, so none is emitted.
    assert [(d["kind"], d["metadata"]["name"], d["metadata"]["namespace"]) for d in documents] == [
        ("IPAddressPool", "internal", "metallb"), ("IPAddressPool", "external", "metallb"),
        ("IPAddressPool", "dns", "metallb")]
    assert documents[0]["spec"]["addresses"] == ["192.168.1.36-192.168.1.95"]  # the move: safe to apply now
    assert documents[1]["spec"]["addresses"] == ["192.168.1.5/32"]
    found = pools_from_documents(documents, "emitted")
    assert found.rejections == ()


def test_lagoon_at_home_pool_inside_a_sky_hub_dhcp_range_keeps_its_block(run_cli):
    import json

    result = run_cli("check-pool", "--from", str(WILD / "lagoon-at-home-metallb.yml"), *HOME_LAN,
                     "--dhcp-range", "192.168.1.2-192.168.1.253", "--format", "json")
    report = json.loads(result.stdout)
    assert result.exit_code == 2
    assert [(f["code"], f["pool"]) for f in report["findings"]] == [
        ("pool-overlaps-dhcp", "default"), ("dhcp-range-fills-subnet", "default")]
    shrink = report["recommendations"][0]
    assert (shrink["kind"], shrink["range"], shrink["new_dhcp_range"]) == (
        "shrink-dhcp", "192.168.1.240-192.168.1.250", "192.168.1.2-192.168.1.235")


def test_lagoon_at_home_template_names_its_marker(run_cli):
    result = run_cli("check-pool", "--from", str(WILD / "lagoon-at-home-metallb.yml.tpl"), *HOME_LAN)
    assert result.exit_code == 3 and result.stdout == ""
    assert "line 8: template marker '${LAGOON_NETWORK_RANGE}'" in result.stderr
