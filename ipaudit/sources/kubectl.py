"""``--from kubectl``: the cluster's pool objects, fetched by running the user's own kubectl.

kubectl brings the user's kubeconfig, auth plugins and ``KUBECONFIG`` for free; we
only add ``--context`` when asked. Each resource type is its own ``kubectl get`` so
that a cluster without Cilium (the CRD is missing) still yields its MetalLB pools,
with a note instead of an error.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from ipaudit.safe_decode import DecodeError, load_json
from ipaudit.sources.cluster import ClusterDocuments, ClusterResource, items_of, resources
from ipaudit.sources.interface import SourceError

MISSING_TYPE = "the server doesn't have a resource type"
# kubectl's message when RBAC refuses a list: "... is forbidden: User ... cannot list resource ..."
FORBIDDEN = "is forbidden"


def kubectl_command(resource: ClusterResource, context: str | None, timeout: float) -> list[str]:
    command = ["kubectl"]
    if context:
        command += ["--context", context]
    command += [f"--request-timeout={int(max(timeout, 1))}s"]
    if resource.name is not None:  # one ConfigMap
        command += ["-n", resource.namespace or "default", "get", "configmap", resource.name, "-o", "json",
                    "--ignore-not-found"]
    else:
        command += ["get", resource.kubectl_type, "-A", "-o", "json"]
    return command


def _problem_line(stderr: str) -> str:
    for line in stderr.splitlines():
        line = line.strip()
        if line:
            return line[len("error: "):] if line.startswith("error: ") else line
    return "no error message"


def child_environment(environ=None) -> dict[str, str]:
    """The environment for kubectl: ours without ``IPAUDIT_*``, which may hold router passwords and tokens."""
    environ = os.environ if environ is None else environ
    return {name: value for name, value in environ.items() if not name.upper().startswith("IPAUDIT_")}


def _run(command: list[str], timeout: float, where: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, capture_output=True, text=True, errors="replace", timeout=timeout + 5,
                              env=child_environment())
    except subprocess.TimeoutExpired:
        raise SourceError(f"{where}: kubectl did not answer within {timeout + 5:g}s") from None
    except OSError as problem:
        raise SourceError(f"{where}: cannot run kubectl: {problem.strerror or problem}") from None


def fetch_documents(context: str | None = None, timeout: float = 30.0,
                    kube_vip_configmap: str | None = None) -> ClusterDocuments:
    """Every pool object kubectl can see, with L2 policies, Services and Nodes; notes for what is missing."""
    where = f"kubectl (context {context})" if context else "kubectl"
    if shutil.which("kubectl") is None:
        raise SourceError(f"{where}: kubectl is not on PATH",
                          hint="install kubectl, or pass the manifests with --from FILE (kubectl get ... -o yaml > FILE)")
    documents: list[dict] = []
    notes: list[str] = []
    for resource in resources(kube_vip_configmap):
        result = _run(kubectl_command(resource, context, timeout), timeout, where)
        if result.returncode != 0:
            if MISSING_TYPE in result.stderr:
                notes.append(f"no {resource.what} (the {resource.kubectl_type} CRD is not installed)")
                continue
            if resource.optional and FORBIDDEN in result.stderr:
                notes.append(f"not allowed to list {resource.what}, so they are not checked: "
                             f"{_problem_line(result.stderr)}")
                continue
            raise SourceError(f"{where}: {_problem_line(result.stderr)}")
        text = result.stdout.strip()
        if not text:
            continue  # --ignore-not-found: the ConfigMap does not exist
        try:
            answer = load_json(text, f"{where}: the output of kubectl get {resource.kubectl_type}")
        except DecodeError as problem:
            raise SourceError(problem.message, problem.hint) from None
        if not isinstance(answer, dict):
            raise SourceError(f"{where}: kubectl get {resource.kubectl_type} printed an unexpected shape")
        documents.extend(items_of(answer))
    return ClusterDocuments(tuple(documents), tuple(notes), source=where)
