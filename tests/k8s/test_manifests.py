"""k8s/: both overlays build, every object passes its schema, and every container the policy.

No cluster is needed: `kubectl kustomize` builds, kubernetes-validate checks the Kubernetes
kinds against the API's own schemas (strict: no unknown fields), and the operators' kinds
are checked with jsonschema against their CRD schemas kept in k8s/crds/.
"""
import copy
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.k8s.manifests import K8S, OVERLAYS, ROOT, built
from tests.k8s.policy import violations

#: The oldest Kubernetes release the manifests promise to work on.
KUBERNETES_VERSION = "1.29.0"
CRD_KINDS = {("keda.sh/v1alpha1", "ScaledObject"), ("keda.sh/v1alpha1", "TriggerAuthentication"),
             ("rabbitmq.com/v1beta1", "RabbitmqCluster"), ("postgresql.cnpg.io/v1", "Cluster"),
             ("monitoring.coreos.com/v1", "PrometheusRule"),
             ("postgresql.cnpg.io/v1", "ScheduledBackup")}
#: Only production backs PostgreSQL up (tests/k8s/test_backups.py).
PROD_ONLY_KINDS = {("postgresql.cnpg.io/v1", "ScheduledBackup")}


def strict_schema(schema: dict) -> dict:
    """A CRD's structural schema as jsonschema sees it, with the API server's strict field
    validation (kubectl's default): no property the schema does not name."""
    schema = {key: value for key, value in schema.items() if key != "description"}
    preserve = schema.pop("x-kubernetes-preserve-unknown-fields", False)
    if schema.pop("x-kubernetes-int-or-string", False) and "anyOf" not in schema:
        schema["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    for key in [k for k in schema if k.startswith("x-kubernetes-")]:
        del schema[key]
    if "properties" in schema:
        schema["properties"] = {k: strict_schema(v) for k, v in schema["properties"].items()}
        if "additionalProperties" not in schema and not preserve:
            schema["additionalProperties"] = False
    if isinstance(schema.get("additionalProperties"), dict):
        schema["additionalProperties"] = strict_schema(schema["additionalProperties"])
    if "items" in schema:
        schema["items"] = strict_schema(schema["items"])
    if "anyOf" in schema:
        schema["anyOf"] = [strict_schema(s) for s in schema["anyOf"]]
    return schema


def crd_schemas() -> dict[tuple[str, str], dict]:
    schemas = {}
    for path in sorted((K8S / "crds").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        for version in crd["spec"]["versions"]:
            key = (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
            schemas[key] = strict_schema(version["schema"]["openAPIV3Schema"])
    return schemas


def validate_custom(obj: dict) -> None:
    schema = crd_schemas()[(obj["apiVersion"], obj["kind"])]
    jsonschema.Draft4Validator(schema).validate(obj)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_overlay_builds(overlay):
    kinds = {o["kind"] for o in built(overlay)}
    assert {"Deployment", "StatefulSet", "Job", "ScaledObject", "RabbitmqCluster",
            "Cluster", "NetworkPolicy", "PodDisruptionBudget", "Ingress"} <= kinds


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_kubernetes_object_passes_strict_schema_validation(overlay, tmp_path):
    objects = [o for o in built(overlay) if (o["apiVersion"], o["kind"]) not in CRD_KINDS]
    path = tmp_path / f"{overlay}.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "kubernetes-validate"), "--strict",
         "--kubernetes-version", KUBERNETES_VERSION, "--quiet", str(path)],
        capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERROR" not in result.stdout and "WARN" not in result.stdout, result.stdout


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_operator_object_passes_its_crd_schema(overlay):
    custom = [o for o in built(overlay) if (o["apiVersion"], o["kind"]) in CRD_KINDS]
    expected = CRD_KINDS if overlay == "prod" else CRD_KINDS - PROD_ONLY_KINDS
    assert {(o["apiVersion"], o["kind"]) for o in custom} == expected
    for obj in custom:
        validate_custom(obj)


def test_the_crd_check_rejects_an_unknown_or_mistyped_field():
    scaled = copy.deepcopy(next(o for o in built("prod") if o["kind"] == "ScaledObject"))
    scaled["spec"]["minReplicas"] = 1  # the field is minReplicaCount
    with pytest.raises(jsonschema.ValidationError, match="minReplicas"):
        validate_custom(scaled)
    rabbit = copy.deepcopy(next(o for o in built("prod") if o["kind"] == "RabbitmqCluster"))
    rabbit["spec"]["service"] = {"type": "ExternalName"}  # not in the operator's enum
    with pytest.raises(jsonschema.ValidationError, match="ExternalName"):
        validate_custom(rabbit)
    rules = copy.deepcopy(next(o for o in built("prod") if o["kind"] == "PrometheusRule"))
    rules["spec"]["groups"][0]["rules"][0]["duration"] = "5m"  # the field is `for`
    with pytest.raises(jsonschema.ValidationError, match="duration"):
        validate_custom(rules)
    rules = copy.deepcopy(next(o for o in built("prod") if o["kind"] == "PrometheusRule"))
    rules["spec"]["groups"][0]["rules"][0]["for"] = "5 minutes"
    with pytest.raises(jsonschema.ValidationError, match="5 minutes"):
        validate_custom(rules)


def test_every_crd_schema_names_its_source():
    for path in (K8S / "crds").glob("*.yaml"):
        header = path.read_text().split("apiVersion:", 1)[0]
        assert "Source: github.com/" in header and "at commit " in header, path.name


def test_yamllint_passes():
    files = [str(p.relative_to(ROOT)) for p in K8S.rglob("*.yaml")]
    files.append("rabbitmq/kustomization.yaml")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "yamllint"), "--strict", "-c",
         "k8s/.yamllint.yaml", *files], cwd=ROOT, capture_output=True, text=True, timeout=120,
        check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_meets_the_policy(overlay):
    assert violations(built(overlay)) == []


def _worker(overlay="prod") -> dict:
    return copy.deepcopy(next(o for o in built(overlay)
                              if o["metadata"]["name"] == "worker-priority"))


def test_the_policy_fails_a_container_without_resources():
    worker = _worker()
    del worker["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert violations([worker]) == ["Deployment/worker-priority worker: no resources"]


def test_the_policy_fails_a_container_without_probes_or_security_context():
    worker = _worker()
    container = worker["spec"]["template"]["spec"]["containers"][0]
    del container["livenessProbe"], container["securityContext"]
    worker["spec"]["template"]["spec"]["securityContext"].pop("runAsNonRoot")
    found = violations([worker])
    assert "Deployment/worker-priority worker: no livenessProbe" in found
    assert "Deployment/worker-priority worker: no securityContext" in found
    assert "Deployment/worker-priority worker: runAsNonRoot is not true" in found
    assert "Deployment/worker-priority worker: readOnlyRootFilesystem is not true" in found


def test_the_policy_fails_a_writable_root_or_a_latest_image():
    worker = _worker()
    container = worker["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"]["readOnlyRootFilesystem"] = False
    container["image"] = "registry.clinic.example/patient-notifier:latest"
    assert violations([worker]) == [
        "Deployment/worker-priority worker: readOnlyRootFilesystem is not true",
        ("Deployment/worker-priority worker: image "
         "'registry.clinic.example/patient-notifier:latest' is not pinned to a tag")]
