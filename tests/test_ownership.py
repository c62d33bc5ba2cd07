"""Who answers for a pool address: a node (a live VIP, info), or a foreign device (a conflict, or a claimed VIP).

Pure logic on hand-built Lans, and the engine on inventory files and manifests. The
wire side (a real kernel answering ARP for a VIP) is in test_ownership_netns.py.
"""

from __future__ import annotations

import json

import pytest
from netaddr import IPAddress, IPRange

from ipaudit.addressset import AddressSet
from ipaudit.exitstatus import ExitStatus
from ipaudit.facts import LanOptions, LanQuery, assemble_lan, parse_macs
from ipaudit.errors import IpauditError
from ipaudit.inventory import inventory_to_dict
from ipaudit.model import ClusterNode, Host, Inventory, Lan, Pool
from ipaudit.plan.checks import check_pools
from ipaudit.plan.engine import CheckRequest, run_check
from ipaudit.plan.ownership import classify, unresolved_nodes_note, with_cluster
from ipaudit.sources.pools import PoolQuery

NODE_MAC = "02:1a:00:00:00:0b"
OTHER_NODE_MAC = "02:1a:00:00:00:0c"
PHONE_MAC = "f0:18:98:00:02:40"  # an Apple OUI, so the vendor is named
POOL = Pool(name="lb", ranges=(IPRange("198.51.100.240", "198.51.100.245"),), kind="metallb")
BASE = dict(subnet="198.51.100.0/24", gateway="198.51.100.1", dhcp_ranges=("198.51.100.100-198.51.100.199",))


def lan_with(hosts: dict[str, tuple[str, ...]], nodes=("198.51.100.11",), node_macs=(), **extra) -> Lan:
    inventory = Inventory(hosts=tuple(Host(IPAddress(ip), macs) for ip, macs in hosts.items()))
    return assemble_lan(LanOptions(**BASE, nodes=nodes, node_macs=node_macs, **extra), [inventory])


def codes(findings) -> list[str]:
    return [str(f.code) for f in findings]


def test_an_address_answered_only_by_a_node_is_a_live_vip_not_a_conflict():
    lan = lan_with({"198.51.100.11": (NODE_MAC,), "198.51.100.240": (NODE_MAC,)})
    findings = check_pools([POOL], lan)
    assert codes(findings) == ["vip-live-on-node"]
    assert findings[0].addresses == ("198.51.100.240",)
    assert "198.51.100.11 (02:1a:00:00:00:0b)" in findings[0].message
    assert findings[0].key == f"vip-live-on-node|lb|198.51.100.240|{NODE_MAC}"


def test_without_the_nodes_mac_the_same_address_stays_a_conflict():
    # The guard: the node rule must not quietly excuse every answering MAC.
    lan = lan_with({"198.51.100.240": (NODE_MAC,)}, nodes=())
    assert codes(check_pools([POOL], lan)) == ["pool-address-in-use"]


def test_node_mac_option_identifies_the_node_without_its_ip():
    lan = lan_with({"198.51.100.241": (NODE_MAC,)}, nodes=(), node_macs=("02-1A-00-00-00-0B, 02:1a:00:00:00:0c",))
    assert {n.mac for n in lan.cluster_nodes} == {NODE_MAC, OTHER_NODE_MAC}
    findings = check_pools([POOL], lan)
    assert codes(findings) == ["vip-live-on-node"] and NODE_MAC in findings[0].message


def test_two_nodes_answering_one_vip_is_still_the_cluster():
    lan = lan_with({"198.51.100.240": (NODE_MAC, OTHER_NODE_MAC)}, node_macs=(NODE_MAC, OTHER_NODE_MAC))
    assert codes(check_pools([POOL], lan)) == ["vip-live-on-node"]


def test_a_phone_beside_the_node_claims_the_vip_and_is_named_with_its_vendor():
    lan = lan_with({"198.51.100.11": (NODE_MAC,), "198.51.100.240": (NODE_MAC, PHONE_MAC)})
    findings = check_pools([POOL], lan)
    # One finding for the address: never pool-address-in-use as well.
    assert codes(findings) == ["vip-claimed-by-foreign-device"]
    assert findings[0].severity.value == "critical"
    assert f"{PHONE_MAC} (Apple, Inc.)" in findings[0].message and "198.51.100.11" in findings[0].message
    assert findings[0].key == f"vip-claimed-by-foreign-device|lb|198.51.100.240|{PHONE_MAC}"


def test_a_foreign_device_on_an_assigned_vip_is_a_claim_even_with_no_node_answering():
    lan = with_cluster(lan_with({"198.51.100.242": (PHONE_MAC,)}), [],
                       [(IPAddress("198.51.100.242"), "default/web")])
    findings = check_pools([POOL], lan)
    assert codes(findings) == ["vip-claimed-by-foreign-device"]
    assert "Service default/web" in findings[0].message


def test_a_foreign_device_on_a_plain_pool_address_is_in_use():
    lan = lan_with({"198.51.100.11": (NODE_MAC,), "198.51.100.240": (NODE_MAC,), "198.51.100.243": (PHONE_MAC,)})
    findings = check_pools([POOL], lan)
    assert codes(findings) == ["vip-live-on-node", "pool-address-in-use"]
    assert findings[1].addresses == ("198.51.100.243",) and PHONE_MAC in findings[1].message


