"""The deployment policy every container must meet; ``violations`` lists what breaks it.

For every container of every workload (Deployment, StatefulSet, DaemonSet, Job, CronJob),
init containers included:
- resources: CPU and memory requests, a memory limit;
- security context: not root (runAsNonRoot, on the container or its pod, and no
  runAsUser 0), allowPrivilegeEscalation false, readOnlyRootFilesystem true, every
  capability dropped, and a writable emptyDir at /tmp since the root is read-only;
- probes: liveness and readiness on every long-running container (Deployment, StatefulSet,
  DaemonSet); a Job's container runs to completion and is judged by its exit code;
- an image pinned to a tag other than ``latest``.
"""
from tests.k8s.manifests import LONG_RUNNING_KINDS, WORKLOAD_KINDS, pod_spec


def _container_violations(kind: str, pod: dict, container: dict, *, init: bool) -> list[str]:
    problems = []
    resources = container.get("resources") or {}
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    if not resources:
        problems.append("no resources")
    else:
        problems += [f"no {what} request" for what in ("cpu", "memory") if what not in requests]
        if "memory" not in limits:
            problems.append("no memory limit")

    pod_security = pod.get("securityContext") or {}
    security = container.get("securityContext")
    if not security:
        problems.append("no securityContext")
        security = {}
    non_root = security.get("runAsNonRoot", pod_security.get("runAsNonRoot"))
    if non_root is not True:
        problems.append("runAsNonRoot is not true")
    if 0 in (security.get("runAsUser"), pod_security.get("runAsUser")):
        problems.append("runs as user 0")
    if security.get("allowPrivilegeEscalation") is not False:
        problems.append("allowPrivilegeEscalation is not false")
    if security.get("readOnlyRootFilesystem") is not True:
        problems.append("readOnlyRootFilesystem is not true")
    if "ALL" not in ((security.get("capabilities") or {}).get("drop") or []):
        problems.append("capabilities are not all dropped")
    if security.get("privileged"):
        problems.append("privileged")

    empty_dirs = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
    if mounts.get("/tmp") not in empty_dirs:
        problems.append("no emptyDir at /tmp for a read-only root")

    if kind in LONG_RUNNING_KINDS and not init:
        problems += [f"no {probe}" for probe in ("livenessProbe", "readinessProbe")
                     if probe not in container]

    image = container.get("image", "")
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
    if not tag or tag == "latest":
        problems.append(f"image {image!r} is not pinned to a tag")
    return problems


def violations(objects) -> list[str]:
    """One line per broken rule: ``Kind/name container: problem``."""
    found = []
    for obj in objects:
        if obj.get("kind") not in WORKLOAD_KINDS:
            continue
        pod = pod_spec(obj)
        for init, key in ((True, "initContainers"), (False, "containers")):
            for container in pod.get(key) or []:
                where = f"{obj['kind']}/{obj['metadata']['name']} {container.get('name')}"
                found += [f"{where}: {problem}"
                          for problem in _container_violations(obj["kind"], pod, container,
                                                               init=init)]
    return found
