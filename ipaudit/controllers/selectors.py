"""Kubernetes label selectors (``matchLabels`` + ``matchExpressions``), evaluated as the API machinery does.

MetalLB picks pools for an L2Advertisement with them, Cilium picks Services for a
pool or an announcement policy with them; a wrong guess here hides or invents a
``pool-not-advertised``, so the semantics follow
k8s.io/apimachinery pkg/apis/meta/v1/helpers.go LabelSelectorAsSelector.
"""

from __future__ import annotations

from typing import Any, Mapping


class BadSelector(ValueError):
    """A selector the API server would refuse (unknown operator, values where none belong)."""


def labels_of(document: Any) -> dict[str, str]:
    labels = ((document or {}).get("metadata") or {}).get("labels") or {}
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def selector_matches(selector: Mapping | None, labels: Mapping[str, str]) -> bool:
    """True when ``labels`` satisfy the selector; an empty selector ``{}`` matches everything.

    # apimachinery LabelSelectorAsSelector: a nil selector is labels.Nothing(), an empty one labels.Everything();
    # callers decide what nil means for their field, so None is refused here.
    """
    if selector is None:
        raise BadSelector("a null selector selects nothing; callers must decide")
    if not isinstance(selector, Mapping):
        raise BadSelector(f"selector {selector!r} is not a mapping")
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(str(key)) != str(value):
            return False
    for expression in selector.get("matchExpressions") or ():
        if not isinstance(expression, Mapping):
            raise BadSelector(f"match expression {expression!r} is not a mapping")
        key, operator = str(expression.get("key")), expression.get("operator")
        values = [str(v) for v in expression.get("values") or ()]
        if operator == "In":
            if labels.get(key) not in values:
                return False
        elif operator == "NotIn":
            if key in labels and labels[key] in values:
                return False
        elif operator == "Exists":
            if key not in labels:
                return False
        elif operator == "DoesNotExist":
            if key in labels:
                return False
        else:
            raise BadSelector(f"unknown selector operator {operator!r}")
    return True


def required_labels(selector: Mapping | None) -> dict[str, str] | None:
    """The labels every match must carry exactly (matchLabels and one-value In), or None when unknowable."""
    if selector is None or not isinstance(selector, Mapping):
        return None
    required = {str(k): str(v) for k, v in (selector.get("matchLabels") or {}).items()}
    for expression in selector.get("matchExpressions") or ():
        values = (expression or {}).get("values") or ()
        if (expression or {}).get("operator") == "In" and len(values) == 1:
            required.setdefault(str(expression["key"]), str(next(iter(values))))
    return required
