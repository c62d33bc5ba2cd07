"""``--emit`` (issue 8 section 5): manifests a user can apply blindly, and the recommendations behind them.

Every emitted manifest is read back through ipaudit's own controller rules (``pools_from_documents``,
which mirrors MetalLB's config.go and Cilium's lbipam.go): a manifest the controller would refuse
must never be printed.
"""

from __future__ import annotations

import textwrap

import yaml
from netaddr import IPRange, IPSet

from ipaudit.addresses import parse_spec
from ipaudit.addressset import AddressSet
from ipaudit.model import DhcpRange, Lan, Pool
from ipaudit.plan.recommend import recommend_block, recommend_for_check
from ipaudit.report.manifest import EmitKind, dns1123_name, render_manifest
from ipaudit.sources.manifests import pools_from_documents

LAB = ["--subnet", "192.0.2.0/24", "--gateway", "192.0.2.1"]


def reread(text: str):
    """The manifest as MetalLB/Cilium would load it: no rejection allowed."""
    found = pools_from_documents(list(yaml.safe_load_all(text)), "emitted")
    assert found.rejections == (), [r.message for r in found.rejections]
    return found


def documents_of(text: str) -> list[dict]:
    return list(yaml.safe_load_all(text))


def entries(pool_document: dict) -> IPSet:
    return IPSet(r for entry in pool_document["spec"]["addresses"] for r in parse_spec(entry).ranges)


# --- a one-address pool, names, round trip ------------------------------------------------------

def test_acceptance_size_one_is_a_slash_32_metallb_accepts(run_cli):
    # metallb internal/config/config.go ParseCIDR: a bare IP goes to net.ParseCIDR and is refused.
    result = run_cli("recommend", *LAB, "--dhcp-range", "192.0.2.2-192.0.2.120", "--size", "1", "--emit", "metallb")
    assert result.exit_code == 0
    assert "addresses: [192.0.2.254/32]" in result.stdout
    found = reread(result.stdout)
    assert [p.ranges for p in found.pools] == [(IPRange("192.0.2.254", "192.0.2.254"),)]
    assert found.advertised == frozenset({"lan-pool"})


def test_ipv6_one_address_is_a_slash_128_in_both_controllers():
    pool = Pool("v6", (IPRange("2001:db8::10", "2001:db8::10"),))
    metallb = render_manifest(EmitKind.METALLB, [pool])
    assert "addresses: ['2001:db8::10/128']" in metallb
    cilium = render_manifest(EmitKind.CILIUM, [pool])
    assert documents_of(cilium)[0]["spec"]["blocks"] == [{"cidr": "2001:db8::10/128"}]
    assert [p.ranges for p in reread(metallb).pools] == [p.ranges for p in reread(cilium).pools]


def test_round_trip_of_ranges_cidrs_and_avoid_buggy_ips():
    pools = [Pool("edge", (IPRange("198.51.100.240", "198.51.100.245"),)),
             Pool("wide", (IPRange("203.0.113.0", "203.0.113.255"),), avoid_buggy_ips=True)]
    for kind in EmitKind:
        found = reread(render_manifest(kind, pools))
        handed_out = {p.name: p.addresses for p in found.pools}
        assert handed_out["edge"] == AddressSet([IPRange("198.51.100.240", "198.51.100.245")])
        # metallb allocator.go ipConfusesBuggyFirmwares skips .0/.255 itself; Cilium has no such flag, so
        # the blocks leave them out: either way the same addresses are handed out.
        assert handed_out["wide"] == AddressSet([IPRange("203.0.113.1", "203.0.113.254")])


def test_cilium_from_an_avoid_buggy_pool_leaves_out_dot_0_and_dot_255():
    pool = Pool("dmz", (IPRange("198.51.100.250", "198.51.101.5"),), avoid_buggy_ips=True)
    (document, _) = documents_of(render_manifest(EmitKind.CILIUM, [pool]))
    assert document["apiVersion"] == "cilium.io/v2"  # not the deprecated v2alpha1
    blocks = IPSet()
    for block in document["spec"]["blocks"]:
        blocks.add(IPRange(block["start"], block["stop"]) if "start" in block else block["cidr"])
    assert "198.51.100.255" not in blocks and "198.51.101.0" not in blocks and blocks.size == 10


