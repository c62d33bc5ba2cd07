"""One test per controller rule (issue 8 sections 1, 2, 6), each citing the upstream code it mirrors."""

from __future__ import annotations

import pytest
from netaddr import IPAddress

from ipaudit.addresses import format_set
from ipaudit.errors import ManifestError
from ipaudit.sources.manifests import load_manifests, pools_from_documents, read_manifest_text


def read(text: str, **options):
    return pools_from_documents(read_manifest_text(text, "t.yaml"), "t.yaml", **options)


def pools(found) -> dict[str, list[str]]:
    return {p.name: format_set(p.addresses) for p in found.pools}


def metallb_pool(name: str, *addresses: str, extra: str = "", labels: str = "") -> str:
    quoted = ", ".join(f'"{a}"' for a in addresses)
    return (f"---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {{name: {name}, namespace: "
            f"metallb-system{', labels: ' + labels if labels else ''}}}\nspec: {{addresses: [{quoted}]{extra}}}\n")


def cilium_pool(name: str, blocks: str, extra: str = "", stamp: str = "") -> str:
    created = f", creationTimestamp: '{stamp}'" if stamp else ""
    return (f"---\napiVersion: cilium.io/v2\nkind: CiliumLoadBalancerIPPool\nmetadata: {{name: {name}{created}}}\n"
            f"spec: {{blocks: {blocks}{extra}}}\n")


def kube_vip(data: str, name: str = "kubevip", namespace: str = "kube-system") -> str:
    return f"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {namespace}}}\ndata: {data}\n"


# ---------- MetalLB ----------

def test_metallb_avoid_buggy_ips_drops_dot0_and_dot255_from_cidrs_and_ranges():
    # metallb internal/allocator/allocator.go ipConfusesBuggyFirmwares (used by getIPFromCIDR)
    found = read(metallb_pool("p", "192.0.2.0/24", "198.51.100.250-198.51.101.5", extra=", avoidBuggyIPs: true"))
    assert pools(found) == {"p": ["192.0.2.1-192.0.2.254", "198.51.100.250-198.51.100.254", "198.51.101.1-198.51.101.5"]}


@pytest.mark.parametrize("entry, rule, fix", [
    ("192.0.2.240", "a bare IP is not a CIDR", "write 192.0.2.240/32"),
    ("192.0.2.240-245", "shorthand", "write 192.0.2.240-192.0.2.245"),
    ("192.0.2.1-192.0.2.2,192.0.2.5-192.0.2.6", "comma list", "write one entry per item"),
    ("192.0.2.0 /28", "a CIDR with spaces", "write 192.0.2.0/28"),
])
def test_metallb_entry_forms_refused(entry, rule, fix):
    # metallb internal/config/config.go ParseCIDR: net.ParseCIDR without a dash, else two net.ParseIP
    found = read(metallb_pool("p", entry))
    assert found.pools == ()
    (rejection,) = found.rejections
    assert rejection.entry == entry and rule in rejection.rule and rejection.fix.startswith(fix)
    assert rejection.upstream == "metallb internal/config/config.go ParseCIDR"


def test_metallb_range_with_spaces_around_dash_is_accepted():
    # metallb internal/config/config.go ParseCIDR: strings.TrimSpace on each side of the dash
    assert pools(read(metallb_pool("p", "192.0.2.240 - 192.0.2.245"))) == {"p": ["192.0.2.240-192.0.2.245"]}


def test_metallb_overlap_inside_one_pool_refuses_the_whole_config():
    # metallb internal/config/config.go poolsFor: each CIDR checked against all CIDRs before it, same pool too
    found = read(metallb_pool("p", "192.0.2.0/28", "192.0.2.8-192.0.2.20") + metallb_pool("q", "198.51.100.0/30"))
    assert found.pools == ()  # MetalLB refuses the whole configuration, q included
    assert [(r.pool, r.entry) for r in found.rejections] == [("p", "192.0.2.8-192.0.2.20")]
    assert "inside pool p" in found.rejections[0].rule


def test_metallb_overlap_between_pools_refused():
    # metallb internal/config/config.go poolsFor
    found = read(metallb_pool("p", "192.0.2.0/28") + metallb_pool("q", "192.0.2.15/32"))
    assert [(r.pool, r.upstream) for r in found.rejections] == [("q", "metallb internal/config/config.go poolsFor")]


