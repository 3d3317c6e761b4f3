"""Building the kustomize overlays and looking into what they produce."""
import functools
import re
import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
OVERLAYS = ("dev", "prod")
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "Job", "DaemonSet", "CronJob"}
LONG_RUNNING_KINDS = {"Deployment", "StatefulSet", "DaemonSet"}


def kubectl() -> str:
    path = shutil.which("kubectl")
    assert path, "kubectl is not installed (.ci/run installs it: .ci/install-kubectl)"
    return path


def kustomize(directory: Path) -> str:
    result = subprocess.run([kubectl(), "kustomize", str(directory)], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


@functools.cache
def built(overlay: str) -> tuple[dict, ...]:
    """Every object `kubectl kustomize k8s/overlays/<overlay>` produces."""
    text = kustomize(K8S / "overlays" / overlay)
    return tuple(doc for doc in yaml.safe_load_all(text) if doc)


@functools.cache
def base() -> tuple[dict, ...]:
    return tuple(doc for doc in yaml.safe_load_all(kustomize(K8S / "base")) if doc)


def of_kind(objects, kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def pod_spec(workload: dict) -> dict:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def container_env(container: dict, config_maps: dict[str, dict]) -> dict[str, str]:
    """The variables a container sees that come from literals or ConfigMaps (not Secrets)."""
    env = {}
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef")
        if ref:
            env.update(config_maps[ref["name"]].get("data", {}))
    for var in container.get("env", []):
        env[var["name"]] = var.get("value", "<from " + next(iter(var.get("valueFrom", {})), "?") + ">")
    return env


def procfile() -> dict[str, list[str]]:
    """Procfile processes, each command tokenised with ``${X:-d}`` written as ``$(X)``:
    the same variable, resolved by Kubernetes from the container's environment."""
    import shlex
    processes = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, command = line.split(":", 1)
        command = re.sub(r"\$\{(\w+)(:-[^}]*)?\}", r"$(\1)", command)
        processes[name.strip()] = shlex.split(command)
    return processes


def procfile_defaults() -> dict[str, str]:
    text = (ROOT / "Procfile").read_text()
    return dict(re.findall(r"\$\{(\w+):-([^}]*)\}", text))