def test_names_are_dns_1123():
    assert dns1123_name("kube-vip/global") == "kube-vip-global"
    assert dns1123_name("Proposed (recommended)") == "proposed-recommended"
    assert dns1123_name("x" * 80) == "x" * 63
    text = render_manifest(EmitKind.METALLB, [Pool("kube-vip/global", (IPRange("192.0.2.240", "192.0.2.247"),),
                                                   kind="kube-vip", namespace="kube-system")])
    pool = documents_of(text)[0]
    assert pool["metadata"] == {"name": "kube-vip-global", "namespace": "metallb-system"}
    assert "emitted as 'kube-vip-global'" in text.splitlines()[0]
    reread(text)


def test_a_bad_name_is_a_usage_error(run_cli):
    result = run_cli("recommend", *LAB, "--dhcp-range", "192.0.2.2-192.0.2.120", "--name", "My_Pool",
                     "--emit", "metallb")
    assert result.exit_code == 3 and result.stdout == ""
    assert "not a valid Kubernetes name" in result.stderr and "my-pool" in result.stderr


# --- the user's objects: kept, reused, never overwritten ------------------------------------------

USER_OBJECTS = textwrap.dedent("""\
    apiVersion: metallb.io/v1beta1
    kind: IPAddressPool
    metadata:
      name: lan-pool
      namespace: lb
      labels: {tier: edge}
      annotations: {team: infra, kubectl.kubernetes.io/last-applied-configuration: "{}"}
      resourceVersion: "4711"
      uid: 6b3c0c8e-0000-4000-8000-000000000001
    spec:
      addresses: [192.168.1.100-192.168.1.105]
      autoAssign: false
      avoidBuggyIPs: true
      serviceAllocation:
        priority: 50
        namespaces: [web]
    ---
    apiVersion: metallb.io/v1beta1
    kind: L2Advertisement
    metadata: {name: edge-l2, namespace: lb}
    spec:
      ipAddressPoolSelectors:
      - matchLabels: {tier: edge}
      interfaces: [eth1]
      nodeSelectors:
      - matchLabels: {kubernetes.io/hostname: node-a}
    """)


def test_check_pool_emit_keeps_the_users_settings_and_reuses_their_l2advertisement(run_cli, tmp_path):
    source = tmp_path / "pools.yaml"
    source.write_text(USER_OBJECTS)
    result = run_cli("check-pool", "--from", str(source), "--subnet", "192.168.1.0/24", "--gateway", "192.168.1.1",
                     "--dhcp-range", "192.168.1.2-192.168.1.120", "--emit", "metallb")
    assert result.exit_code == 2  # the pool sits in DHCP; a free block exists, so it moves
    (pool,) = documents_of(result.stdout)  # the user's L2Advertisement still selects it by label: none emitted
    assert pool["metadata"] == {"name": "lan-pool", "namespace": "lb", "labels": {"tier": "edge"},
                                "annotations": {"team": "infra"}}
    assert pool["spec"]["serviceAllocation"] == {"priority": 50, "namespaces": ["web"]}
    assert pool["spec"]["autoAssign"] is False and pool["spec"]["avoidBuggyIPs"] is True
    assert entries(pool).isdisjoint(IPSet(IPRange("192.168.1.2", "192.168.1.124")))
    assert "stays advertised by your L2Advertisement edge-l2" in result.stdout