def test_metallb_same_pool_twice_in_l2advertisement_refused():
    # metallb internal/config/config.go l2AdvertisementFromCR -> validateDuplicate
    found = read(metallb_pool("p", "192.0.2.0/28") +
                 "---\nkind: L2Advertisement\nmetadata: {name: l2}\nspec: {ipAddressPools: [p, p]}\n")
    assert [r.entry for r in found.rejections] == ["p"] and found.pools == ()


def test_metallb_pool_selector_matching_no_pool_advertises_nothing():
    # metallb internal/config/config.go setL2AdvertisementsToPools / filterPoolsWithLabelSelector
    text = metallb_pool("p", "192.0.2.0/28", labels="{zone: lan}") + metallb_pool("q", "198.51.100.0/28")
    none = read(text + "---\nkind: L2Advertisement\nmetadata: {name: l2}\n"
                       "spec: {ipAddressPoolSelectors: [{matchLabels: {zone: dmz}}]}\n")
    assert none.advertised == frozenset() and dict(none.advertisement) == {"p": False, "q": False}
    some = read(text + "---\nkind: L2Advertisement\nmetadata: {name: l2}\n"
                       "spec: {ipAddressPoolSelectors: [{matchExpressions: [{key: zone, operator: In, values: [lan]}]}]}\n")
    assert some.advertised == frozenset({"p"})


def test_metallb_l2advertisement_without_pools_advertises_all():
    # metallb internal/config/config.go setL2AdvertisementsToPools: no pools and no selectors selects all pools
    found = read(metallb_pool("p", "192.0.2.0/28") + metallb_pool("q", "198.51.100.0/28") +
                 "---\nkind: L2Advertisement\nmetadata: {name: l2}\n")
    assert found.advertised == frozenset({"p", "q"})


def test_metallb_ipv4_mapped_ipv6_is_ipv4():
    # Go net.ParseIP returns ::ffff:a.b.c.d as IPv4 (metallb internal/config/config.go ParseCIDR uses it)
    found = read(metallb_pool("p", "::ffff:192.0.2.10-::ffff:192.0.2.12", "::ffff:198.51.100.0/126"))
    assert pools(found) == {"p": ["192.0.2.10-192.0.2.12", "198.51.100.0-198.51.100.3"]}
    assert all(r.version == 4 for r in found.pools[0].ranges)


def test_metallb_dual_stack_pool_keeps_both_families():
    # metallb internal/config/config.go Pool.CIDR: one pool may hold IPv4 and IPv6 CIDRs
    found = read(metallb_pool("p", "192.0.2.240/29", "2001:db8::/126"))
    assert {r.version for r in found.pools[0].ranges} == {4, 6}


LEGACY = ("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: config, namespace: metallb-system}}\n"
          "data:\n  config: |\n    address-pools:\n    - name: a\n{body}")


@pytest.mark.parametrize("body, rule", [
    ("      addresses: [192.0.2.0/28]\n", "missing the protocol field"),
    ("      protocol: arp\n      addresses: [192.0.2.0/28]\n", "unknown protocol"),
    ("      protocol: layer2\n", "no prefixes defined"),
    ("      protocol: layer2\n      addresses: [192.0.2.0/28]\n      bgp-advertisements: [{local-pref: 1}]\n",
     "bgp-advertisements configuration element in a layer2"),
    ("      protocol: layer2\n      avoid_buggy_ips: true\n      addresses: [192.0.2.0/28]\n", "UnmarshalStrict"),
])
def test_metallb_legacy_configmap_rules(body, rule):
    # metallb v0.12 internal/config/config.go parseAddressPool, Parse (yaml.UnmarshalStrict)
    found = read(LEGACY.format(body=body))
    assert found.pools == () and rule in found.rejections[0].rule


def test_metallb_legacy_bgp_pool_is_not_l2_advertised():
    # metallb v0.12 internal/config/config.go: protocol decides layer2 or bgp per pool
    found = read(LEGACY.format(body="      protocol: bgp\n      addresses: [192.0.2.0/28]\n"))
    assert pools(found) == {"a": ["192.0.2.0-192.0.2.15"]} and found.advertised == frozenset()


# ---------- Cilium LB IPAM ----------

