"""``--from k8s``: the cluster's pool objects read straight from the API server, for runs inside a pod.

Uses the pod's service account: the token and CA under
``/var/run/secrets/kubernetes.io/serviceaccount/`` and the API address in
``KUBERNETES_SERVICE_HOST``/``KUBERNETES_SERVICE_PORT``. A CRD that is not installed
answers 404 and becomes a note. ``IPAUDIT_K8S_API_URL`` and
``IPAUDIT_K8S_SERVICEACCOUNT_DIR`` override the address and directory (tests, or a
token copied out of a cluster).
"""

from __future__ import annotations

import os

from ipaudit.safe_decode import DecodeError
from ipaudit.sources.cluster import ClusterDocuments, items_of, resources
from ipaudit.sources.credentials import Secret
from ipaudit.sources.http import HttpClient
from ipaudit.sources.interface import SourceError, SourceOptions

SERVICEACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def api_url(environ=None) -> str:
    environ = os.environ if environ is None else environ
    if environ.get("IPAUDIT_K8S_API_URL"):
        return environ["IPAUDIT_K8S_API_URL"].rstrip("/")
    host, port = environ.get("KUBERNETES_SERVICE_HOST"), environ.get("KUBERNETES_SERVICE_PORT", "443")
    if not host:
        raise SourceError("k8s: KUBERNETES_SERVICE_HOST is not set, so this is not running inside a pod",
                          hint="use --from kubectl outside the cluster")
    return f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"


def _read_token(directory: str) -> Secret:
    path = os.path.join(directory, "token")
    try:
        with open(path, encoding="utf-8") as handle:
            token = handle.read().strip()
    except OSError as problem:
        raise SourceError(f"k8s: cannot read the service-account token {path}: {problem.strerror}",
                          hint="is automountServiceAccountToken off for this pod?") from None
    if not token:
        raise SourceError(f"k8s: the service-account token {path} is empty")
    return Secret(token)


def fetch_documents(url: str | None = None, serviceaccount_dir: str | None = None,
                    timeout: float = 10.0, kube_vip_configmap: str | None = None) -> ClusterDocuments:
    """Every pool object the service account may read, with L2 policies, Services and Nodes, plus notes."""
    directory = serviceaccount_dir or os.environ.get("IPAUDIT_K8S_SERVICEACCOUNT_DIR") or SERVICEACCOUNT_DIR
    base = (url or api_url()).rstrip("/")
    token = _read_token(directory)
    ca_path = os.path.join(directory, "ca.crt")
    options = SourceOptions(ca_cert=ca_path if base.startswith("https") and os.path.isfile(ca_path) else None,
                            timeout=timeout)
    documents: list[dict] = []
    notes: list[str] = []
    with HttpClient(f"k8s+{base}", options) as client:
        client.keep_secret(token)
        client.secret_header("Authorization", Secret(f"Bearer {token.reveal()}"))
        for resource in resources(kube_vip_configmap):
            answer, forbidden = None, False
            for path in resource.api_paths:
                response = client.get(path, expect_json=False, ok_statuses=(403, 404))
                if response.status_code == 403 and resource.optional:
                    notes.append(f"the service account may not read {resource.what} (HTTP 403 on {path}), "
                                 "so they are not checked; grant get/list on them with a ClusterRole")
                    forbidden = True
                    break
                if response.status_code == 403:
                    raise client.error(f"the service account may not read {resource.what} (HTTP 403 on {path})",
                                       hint="grant it get/list on that resource with a (Cluster)Role")
                if response.status_code == 404:
                    continue
                try:
                    answer = response.json(f"the answer to GET {path}")
                except DecodeError as problem:
                    if "not JSON" in problem.message:
                        raise client.error(f"GET {path} did not return JSON") from None
                    raise client.error(problem.message, problem.hint) from None
                break
            if answer is None:
                if resource.api_paths[0].startswith("/apis/") and not resource.is_configmap and not forbidden:
                    notes.append(f"no {resource.what} (the {resource.kubectl_type} CRD is not installed)")
                elif not resource.is_configmap and not forbidden:
                    notes.append(f"no {resource.what}: GET {resource.api_paths[0]} answered 404")
                continue
            if not isinstance(answer, dict):
                raise client.error(f"unexpected response from GET {resource.api_paths[0]}: not an object")
            documents.extend(items_of(answer))
    return ClusterDocuments(tuple(documents), tuple(notes), source=f"k8s API {base}")