def test_a_new_l2advertisement_gets_a_distinct_name_and_the_users_interfaces(tmp_path, run_cli):
    source = tmp_path / "l2.yaml"
    source.write_text(textwrap.dedent("""\
        apiVersion: metallb.io/v1beta1
        kind: IPAddressPool
        metadata: {name: lan-pool, namespace: metallb-system}
        spec: {addresses: [192.0.2.200-192.0.2.210]}
        ---
        apiVersion: metallb.io/v1beta1
        kind: L2Advertisement
        metadata: {name: lan-pool-l2, namespace: metallb-system}
        spec:
          ipAddressPools: [lan-pool]
          interfaces: [eth1]
          nodeSelectors: [{matchLabels: {l2: "yes"}}]
        """))
    result = run_cli("recommend", *LAB, "--dhcp-range", "192.0.2.2-192.0.2.120", "--from", str(source),
                     "--size", "4", "--emit", "metallb")
    assert result.exit_code == 0
    pool, advertisement = documents_of(result.stdout)
    # "lan-pool" and "lan-pool-l2" are the user's: applying the same names would replace them.
    assert pool["metadata"]["name"] == "lan-pool-2"
    assert advertisement["metadata"]["name"] == "lan-pool-2-l2"
    assert advertisement["spec"] == {"ipAddressPools": ["lan-pool-2"], "interfaces": ["eth1"],
                                     "nodeSelectors": [{"matchLabels": {"l2": "yes"}}]}
    assert "you already have a IPAddressPool named lan-pool" in result.stdout
    assert entries(pool).isdisjoint(IPSet(IPRange("192.0.2.200", "192.0.2.210")))


def test_bgp_pools_get_no_l2advertisement():
    pool = Pool("bgp-pool", (IPRange("198.51.100.64", "198.51.100.79"),), kind="metallb-configmap",
                namespace="metallb-system", protocol="bgp")
    text = render_manifest(EmitKind.METALLB, [pool])
    assert [d["kind"] for d in documents_of(text)] == ["IPAddressPool"]
    assert "BGP pool" in text


def test_cilium_keeps_disabled_and_selector_and_reuses_the_users_policy():
    existing = documents_of(textwrap.dedent("""\
        apiVersion: cilium.io/v2alpha1
        kind: CiliumLoadBalancerIPPool
        metadata: {name: blue, labels: {color: blue}}
        spec:
          disabled: true
          allowFirstLastIPs: "No"
          serviceSelector: {matchLabels: {color: blue}}
          blocks: [{cidr: 198.51.100.64/28}]
        ---
        apiVersion: cilium.io/v2alpha1
        kind: CiliumL2AnnouncementPolicy
        metadata: {name: blue-policy}
        spec: {loadBalancerIPs: true, interfaces: [eth0]}
        """))
    (pool,) = pools_from_documents(existing, "user").pools
    text = render_manifest(EmitKind.CILIUM, [pool], existing=existing)
    (document,) = documents_of(text)
    assert document["apiVersion"] == "cilium.io/v2" and document["metadata"]["labels"] == {"color": "blue"}
    assert document["spec"]["disabled"] is True and document["spec"]["allowFirstLastIPs"] == "No"
    assert document["spec"]["serviceSelector"] == {"matchLabels": {"color": "blue"}}
    assert "CiliumL2AnnouncementPolicy blue-policy is kept" in text
    assert reread(text).pools[0].addresses == pool.addresses


# --- not safe yet: nothing on stdout ---------------------------------------------------------------

BLOG = ["check-pool", "192.168.1.240-245", "--subnet", "192.168.1.0/24", "--gateway", "192.168.1.1",
        "--dhcp-range", "192.168.1.2-192.168.1.253"]


def test_a_block_safe_only_after_a_dhcp_shrink_is_not_emitted(run_cli):
    result = run_cli(*BLOG, "--emit", "metallb", "--name", "traefik")
    assert result.exit_code == 2 and result.stdout == ""
    assert "nothing emitted" in result.stderr
    assert "first, for pool proposed: shrink DHCP range 192.168.1.2-192.168.1.253 (--dhcp-range) to " \
           "192.168.1.2-192.168.1.235" in result.stderr
    assert "keep your 192.168.1.240-192.168.1.245" in result.stderr


def test_force_emit_prints_it_under_a_comment_header(run_cli):
    result = run_cli(*BLOG, "--emit", "metallb", "--name", "traefik", "--force-emit")
    assert result.exit_code == 2
    assert result.stdout.startswith("# NOT SAFE TO APPLY YET")
    assert "# - for pool proposed: shrink DHCP range" in result.stdout
    pool = reread(result.stdout).pools[0]
    assert pool.name == "traefik" and pool.ranges == (IPRange("192.168.1.240", "192.168.1.245"),)