def test_cilium_allow_first_last_no_reserves_cidr_ends_only():
    # cilium operator/pkg/lbipam/lbipam.go handleNewPool: AllowFirstLastIPNo allocates first and last of each cidr
    found = read(cilium_pool("c", "[{cidr: 192.0.2.0/24}, {cidr: 198.51.100.0/31}, "
                                  "{start: 198.51.100.10, stop: 198.51.100.20}]", ', allowFirstLastIPs: "No"'))
    assert pools(found) == {"c": ["192.0.2.1-192.0.2.254", "198.51.100.0-198.51.100.1", "198.51.100.10-198.51.100.20"]}


def test_cilium_allow_first_last_default_hands_out_every_address():
    # cilium pkg/k8s/apis/cilium.io/v2/lbipam_types.go AllowFirstLastIPs: Yes or undefined allocates them
    assert pools(read(cilium_pool("c", "[{cidr: 192.0.2.0/30}]"))) == {"c": ["192.0.2.0-192.0.2.3"]}


@pytest.mark.parametrize("value", ["no", "false", "No"])
def test_cilium_allow_first_last_enum_is_exact(value):
    # cilium pkg/k8s/apis/cilium.io/v2/lbipam_types.go: +kubebuilder:validation:Enum=Yes;No
    # An unquoted No is a YAML 1.1 boolean (kubectl's sigs.k8s.io/yaml), refused by the schema as well.
    found = read(cilium_pool("c", "[{cidr: 192.0.2.0/28}]", f", allowFirstLastIPs: {value}"))
    assert found.pools == () and found.rejections[0].fix == 'write allowFirstLastIPs: "No" (quoted)'


@pytest.mark.parametrize("cidr", ["192.0.2.240", "192.0.2.240-192.0.2.245", "192.0.2.0/33"])
def test_cilium_cidr_must_be_a_real_cidr(cidr):
    # cilium pkg/k8s/apis/cilium.io/v2/lbipam_types.go Format=cidr; lbipam.go ipRangeFromBlock netip.ParsePrefix
    found = read(cilium_pool("c", f"[{{cidr: '{cidr}'}}]"))
    assert found.pools == () and found.rejections[0].entry == f"cidr: {cidr}"


def test_cilium_overlap_inside_pool_disables_pool():
    # cilium operator/pkg/lbipam/lbrange.go areRangesInternallyConflicting via lbipam.go settleConflicts
    found = read(cilium_pool("c", "[{cidr: 192.0.2.0/28}, {start: 192.0.2.10, stop: 192.0.2.20}]"))
    assert found.pools == () and "conflicting" in found.rejections[0].effect


def test_cilium_overlap_between_pools_disables_the_newer():
    # cilium operator/pkg/lbipam/lbipam.go settleConflicts: CreationTimestamp.Before decides
    found = read(cilium_pool("new", "[{cidr: 192.0.2.0/28}]", stamp="2025-02-01T00:00:00Z") +
                 cilium_pool("old", "[{cidr: 192.0.2.8/29}]", stamp="2024-01-01T00:00:00Z"))
    assert list(pools(found)) == ["old"] and [r.pool for r in found.rejections] == ["new"]


def test_cilium_spec_cidrs_is_gone():
    # cilium pkg/k8s/apis/cilium.io/v2/lbipam_types.go CiliumLoadBalancerIPPoolSpec: blocks only (1.16)
    found = read(cilium_pool("c", "[]").replace("blocks: []", "cidrs: [{cidr: 192.0.2.0/28}]"))
    assert found.pools == () and found.rejections[0].fix == "rename spec.cidrs to spec.blocks"


def test_cilium_v2alpha1_is_noted_as_deprecated():
    # cilium pkg/k8s/apis/cilium.io/v2/lbipam_types.go is the storage version
    found = read(cilium_pool("c", "[{cidr: 192.0.2.0/28}]").replace("cilium.io/v2", "cilium.io/v2alpha1"))
    assert any("write apiVersion: cilium.io/v2" in n for n in found.notes)


POLICY = "---\napiVersion: cilium.io/v2alpha1\nkind: CiliumL2AnnouncementPolicy\nmetadata: {{name: l2}}\nspec: {spec}\n"


