"""Pools from a cluster: a fake ``kubectl`` executable on PATH (a real process boundary) and a
local HTTP server standing in for the API server, checked end to end through manifests.py."""

from __future__ import annotations

import json
import os
import sys
import textwrap

import pytest
from netaddr import IPRange

from http_fakes import FIXTURES, base_uri, fixture, self_signed, tls_server  # noqa: F401
from ipaudit.sources import k8s_api, kubectl
from ipaudit.sources.interface import SourceError
from ipaudit.sources.manifests import pools_from_documents

TOKEN = "eyJhbGciOiJSUzI1NiJ9.service-account-token-never-shown"

FAKE_KUBECTL = textwrap.dedent(f"""\
    #!{sys.executable}
    import os, sys
    args = sys.argv[1:]
    with open(os.environ["FAKE_KUBECTL_LOG"], "a") as log:
        log.write(os.environ.get("KUBECONFIG", "") + "|" + " ".join(args) + "\\n")
    mode = os.environ.get("FAKE_KUBECTL_MODE", "")
    if mode == "unreachable":
        sys.stderr.write("The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?\\n")
        sys.exit(1)
    fixtures = {str(FIXTURES / "kubectl")!r}
    joined = " ".join(args)
    for kind, name in (("ipaddresspools.metallb.io", "ipaddresspools.json"),
                       ("l2advertisements.metallb.io", "l2advertisements.json"),
                       ("ciliumloadbalancerippools.cilium.io", "ciliumloadbalancerippools.json"),
                       ("ciliuml2announcementpolicies.cilium.io", "ciliuml2announcementpolicies.json"),
                       ("services", "services.json"), ("nodes", "nodes.json")):
        if kind in args:
            if mode == "no-cilium" and kind.startswith("cilium"):
                sys.stderr.write('error: the server doesn\\'t have a resource type "' + kind.split(".")[0] + '"\\n')
                sys.exit(1)
            if mode == "forbid-nodes" and kind == "nodes":
                sys.stderr.write('Error from server (Forbidden): nodes is forbidden: User "dev" cannot list '
                                 'resource "nodes" in API group "" at the cluster scope\\n')
                sys.exit(1)
            sys.stdout.write(open(os.path.join(fixtures, name)).read())
            sys.exit(0)
    namespace, name = os.environ.get("FAKE_KUBEVIP", "kube-system/kubevip").split("/")
    if "-n " + namespace + " get configmap " + name + " " in joined:
        text = open(os.path.join(fixtures, "configmap_kubevip.json")).read()
        sys.stdout.write(text.replace('"kubevip"', '"' + name + '"').replace('"kube-system"', '"' + namespace + '"'))
    sys.exit(0)  # other ConfigMaps: --ignore-not-found prints nothing
""")


@pytest.fixture
def fake_kubectl(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "kubectl"
    script.write_text(FAKE_KUBECTL)
    script.chmod(0o755)
    log = tmp_path / "kubectl.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_KUBECTL_LOG", str(log))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    return log


def test_kubectl_documents_become_pools(fake_kubectl, tmp_path):
    found = kubectl.fetch_documents(context="lab")
    manifests = pools_from_documents(found.documents, found.source)
    assert {pool.name: pool.ranges for pool in manifests.pools} == {
        "lan-pool": (IPRange("192.0.2.240", "192.0.2.250"),),
        "blue": (IPRange("198.51.100.64", "198.51.100.79"), IPRange("198.51.100.100", "198.51.100.110")),
        "range-global": (IPRange("203.0.113.10", "203.0.113.20"),),
    }
    # blue is announced: blue-l2 selects color=blue Services, and blue has no serviceSelector: undecidable.
    assert manifests.advertised == frozenset({"lan-pool"})
    assert found.notes == ()
    calls = fake_kubectl.read_text().splitlines()
    assert len(calls) == 8
    assert all(call.startswith(f"{tmp_path / 'kubeconfig'}|--context lab ") for call in calls)
    assert "get ipaddresspools.metallb.io -A -o json" in calls[0]
    assert "get ciliuml2announcementpolicies.cilium.io -A -o json" in calls[3]
    assert "-n kube-system get configmap kubevip -o json --ignore-not-found" in calls[4]
    assert "get services -A -o json" in calls[6] and "get nodes -A -o json" in calls[7]


