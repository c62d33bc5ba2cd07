"""The API server's schema check, before any controller rule reads an object.

``kubectl apply`` of an IPAddressPool whose ``spec`` is a number, or whose
``ipAddressPools`` is not a list of strings, never reaches MetalLB: the API server
refuses it against the CRD's openAPIV3Schema (or the core types' schema for
ConfigMaps, Services and Nodes). ``shape_problem`` finds the first such field, so
the object becomes one ``manifest-rejected`` finding instead of a crash deeper in.
Only the fields ipaudit reads are described; others pass untouched.
"""

from __future__ import annotations

from typing import Any

# A shape is a type name, or a dict of field -> shape (a mapping with those optional fields),
# or a one-item list [shape] (a list of that shape).
Shape = Any
STRING_MAP = "map of strings"
SELECTOR: Shape = {"matchLabels": STRING_MAP,
                   "matchExpressions": [{"key": "string", "operator": "string", "values": ["string"]}]}
METADATA: Shape = {"name": "string", "namespace": "string", "labels": STRING_MAP, "annotations": STRING_MAP,
                   "creationTimestamp": "scalar"}
# metallb config/crd/bases, cilium pkg/k8s/apis/cilium.io/client/crds/v2, and the core v1 types.
KINDS: dict[str, Shape] = {
    "IPAddressPool": {"spec": {"addresses": ["string"], "autoAssign": "boolean", "avoidBuggyIPs": "boolean",
                               "serviceAllocation": {"priority": "scalar", "namespaces": ["string"],
                                                     "namespaceSelectors": [SELECTOR],
                                                     "serviceSelectors": [SELECTOR]}}},
    "L2Advertisement": {"spec": {"ipAddressPools": ["string"], "ipAddressPoolSelectors": [SELECTOR],
                                 "nodeSelectors": [SELECTOR], "interfaces": ["string"]}},
    "CiliumLoadBalancerIPPool": {"spec": {"blocks": [{"cidr": "string", "start": "string", "stop": "string"}],
                                          "cidrs": [{"cidr": "string", "start": "string", "stop": "string"}],
                                          "disabled": "boolean", "serviceSelector": SELECTOR,
                                          "allowFirstLastIPs": "scalar"}},
    "CiliumL2AnnouncementPolicy": {"spec": {"serviceSelector": SELECTOR, "nodeSelector": SELECTOR,
                                            "loadBalancerIPs": "boolean", "externalIPs": "boolean",
                                            "interfaces": ["string"]}},
    "ConfigMap": {"data": STRING_MAP},
    "Service": {"spec": {"type": "string", "loadBalancerIP": "string"},
                "status": {"loadBalancer": {"ingress": [{"ip": "string", "hostname": "string"}]}}},
    "Node": {"status": {"addresses": [{"type": "string", "address": "string"}]}},
}


def _wrong(value: Any, shape: Shape) -> bool:
    if shape == "string":
        return not isinstance(value, str)
    if shape == "boolean":
        return not isinstance(value, bool)
    if shape == "scalar":
        return isinstance(value, (dict, list))
    if shape == STRING_MAP:
        # Labels, annotations and ConfigMap data are map[string]string: `5` or `true` unquoted is refused.
        return not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values())
    if isinstance(shape, list):
        return not isinstance(value, list)
    return not isinstance(value, dict)


def _describe(shape: Shape) -> str:
    if isinstance(shape, str):
        return "a " + shape if shape != STRING_MAP else "a map of strings"
    return "a list" if isinstance(shape, list) else "a mapping"


def _first_problem(value: Any, shape: Shape, path: str) -> tuple[str, str] | None:
    if value is None:
        return None  # absent or null: the schema's defaults apply, the controller decides
    if _wrong(value, shape):
        return path, _describe(shape)
    if isinstance(shape, list):
        for index, item in enumerate(value):
            found = _first_problem(item, shape[0], f"{path}[{index}]")
            if found:
                return found
    elif isinstance(shape, dict):
        for field, inner in shape.items():
            found = _first_problem(value.get(field), inner, f"{path}.{field}" if path else field)
            if found:
                return found
    return None


def shape_problem(document: dict) -> tuple[str, str] | None:
    """``(field path, what it must be)`` for the first field the API server would refuse, or None."""
    found = _first_problem(document.get("metadata"), METADATA, "metadata")
    kind = document.get("kind")
    if found is None and isinstance(kind, str) and kind in KINDS:
        found = _first_problem({k: document.get(k) for k in KINDS[kind]}, KINDS[kind], "")
    return found