@pytest.mark.parametrize("pool_extra, policy_spec, announced", [
    ("", "{loadBalancerIPs: true}", True),
    ("", "{externalIPs: true}", False),
    (", serviceSelector: {matchLabels: {app: web}}", "{loadBalancerIPs: true, serviceSelector: {matchLabels: {app: web}}}",
     True),
    (", serviceSelector: {matchLabels: {app: db}}", "{loadBalancerIPs: true, serviceSelector: {matchLabels: {app: web}}}",
     False),
    ("", "{loadBalancerIPs: true, serviceSelector: {matchLabels: {app: web}}}", None),
])
def test_cilium_pool_announced_by_l2_policy(pool_extra, policy_spec, announced):
    # cilium pkg/k8s/apis/cilium.io/v2alpha1/l2announcement_types.go: serviceSelector nil = all, loadBalancerIPs
    found = read(cilium_pool("c", "[{cidr: 192.0.2.0/28}]", pool_extra) + POLICY.format(spec=policy_spec))
    assert dict(found.advertisement) == {"c": announced}


def test_cilium_no_policy_is_unknown_from_a_file_and_not_announced_from_the_cluster():
    text = cilium_pool("c", "[{cidr: 192.0.2.0/28}]")
    assert dict(read(text).advertisement) == {"c": None}
    assert dict(read(text, from_cluster=True).advertisement) == {"c": False}


# ---------- kube-vip ----------

def test_kube_vip_precedence_cidr_ns_cidr_global_range_ns_range_global():
    # kube-vip-cloud-provider pkg/provider/loadBalancer.go discoverPool / getConfig
    found = read(kube_vip("{cidr-global: 192.0.2.0/28, range-global: 192.0.2.100-192.0.2.110, "
                          "cidr-dev: 198.51.100.0/29, range-prod: 203.0.113.1-203.0.113.5}"))
    assert pools(found) == {"cidr-global": ["192.0.2.1-192.0.2.15"], "cidr-dev": ["198.51.100.1-198.51.100.7"]}
    assert {n.split("never reads ")[1].split(":")[0] for n in found.notes if "never reads" in n} == \
        {"range-global", "range-prod"}
    assert found.rejections == ()


@pytest.mark.parametrize("value, said", [
    ("192.0.2.240 - 192.0.2.245", "no spaces"),
    ("192.0.2.240-192.0.2.241, 192.0.2.243-192.0.2.244", "no spaces"),
    ("192.0.2.240-245", "shorthand"),
    ("192.0.2.240", "bare IP"),
    ("192.0.2.0/30,192.0.2.10-192.0.2.20", "range inside a cidr- value"),
])
def test_kube_vip_separators_are_exact(value, said):
    # kube-vip-cloud-provider pkg/ipam/addressbuilder.go buildAddressesFromRange / parseCidrs
    key = "cidr-global" if "/" in value else "range-global"
    found = read(kube_vip(f"{{{key}: '{value}'}}"))
    assert found.pools == () and said in found.rejections[0].rule
    assert found.rejections[0].effect.endswith("stay <pending>")


def test_kube_vip_skips_dot0_and_dot255_always():
    # kube-vip-cloud-provider pkg/ipam/ipam.go FindFreeAddress isNetworkIDOrBroadcastIP
    found = read(kube_vip("{range-global: 192.0.2.250-192.0.3.2}"))
    assert pools(found) == {"range-global": ["192.0.2.250-192.0.2.254", "192.0.3.1-192.0.3.2"]}


def test_kube_vip_skip_end_ips_drops_ends_of_each_merged_prefix():
    # kube-vip-cloud-provider pkg/ipam/addressbuilder.go buildHostsFromCidr (SkipEndIPsInCIDR)
    found = read(kube_vip("{cidr-global: '198.51.100.16/29,198.51.100.24/29', skip-end-ips-in-cidr: 'true'}"))
    assert pools(found) == {"cidr-global": ["198.51.100.17-198.51.100.30"]}


def test_kube_vip_dhcp_mode_is_no_pool():
    # kube-vip-cloud-provider pkg/provider/loadBalancer.go discoverVIPs: pool == "0.0.0.0/32"
    found = read(kube_vip("{cidr-global: 0.0.0.0/32}"))
    assert found.pools == () and found.rejections == () and "DHCP" in found.notes[0]


def test_kube_vip_configmap_name_is_configurable():
    # kube-vip-cloud-provider pkg/provider/provider.go KUBEVIP_NAMESPACE / KUBEVIP_CONFIG_MAP
    text = kube_vip("{range-global: 192.0.2.10-192.0.2.20}", name="lb-pools", namespace="infra")
    assert read(text).pools == ()
    assert pools(read(text, kube_vip_configmap="infra/lb-pools")) == {"range-global": ["192.0.2.10-192.0.2.20"]}
    with pytest.raises(ManifestError):
        read(text, kube_vip_configmap="lb-pools")


