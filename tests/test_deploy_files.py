"""The deployment files under deploy/ and the Containerfile: parsed, checked with the real tools
with the real tool (systemd-analyze verify), and their security
properties asserted: NET_RAW as the only capability, non-root, read-only RBAC."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
KUBE = DEPLOY / "kubernetes"
READ_VERBS = {"get", "list", "watch"}


def need(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.fail(f"{program} is not installed: run .ci/setup")
    return path


def documents(name: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all((KUBE / name).read_text()) if doc]


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """A systemd unit as {section: {key: [values]}} (keys may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for line in (DEPLOY / "systemd" / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


# --- cron -----------------------------------------------------------------------------------

def test_crontab_runs_the_audit_every_five_minutes_as_cron_d_line():
    lines = [line for line in (DEPLOY / "cron" / "ipaudit").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    settings = dict(line.split("=", 1) for line in lines if re.match(r"[A-Z_]+=", line))
    jobs = [line for line in lines if not re.match(r"[A-Z_]+=", line)]
    assert settings["SHELL"] == "/bin/sh" and "/usr/local/bin" in settings["PATH"].split(":")
    [job] = jobs
    minute, hour, day, month, weekday, user, *command = shlex.split(job)
    assert (minute, hour, day, month, weekday, user) == ("*/5", "*", "*", "*", "*", "root")
    assert command[:2] == ["ipaudit", "audit"]
    assert command[command.index("--config") + 1] == "/etc/ipaudit/ipaudit.toml"
    assert (DEPLOY / "cron" / "ipaudit").read_text().endswith("\n")  # cron ignores a last line without one


# --- systemd --------------------------------------------------------------------------------

def verify(directory: Path, *names: str) -> subprocess.CompletedProcess:
    return subprocess.run([need("systemd-analyze"), "verify", *(str(directory / n) for n in names)],
                          capture_output=True, text=True)


@pytest.fixture
def units(tmp_path) -> Path:
    """The units copied, with ExecStart pointing at an executable that exists here (verify checks it)."""
    for name in ("ipaudit-audit.service", "ipaudit-audit.timer"):
        text = (DEPLOY / "systemd" / name).read_text()
        (tmp_path / name).write_text(text.replace("/usr/local/bin/ipaudit", shutil.which("python3")))
    return tmp_path


def test_systemd_units_verify(units):
    checked = verify(units, "ipaudit-audit.service", "ipaudit-audit.timer")
    assert checked.returncode == 0 and checked.stderr == "", checked.stderr


def test_systemd_verify_catches_a_broken_unit(units):
    service = units / "ipaudit-audit.service"
    service.write_text(service.read_text().replace("Type=oneshot", "Type=oneshott"))
    checked = verify(units, "ipaudit-audit.service")
    assert "oneshott" in checked.stderr


def test_service_runs_the_audit_non_root_with_net_raw_only():
    service = unit("ipaudit-audit.service")["Service"]
    assert service["Type"] == ["oneshot"]
    assert shlex.split(service["ExecStart"][0])[1:] == ["audit", "--config", "/etc/ipaudit/ipaudit.toml"]
    assert service["User"] == ["ipaudit"]
    assert service["AmbientCapabilities"] == service["CapabilityBoundingSet"] == ["CAP_NET_RAW"]
    assert service["NoNewPrivileges"] == ["yes"] and service["ProtectSystem"] == ["strict"]
    assert service["StateDirectory"] == ["ipaudit"]  # /var/lib/ipaudit, the config's state_dir
    assert service["SuccessExitStatus"] == ["1 2"]    # findings are not a failed unit; exit 3 is
    assert "AF_PACKET" in service["RestrictAddressFamilies"][0].split()


def test_timer_fires_every_five_minutes_and_is_enabled_by_timers_target():
    timer = unit("ipaudit-audit.timer")
    assert timer["Timer"]["OnUnitActiveSec"] == ["5min"] and timer["Timer"]["OnBootSec"]
    assert timer["Install"]["WantedBy"] == ["timers.target"]


# --- Kubernetes -----------------------------------------------------------------------------

def cronjob() -> dict:
    [job] = documents("cronjob.yaml")
    assert job["kind"] == "CronJob" and job["apiVersion"] == "batch/v1"
    return job


def pod_spec() -> dict:
    return cronjob()["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def test_cronjob_runs_on_the_host_network_pinned_to_the_lan():
    job = cronjob()
    assert job["spec"]["schedule"] == "*/5 * * * *" and job["spec"]["concurrencyPolicy"] == "Forbid"
    spec = pod_spec()
    assert spec["hostNetwork"] is True and spec["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert spec["nodeSelector"]["ipaudit.io/lan"] == "home"
    assert spec["serviceAccountName"] == "ipaudit"


def test_cronjob_tolerates_control_plane_taints_as_metallb_speakers_do():
    tolerations = {(t["key"], t["operator"], t["effect"]) for t in pod_spec()["tolerations"]}
    assert tolerations == {("node-role.kubernetes.io/control-plane", "Exists", "NoSchedule"),
                           ("node-role.kubernetes.io/master", "Exists", "NoSchedule")}


def test_cronjob_container_has_net_raw_and_no_other_capability_and_is_non_root():
    spec = pod_spec()
    assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] != 0
    for container in spec["containers"] + spec.get("initContainers", []):
        context = container["securityContext"]
        assert context["capabilities"] == {"drop": ["ALL"], "add": ["NET_RAW"]}
        assert context["privileged"] is False and context["readOnlyRootFilesystem"] is True
        assert context.get("runAsUser", 1) != 0
        assert container["args"][:1] == ["audit"]


def test_cronjob_mounts_the_configmap_and_keeps_state_on_a_claim():
    spec = pod_spec()
    volumes = {volume["name"]: volume for volume in spec["volumes"]}
    mounts = {mount["name"]: mount for mount in spec["containers"][0]["volumeMounts"]}
    assert volumes["config"]["configMap"]["name"] == documents("configmap.yaml")[0]["metadata"]["name"]
    assert mounts["config"]["mountPath"] == "/etc/ipaudit" and mounts["config"]["readOnly"] is True
    claim = volumes["state"]["persistentVolumeClaim"]["claimName"]
    assert claim == documents("state-pvc.yaml")[0]["metadata"]["name"]
    assert not any("hostPath" in volume for volume in volumes.values())
    assert mounts["state"]["mountPath"] == "/var/lib/ipaudit"


def test_configmap_holds_a_toml_ipaudit_config():
    import tomllib

    config = tomllib.loads(documents("configmap.yaml")[0]["data"]["ipaudit.toml"])
    assert config["state_dir"] == "/var/lib/ipaudit" and config["interval"] == "5m"
    assert config["lan"][0]["pools_from"] == ["k8s"]


def test_clusterrole_is_read_only_on_pools_services_nodes_configmaps():
    objects = {doc["kind"]: doc for doc in documents("rbac.yaml")}
    granted = {}
    for rule in objects["ClusterRole"]["rules"]:
        assert set(rule["verbs"]) <= READ_VERBS, rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted[(group, resource)] = set(rule["verbs"])
    assert set(granted) == {("metallb.io", "ipaddresspools"), ("metallb.io", "l2advertisements"),
                            ("cilium.io", "ciliumloadbalancerippools"), ("cilium.io", "ciliuml2announcementpolicies"),
                            ("", "services"), ("", "nodes"), ("", "configmaps")}
    binding = objects["ClusterRoleBinding"]
    assert binding["roleRef"]["name"] == objects["ClusterRole"]["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": objects["ServiceAccount"]["metadata"]["name"],
                                    "namespace": "ipaudit"}]


def test_kustomization_lists_every_manifest_once():
    [kustomization] = documents("kustomization.yaml")
    manifests = sorted(path.name for path in KUBE.glob("*.yaml") if path.name != "kustomization.yaml")
    assert sorted(kustomization["resources"]) == manifests
    kinds = sorted(doc["kind"] for name in manifests for doc in documents(name))
    assert kinds == sorted(["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap",
                            "PersistentVolumeClaim", "CronJob"])
    namespaced = [doc for name in manifests for doc in documents(name)
                  if doc["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding")]
    assert {doc["metadata"]["namespace"] for doc in namespaced} == {"ipaudit"}


# --- Containerfile --------------------------------------------------------------------------

def instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", (ROOT / "Containerfile").read_text())
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_containerfile_runs_non_root_with_only_net_raw():
    steps = instructions()
    users = [value for kind, value in steps if kind == "USER"]
    assert users and users[-1].split(":")[0].isdigit() and users[-1].split(":")[0] != "0"
    granted = re.findall(r"setcap\s+(\S+)", " ".join(value for kind, value in steps if kind == "RUN"))
    assert granted == ["cap_net_raw+ep"]
    assert dict(steps)["ENTRYPOINT"] == '["python3", "-m", "ipaudit"]' and dict(steps)["CMD"] == '["audit"]'
    assert re.match(r"\S+:\S+", dict(steps)["FROM"])  # a pinned tag, not :latest by default


@pytest.mark.skipif(os.geteuid() != 0, reason="setcap and setpriv need root")
def test_file_capability_gives_a_non_root_user_raw_sockets_and_nothing_else():
    """What the Containerfile relies on, done here for real: uid 10001 with a bounding set of
    NET_RAW opens a packet socket through python3's file capability, and cannot without it.
    Runs in a fresh, empty network namespace, and the socket is never bound."""
    code = "import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).close(); " \
           "print(open('/proc/self/status').read().split('CapEff:')[1].split()[0])"
    workdir = Path(tempfile.mkdtemp(prefix="ipaudit-cap-"))
    try:
        workdir.chmod(0o755)
        python = workdir / "python3"
        interpreter = os.path.realpath("/usr/bin/python3")  # Debian's: an ELF binary, its stdlib readable by all
        assert Path(interpreter).read_bytes()[:4] == b"\x7fELF", "file capabilities need a binary, not a script"
        shutil.copy2(interpreter, python)
        like_the_container = [need("unshare"), "-n", need("setpriv"), "--reuid", "10001", "--regid", "10001",
                              "--clear-groups", "--bounding-set", "-all,+net_raw", "--inh-caps", "-all", str(python),
                              "-c", code]
        without = subprocess.run(like_the_container, capture_output=True, text=True)
        assert without.returncode != 0 and "PermissionError" in without.stderr
        subprocess.run([need("setcap"), "cap_net_raw+ep", str(python)], check=True)
        granted = subprocess.run(like_the_container, capture_output=True, text=True)
        assert granted.returncode == 0, granted.stderr
        assert int(granted.stdout.strip(), 16) == 1 << 13  # CAP_NET_RAW, alone
    finally:
        shutil.rmtree(workdir)


def _ipaudit_args() -> dict[str, list[str]]:
    """The ipaudit arguments each deployment file runs, as the program would receive them."""
    cron_line = [line for line in (DEPLOY / "cron" / "ipaudit").read_text().splitlines()
                 if line and not line.startswith("#") and "=" not in line.split()[0]][0]
    cron = shlex.split(cron_line)[6:]  # five time fields, the user, then the command
    service = shlex.split(unit("ipaudit-audit.service")["Service"]["ExecStart"][0])
    (job,) = [d for d in documents("cronjob.yaml") if d["kind"] == "CronJob"]
    container = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    return {"cron": cron[1:], "systemd": service[1:], "kubernetes": list(container["args"])}


@pytest.mark.parametrize("where", ["cron", "systemd", "kubernetes"])
def test_deployed_command_lines_parse_with_the_real_audit_command(where, tmp_path):
    from click.testing import CliRunner

    from ipaudit.cli.main import program

    args = _ipaudit_args()[where]
    assert args[0] == "audit" and "--config" in args
    # --help after the real arguments: an option name the command lacks is a usage error (exit 3).
    done = CliRunner().invoke(program, [*args, "--help"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert "audit" in done.output