def test_in_use_typed_without_a_mac_stays_a_conflict():
    lan = lan_with({"198.51.100.11": (NODE_MAC,)}, in_use=("198.51.100.244",))
    assert codes(check_pools([POOL], lan)) == ["pool-address-in-use"]


def test_a_nodes_own_address_in_the_pool_is_reported_once_as_pool_includes_node():
    lan = lan_with({"198.51.100.241": (NODE_MAC,)}, nodes=("198.51.100.241",))
    assert codes(check_pools([POOL], lan)) == ["pool-includes-node"]


def test_classify_walks_the_hosts_not_a_huge_in_use_range():
    lan = lan_with({"198.51.100.11": (NODE_MAC,), "198.51.100.240": (NODE_MAC,)}, in_use=("198.51.0.0/16",))
    owners = classify(AddressSet([IPRange("198.51.0.0", "198.51.255.255")]), lan)
    assert [str(v.ip) for v in owners.live] == ["198.51.100.240"]
    assert owners.foreign.size == 65536 - 2  # the node's own address and the VIP are accounted for


def test_cluster_node_names_are_used_when_known():
    lan = with_cluster(lan_with({"198.51.100.11": (NODE_MAC,), "198.51.100.240": (NODE_MAC,)}),
                       [("worker-1", (IPAddress("198.51.100.11"),))], [])
    findings = check_pools([POOL], lan)
    assert "worker-1 (198.51.100.11, 02:1a:00:00:00:0b)" in findings[0].message


def test_a_node_no_scan_saw_is_noted():
    lan = lan_with({"198.51.100.240": (NODE_MAC,)}, nodes=("198.51.100.11", "198.51.100.12"))
    assert "198.51.100.11-198.51.100.12" in unresolved_nodes_note(lan) and "--node-mac" in unresolved_nodes_note(lan)
    assert unresolved_nodes_note(lan_with({"198.51.100.11": (NODE_MAC,)})) is None


def test_cluster_node_label():
    assert ClusterNode(NODE_MAC).label == NODE_MAC
    assert ClusterNode(NODE_MAC, IPAddress("198.51.100.11")).label == f"198.51.100.11 ({NODE_MAC})"


@pytest.mark.parametrize("text", ["zz", "12", "", "02:1a:00:00:00", "02:1a-00:00:00:0b", "01:00:5e:00:00:01"])
def test_bad_node_macs_are_refused(text):
    with pytest.raises(IpauditError):
        parse_macs([text])


def test_bad_node_mac_on_the_command_line_is_a_one_line_exit_3(run_cli):
    result = run_cli("check-pool", "198.51.100.240-245", "--node-mac", "02:1a:00:00:00:0b,nope")
    assert result.exit_code == 3 and "nope" in result.stderr and "Traceback" not in result.stderr


# -- the engine, from an inventory file and manifests, as `check-pool --inventory` runs it -------------

#: The cluster as kubectl shows it: node worker-1 at .11, and Service default/web holding VIP .240.
CLUSTER = """\
apiVersion: v1
kind: Node
metadata: {name: worker-1}
status: {addresses: [{type: InternalIP, address: 198.51.100.11}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {type: LoadBalancer}
status: {loadBalancer: {ingress: [{ip: 198.51.100.240}]}}
"""
MANIFEST = """\
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: lb, namespace: metallb-system}
spec: {addresses: [198.51.100.240-198.51.100.245]}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: l2, namespace: metallb-system}
---
""" + CLUSTER


def engine_check(tmp_path, hosts: dict[str, tuple[str, ...]]):
    inventory = Inventory(hosts=tuple(Host(IPAddress(ip), macs) for ip, macs in hosts.items()),
                          interface="eth0", subnet=None)
    (tmp_path / "scan.json").write_text(json.dumps(inventory_to_dict(inventory)))
    (tmp_path / "cluster.yaml").write_text(MANIFEST)
    return run_check(CheckRequest(PoolQuery(manifests=(str(tmp_path / "cluster.yaml"),)),
                                  LanQuery(LanOptions(**BASE), inventories=(str(tmp_path / "scan.json"),),
                                           local_interfaces=False)))


def test_engine_learns_the_node_from_the_clusters_node_object_and_the_inventory(tmp_path):
    report = engine_check(tmp_path, {"198.51.100.11": (NODE_MAC,), "198.51.100.240": (NODE_MAC,)})
    assert codes(report.findings) == ["vip-live-on-node"] and report.status is ExitStatus.OK
    assert "worker-1" in report.findings[0].message


def test_engine_names_the_phone_on_the_services_vip(tmp_path):
    report = engine_check(tmp_path, {"198.51.100.11": (NODE_MAC,), "198.51.100.240": (NODE_MAC, PHONE_MAC)})
    assert codes(report.findings) == ["vip-claimed-by-foreign-device"] and report.status is ExitStatus.CRITICAL
    assert "Service default/web" in report.findings[0].message and "worker-1" in report.findings[0].message
