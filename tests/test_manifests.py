"""Pools from every manifest kind, read from the fixtures as users have them."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipaudit.addresses import format_set
from ipaudit.errors import ManifestError
from ipaudit.sources.manifests import load_manifest, pools_from_documents, read_manifest_text

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def pools_of(name: str) -> dict[str, list[str]]:
    return {p.name: format_set(p.addresses) for p in load_manifest(str(FIXTURES / name)).pools}


def test_blog_manifest_pool_and_advertisement():
    found = load_manifest(str(FIXTURES / "metallb-config.yaml"))
    assert pools_of("metallb-config.yaml") == {"main-pool": ["192.168.1.240-192.168.1.245"]}
    assert found.advertised == frozenset({"main-pool"})
    assert found.pools[0].kind == "metallb"


def test_legacy_configmap_with_flags():
    found = load_manifest(str(FIXTURES / "metallb-legacy-configmap.yaml")).pools
    by_name = {p.name: p for p in found}
    assert format_set(by_name["default"].addresses) == ["192.168.1.240-192.168.1.250"]
    assert by_name["reserved-for-dns"].auto_assign is False
    assert by_name["reserved-for-dns"].avoid_buggy_ips is True


def test_cilium_blocks_and_removed_cidrs():
    # cilium pkg/k8s/apis/cilium.io/v2/lbipam_types.go: spec.cidrs is gone, so legacy-pool is refused.
    assert pools_of("cilium-pool.yaml") == {
        "blue-pool": ["192.168.1.224-192.168.1.231", "192.168.1.240-192.168.1.245", "192.168.1.250"],
    }
    rejected = load_manifest(str(FIXTURES / "cilium-pool.yaml")).rejections
    assert [(r.pool, r.entry) for r in rejected] == [("legacy-pool", "spec.cidrs")]


def test_kube_vip_global_cidr_shadows_namespace_range():
    # kube-vip-cloud-provider pkg/provider/loadBalancer.go discoverPool: cidr-global comes before range-<ns>.
    found = load_manifest(str(FIXTURES / "kube-vip-configmap.yaml"))
    assert pools_of("kube-vip-configmap.yaml") == {"cidr-global": ["192.168.1.224-192.168.1.231"]}
    assert any("never reads range-development" in n for n in found.notes)


def test_kubectl_list_flattens_and_keeps_flags():
    found = load_manifest(str(FIXTURES / "kubectl-list.yaml"))
    assert [p.name for p in found.pools] == ["main-pool", "dmz"]
    assert found.pools[1].auto_assign is False and found.pools[1].avoid_buggy_ips is True


def test_other_kinds_are_noted_not_fatal():
    documents = read_manifest_text("kind: Deployment\nmetadata: {name: web}\n---\n"
                                   "kind: IPAddressPool\nmetadata: {name: a}\nspec: {addresses: [10.0.0.1/32]}\n", "x")
    found = pools_from_documents(documents, "x")
    assert [p.name for p in found.pools] == ["a"]
    assert found.notes == ("x: ignored Deployment web (holds no address pool)",)


def test_json_manifest_is_read_too():
    documents = read_manifest_text('{"kind": "IPAddressPool", "metadata": {"name": "j"},'
                                   ' "spec": {"addresses": ["10.0.0.0/30"]}}', "j.json")
    assert format_set(pools_from_documents(documents, "j.json").pools[0].addresses) == ["10.0.0.0-10.0.0.3"]


@pytest.mark.parametrize("text, named", [
    ("kind: IPAddressPool\nspec:\n  addresses: [10.0.0.1\n", "line"),
    ("kind: ConfigMap\nmetadata: {name: config}\ndata:\n  config: 'address-pools: [oops'\n", "not valid YAML"),
    ("- just\n- a list\n", "not a Kubernetes object"),
])
def test_broken_manifests_name_file_and_problem(text, named):
    with pytest.raises(ManifestError) as raised:
        pools_from_documents(read_manifest_text(text, "bad.yaml"), "bad.yaml")
    assert "bad.yaml" in raised.value.one_line() and named in raised.value.one_line()