def test_kubectl_missing_crd_is_a_note(fake_kubectl, monkeypatch):
    monkeypatch.setenv("FAKE_KUBECTL_MODE", "no-cilium")
    found = kubectl.fetch_documents()
    kinds = [document["kind"] for document in found.documents]
    assert "CiliumLoadBalancerIPPool" not in kinds and "IPAddressPool" in kinds
    assert found.notes == ("no Cilium LB IPAM pools (the ciliumloadbalancerippools.cilium.io CRD is not "
                           "installed)", "no Cilium L2 announcement policies (the ciliuml2announcementpolicies.cilium.io "
                           "CRD is not installed)")
    assert "--context" not in fake_kubectl.read_text()


def test_kubectl_failure_is_one_line(fake_kubectl, monkeypatch):
    monkeypatch.setenv("FAKE_KUBECTL_MODE", "unreachable")
    with pytest.raises(SourceError) as raised:
        kubectl.fetch_documents(context="prod")
    assert raised.value.one_line() == ("kubectl (context prod): The connection to the server 127.0.0.1:6443 was "
                                       "refused - did you specify the right host or port?")


def test_kubectl_not_installed(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SourceError) as raised:
        kubectl.fetch_documents()
    assert "kubectl is not on PATH" in raised.value.one_line() and "--from FILE" in raised.value.one_line()


# --- the API server, in-cluster style ---------------------------------------------------------

@pytest.fixture
def serviceaccount(tmp_path):
    directory = tmp_path / "serviceaccount"
    directory.mkdir()
    (directory / "token").write_text(TOKEN + "\n")
    (directory / "namespace").write_text("default")
    return str(directory)


@pytest.fixture
def api_server(httpserver, monkeypatch):
    """The shared server, answering 404 for every path not set up (a CRD that is not installed)."""
    monkeypatch.setattr(httpserver, "no_handler_status_code", 404)
    return httpserver


def serve_api(httpserver):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for path, name in (("/apis/metallb.io/v1beta1/ipaddresspools", "ipaddresspools.json"),
                       ("/apis/metallb.io/v1beta1/l2advertisements", "l2advertisements.json"),
                       ("/apis/cilium.io/v2alpha1/ciliumloadbalancerippools", "ciliumloadbalancerippools_v2alpha1.json"),
                       ("/apis/cilium.io/v2alpha1/ciliuml2announcementpolicies", "ciliuml2announcementpolicies.json"),
                       ("/api/v1/namespaces/kube-system/configmaps/kubevip", "configmap_kubevip.json"),
                       ("/api/v1/services", "services.json"), ("/api/v1/nodes", "nodes.json")):
        httpserver.expect_request(path, headers=auth).respond_with_json(fixture("k8s", name))


def test_k8s_api_reads_pools_with_the_token(api_server, serviceaccount):
    httpserver = api_server
    serve_api(httpserver)
    found = k8s_api.fetch_documents(url=base_uri("http", httpserver), serviceaccount_dir=serviceaccount)
    manifests = pools_from_documents(found.documents, found.source)
    assert {pool.name: pool.kind for pool in manifests.pools} == {
        "lan-pool": "metallb", "blue": "cilium", "cidr-default": "kube-vip"}
    assert manifests.advertised == frozenset({"lan-pool"})
    assert found.notes == ()
    assert [(str(v.ip), v.service, v.pool) for v in manifests.vips] == [
        ("192.0.2.241", "ingress/traefik", "lan-pool"), ("203.0.113.53", "dns/pihole-dns", None)]
    assert [(n.name, [str(ip) for ip in n.internal_ips]) for n in manifests.nodes] == [
        ("node-a", ["192.0.2.21"]), ("node-b", ["192.0.2.22"])]
    seen = {request.path: request.headers.get("Authorization") for request, _ in httpserver.log}
    assert seen["/apis/metallb.io/v1beta1/ipaddresspools"] == f"Bearer {TOKEN}"
    assert "/apis/cilium.io/v2/ciliumloadbalancerippools" in seen  # newest version tried first