def test_a_pool_with_no_safe_block_is_not_emitted(run_cli):
    result = run_cli("check-pool", "192.0.2.8/29", *LAB, "--dhcp-range", "192.0.2.2-192.0.2.254", "--in-use",
                     "192.0.2.12", "--emit", "cilium")
    assert result.exit_code == 2 and result.stdout == ""
    assert "nothing emitted" in result.stderr


def test_output_file_gets_the_manifest_and_help_says_so(run_cli, tmp_path):
    target = tmp_path / "pool.yaml"
    result = run_cli("check-pool", "192.0.2.240-243", *LAB, "--dhcp-range", "192.0.2.2-192.0.2.120",
                     "--emit", "metallb", "--name", "ingress", "-o", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert reread(target.read_text()).pools[0].name == "ingress"
    assert "192.0.2.240-192.0.2.243" in result.stderr  # the report went beside it
    help_text = run_cli("check-pool", "--help").stdout
    assert "With --emit, FILE gets the" in help_text and "--force-emit" in help_text and "--name" in help_text


# --- recommendations -------------------------------------------------------------------------------

def test_keeping_the_users_block_beats_a_move():
    lan = Lan(subnet=__import__("netaddr").IPNetwork("192.168.1.0/24"),
              gateway=__import__("netaddr").IPAddress("192.168.1.1"),
              dhcp_ranges=(DhcpRange(IPRange("192.168.1.2", "192.168.1.253"), "router"),))
    pool = Pool("proposed", (IPRange("192.168.1.240", "192.168.1.245"),))
    from ipaudit.plan.checks import check_pools

    advice = recommend_for_check([pool], lan, check_pools([pool], lan, {}))
    assert advice[0].kind == "shrink-dhcp" and advice[0].block == pool.ranges[0]
    assert advice[0].new_dhcp_range == IPRange("192.168.1.2", "192.168.1.235")
    assert "then keep your 192.168.1.240-192.168.1.245 (6 addresses)" in advice[0].message


def test_a_pool_blocked_by_more_than_dhcp_is_moved_by_a_shrink():
    from netaddr import IPAddress, IPNetwork

    from ipaudit.plan.checks import check_pools

    lan = Lan(subnet=IPNetwork("192.168.1.0/24"), gateway=IPAddress("192.168.1.1"),
              dhcp_ranges=(DhcpRange(IPRange("192.168.1.2", "192.168.1.253"), "router"),),
              in_use=AddressSet([IPAddress("192.168.1.242")]))
    pool = Pool("proposed", (IPRange("192.168.1.240", "192.168.1.245"),))
    advice = recommend_for_check([pool], lan, check_pools([pool], lan, {}))
    assert advice[0].kind == "shrink-dhcp" and "then use" in advice[0].message
    assert IPAddress("192.168.1.242") not in IPSet(advice[0].block)


def test_with_dhcp_unknown_the_block_is_unverified(run_cli):
    result = run_cli("recommend", *LAB, "--size", "4", "--emit", "metallb")
    assert result.exit_code == 1  # dhcp-range-unknown
    assert "UNVERIFIED" in result.stderr
    assert result.stdout.startswith("# UNVERIFIED: no DHCP range was known")


def test_a_size_that_never_fits_names_the_largest_block_once(run_cli):
    result = run_cli("recommend", *LAB, "--dhcp-range", "192.0.2.2-192.0.2.120", "--size", "300")
    assert result.exit_code == 2
    assert "the largest possible is 192.0.2.2-192.0.2.254 (253 addresses, after removing DHCP range" \
        in " ".join(result.stdout.split())
    assert " ".join(result.stdout.split()).count("largest possible") == 1


def test_largest_free_now_when_no_dhcp_is_in_the_way():
    from netaddr import IPNetwork

    lan = Lan(subnet=IPNetwork("198.51.100.0/29"))
    advice = recommend_block(lan, [], 10, "big")
    assert advice[0].kind == "no-room"
    assert "the largest possible is 198.51.100.1-198.51.100.6 (6 addresses, free now)" in advice[0].message