def test_kube_vip_namespace_pool_serves_only_its_namespace():
    # kube-vip-cloud-provider pkg/provider/loadBalancer.go syncLoadBalancer: serviceNamespace for non-global pools
    found = read(kube_vip("{range-dev: 192.0.2.10-192.0.2.20}") + SERVICE.format(
        ns="prod", annotations="{kube-vip.io/loadbalancerIPs: 192.0.2.12}", spec="", status=""))
    assert found.pools[0].service_namespace == "dev"
    assert [(v.service, v.pool) for v in found.vips] == [("prod/web", None)]


# ---------- Services -> VIPs ----------

SERVICE = ("---\napiVersion: v1\nkind: Service\nmetadata: {{name: web, namespace: {ns}, annotations: {annotations}}}\n"
           "spec: {{type: LoadBalancer{spec}}}\nstatus: {{loadBalancer: {{ingress: [{status}]}}}}\n")


def test_service_vips_from_status_spec_and_every_annotation():
    # metallb.universe.tf/loadBalancerIPs, metallb.io/loadBalancerIPs, lbipam.cilium.io/ips, kube-vip.io/loadbalancerIPs
    text = metallb_pool("p", "192.0.2.0/28") + SERVICE.format(
        ns="apps", spec=", loadBalancerIP: 192.0.2.3", status="{ip: 192.0.2.2}",
        annotations="{metallb.universe.tf/loadBalancerIPs: '192.0.2.2,2001:db8::5', metallb.io/loadBalancerIPs: "
                    "192.0.2.4, lbipam.cilium.io/ips: 192.0.2.5, kube-vip.io/loadbalancerIPs: 203.0.113.9}")
    found = read(text)
    assert [(str(v.ip), v.service, v.pool, v.assigned) for v in found.vips] == [
        ("192.0.2.2", "apps/web", "p", True), ("192.0.2.3", "apps/web", "p", False),
        ("192.0.2.4", "apps/web", "p", False), ("192.0.2.5", "apps/web", "p", False),
        ("203.0.113.9", "apps/web", None, False), ("2001:db8::5", "apps/web", None, False)]
    assert found.vips[0].origins == ("status.loadBalancer.ingress", "metallb.universe.tf/loadBalancerIPs")


def test_kubectl_get_svc_list_file_works():
    text = ("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: a, namespace: x}\n"
            "  spec: {type: LoadBalancer}\n  status: {loadBalancer: {ingress: [{ip: 198.51.100.7}]}}\n"
            "- apiVersion: v1\n  kind: Service\n  metadata: {name: b, namespace: x}\n  spec: {type: ClusterIP}\n")
    found = read(text)
    assert [(v.ip, v.service) for v in found.vips] == [(IPAddress("198.51.100.7"), "x/a")]


# ---------- Section 6: files as users have them ----------

def test_l2advertisement_only_file_says_what_is_missing(tmp_path):
    path = tmp_path / "l2.yaml"
    path.write_text("apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: l2-adv}\n")
    found = load_manifests([str(path)])
    assert found.pools == () and "L2Advertisement l2-adv but no address pool" in found.empty_reason
    assert "give a POOL" not in found.empty_reason


def test_l2advertisement_in_another_file_selects_pools(tmp_path):
    (tmp_path / "p.yaml").write_text(metallb_pool("p", "192.0.2.0/28") + metallb_pool("q", "198.51.100.0/28"))
    (tmp_path / "l2.yaml").write_text("kind: L2Advertisement\nmetadata: {name: l2}\nspec: {ipAddressPools: [q]}\n")
    found = load_manifests([str(tmp_path / "p.yaml"), str(tmp_path / "l2.yaml")])
    assert found.advertised == frozenset({"q"}) and found.empty_reason is None


@pytest.mark.parametrize("line, marker", [
    ("  addresses: [${METALLB_RANGE}]", "${METALLB_RANGE}"),
    ("  addresses: [{{ metallb_range }}]", "{{"),
    ("{% for r in ranges %}", "{%"),
])
def test_templated_file_names_marker_and_line(tmp_path, line, marker):
    path = tmp_path / "t.yaml"
    path.write_text(f"# ${{COMMENTS}} are fine\nkind: IPAddressPool\nmetadata: {{name: p}}\nspec:\n{line}\n")
    with pytest.raises(ManifestError) as raised:
        load_manifests([str(path)])
    assert "t.yaml line 5:" in raised.value.message
    assert repr(marker) in raised.value.message