def test_k8s_api_missing_crd_is_a_note(api_server, serviceaccount):
    httpserver = api_server
    httpserver.expect_request("/apis/metallb.io/v1beta1/ipaddresspools") \
        .respond_with_json(fixture("k8s", "ipaddresspools.json"))
    found = k8s_api.fetch_documents(url=base_uri("http", httpserver), serviceaccount_dir=serviceaccount)
    assert [d["kind"] for d in found.documents] == ["IPAddressPool"]
    assert any("no Cilium LB IPAM pools" in note for note in found.notes)
    assert any("no MetalLB L2Advertisements" in note for note in found.notes)
    assert not any("ConfigMap" in note for note in found.notes)


def test_k8s_api_forbidden_names_rbac_without_the_token(httpserver, serviceaccount):
    httpserver.expect_request("/apis/metallb.io/v1beta1/ipaddresspools") \
        .respond_with_json(fixture("k8s", "forbidden.json"), status=403)
    with pytest.raises(SourceError) as raised:
        k8s_api.fetch_documents(url=base_uri("http", httpserver), serviceaccount_dir=serviceaccount)
    text = raised.value.one_line()
    assert "may not read MetalLB IPAddressPools (HTTP 403" in text and "(Cluster)Role" in text
    assert TOKEN not in text


def test_k8s_api_unauthorized(httpserver, serviceaccount):
    httpserver.expect_request("/apis/metallb.io/v1beta1/ipaddresspools").respond_with_json({"code": 401}, status=401)
    with pytest.raises(SourceError, match="authentication failed"):
        k8s_api.fetch_documents(url=base_uri("http", httpserver), serviceaccount_dir=serviceaccount)


def test_k8s_api_outside_a_pod(monkeypatch, serviceaccount):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("IPAUDIT_K8S_API_URL", raising=False)
    with pytest.raises(SourceError, match="not running inside a pod"):
        k8s_api.fetch_documents(serviceaccount_dir=serviceaccount)


def test_k8s_api_uses_service_env_and_ca(monkeypatch, serviceaccount, tls_server_for_k8s):
    server, cert = tls_server_for_k8s
    (open(os.path.join(serviceaccount, "ca.crt"), "w")).write(open(cert).read())
    monkeypatch.delenv("IPAUDIT_K8S_API_URL", raising=False)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(server.port))
    server.expect_request("/apis/metallb.io/v1beta1/ipaddresspools",
                          headers={"Authorization": f"Bearer {TOKEN}"}) \
        .respond_with_json(fixture("k8s", "ipaddresspools.json"))
    server.no_handler_status_code = 404
    found = k8s_api.fetch_documents(serviceaccount_dir=serviceaccount)
    assert [d["metadata"]["name"] for d in found.documents] == ["lan-pool"]


def test_k8s_api_missing_token(tmp_path):
    with pytest.raises(SourceError, match="cannot read the service-account token"):
        k8s_api.fetch_documents(url="http://127.0.0.1:1", serviceaccount_dir=str(tmp_path))


@pytest.fixture
def tls_server_for_k8s(tls_server, self_signed):
    """The shared self-signed HTTPS server, with the certificate the service account trusts."""
    return tls_server, self_signed[0]


def test_items_keep_their_kind_from_the_list():
    from ipaudit.sources.cluster import items_of

    items = items_of(fixture("k8s", "l2advertisements.json"))
    assert items[0]["kind"] == "L2Advertisement" and items[0]["apiVersion"] == "metallb.io/v1beta1"
    assert items_of(fixture("k8s", "configmap_kubevip.json"))[0]["kind"] == "ConfigMap"
    assert json.dumps(items_of({"kind": "List", "items": [{"kind": "X"}]})) == '[{"kind": "X"}]'


# --- Services, Nodes, announcement policies, and a moved kube-vip ConfigMap (issue 8 section 2) -----

def test_kubectl_brings_services_nodes_and_policies(fake_kubectl):
    found = kubectl.fetch_documents()
    kinds = sorted({document["kind"] for document in found.documents})
    assert kinds == ["CiliumL2AnnouncementPolicy", "CiliumLoadBalancerIPPool", "ConfigMap", "IPAddressPool",
                     "L2Advertisement", "Node", "Service"]
    manifests = pools_from_documents(found.documents, found.source, from_cluster=True)
    assert [(str(v.ip), v.pool, v.assigned) for v in manifests.vips] == [
        ("192.0.2.241", "lan-pool", True), ("203.0.113.53", None, False)]
    assert [n.name for n in manifests.nodes] == ["node-a", "node-b"]
    # cilium l2announcement_types.go: blue-l2 announces only color=blue Services; blue serves any Service.
    assert dict(manifests.advertisement)["blue"] is None


def test_kubectl_reads_the_kube_vip_configmap_named_on_the_command_line(fake_kubectl, monkeypatch, run_cli):
    monkeypatch.setenv("FAKE_KUBEVIP", "lb/kv-pools")
    result = run_cli("check-pool", "--from", "kubectl", "--kube-vip-configmap", "lb/kv-pools", "--subnet",
                     "203.0.113.0/24", "--gateway", "203.0.113.1", "--dhcp-range", "203.0.113.100-203.0.113.200",
                     "--format", "json")
    assert result.exit_code in (0, 1, 2), result.stderr
    report = __import__("json").loads(result.stdout)
    assert "range-global" in [pool["name"] for pool in report["pools"]]
    assert "-n lb get configmap kv-pools -o json --ignore-not-found" in fake_kubectl.read_text()
    # Without the option the default ConfigMap is asked for, and this cluster has none there.
    monkeypatch.setenv("FAKE_KUBEVIP", "lb/kv-pools")
    found = kubectl.fetch_documents()
    assert "ConfigMap" not in [document["kind"] for document in found.documents]


def test_a_bad_kube_vip_configmap_option_is_exit_3(run_cli):
    result = run_cli("check-pool", "192.0.2.240-245", "--kube-vip-configmap", "kubevip", "--subnet", "192.0.2.0/24")
    assert result.exit_code == 3 and "NAMESPACE/NAME" in result.stderr


def test_kubectl_not_allowed_to_list_nodes_is_a_note(fake_kubectl, monkeypatch):
    monkeypatch.setenv("FAKE_KUBECTL_MODE", "forbid-nodes")
    found = kubectl.fetch_documents()
    assert "Node" not in [document["kind"] for document in found.documents]
    assert any(note.startswith("not allowed to list Nodes") and "cannot list" in note for note in found.notes)


def test_k8s_api_optional_kinds_forbidden_are_notes_and_the_configmap_can_move(api_server, serviceaccount):
    httpserver = api_server
    auth = {"Authorization": f"Bearer {TOKEN}"}
    httpserver.expect_request("/apis/metallb.io/v1beta1/ipaddresspools", headers=auth) \
        .respond_with_json(fixture("k8s", "ipaddresspools.json"))
    httpserver.expect_request("/api/v1/nodes").respond_with_json(fixture("k8s", "forbidden.json"), status=403)
    httpserver.expect_request("/api/v1/services", headers=auth).respond_with_json(fixture("k8s", "services.json"))
    moved = dict(fixture("k8s", "configmap_kubevip.json"), metadata={"name": "kv", "namespace": "lb"})
    httpserver.expect_request("/api/v1/namespaces/lb/configmaps/kv", headers=auth).respond_with_json(moved)
    found = k8s_api.fetch_documents(url=base_uri("http", httpserver), serviceaccount_dir=serviceaccount,
                                    kube_vip_configmap="lb/kv")
    manifests = pools_from_documents(found.documents, found.source, "lb/kv", from_cluster=True)
    assert {pool.name for pool in manifests.pools} == {"lan-pool", "cidr-default"}
    assert any("may not read Nodes (HTTP 403" in note for note in found.notes)
    assert len(manifests.vips) == 2 and manifests.nodes == ()
