"""PostgreSQL backups (prod overlay) and the restore manifest (k8s/restore/), offline.

The operator's own checks need a cluster; here every object passes its CRD schema
(tests/k8s/test_manifests.py), and the restore reads exactly the archive prod writes.
"""
import copy
import os
import re
from datetime import datetime

import jsonschema
import pytest
import yaml

from tests.k8s.manifests import K8S, ROOT, built, kustomize, of_kind
from tests.k8s.test_manifests import validate_custom


class _KubernetesLoader(yaml.SafeLoader):
    """YAML as the API server reads it: kustomize prints the target time unquoted, and JSON
    has no timestamps, so it stays a string (PyYAML alone would make it a datetime)."""


_KubernetesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def _restore() -> dict:
    objects = [doc for doc in yaml.load_all(kustomize(K8S / "restore"), Loader=_KubernetesLoader)
               if doc]
    assert [o["kind"] for o in objects] == ["Cluster"]
    return objects[0]


def _prod_cluster() -> dict:
    return of_kind(built("prod"), "Cluster")["postgres"]


def test_prod_archives_wal_and_keeps_30_days_of_backups():
    backup = _prod_cluster()["spec"]["backup"]
    store = backup["barmanObjectStore"]
    assert store["destinationPath"].startswith("s3://")
    assert store["endpointURL"].startswith("https://")  # any S3-compatible service
    assert store["serverName"] == "postgres"
    assert store["wal"]["compression"] and store["data"]["compression"]
    assert store["wal"]["encryption"] == store["data"]["encryption"] == "AES256"
    credentials = store["s3Credentials"]
    assert credentials["accessKeyId"]["name"] == credentials["secretAccessKey"]["name"] \
        == "postgres-backup-s3"
    assert backup["retentionPolicy"] == "30d"
    guide = (ROOT / "docs" / "operations.md").read_text()
    assert "30 days" in guide and "postgres-backup-s3" in guide


def test_prod_takes_a_nightly_base_backup_of_its_cluster():
    scheduled = of_kind(built("prod"), "ScheduledBackup")
    assert list(scheduled) == ["postgres-nightly"]
    spec = scheduled["postgres-nightly"]["spec"]
    assert spec["cluster"]["name"] == _prod_cluster()["metadata"]["name"]
    assert spec["method"] == "barmanObjectStore"
    # CloudNativePG's cron has six fields, seconds first; five would be read shifted.
    assert len(spec["schedule"].split()) == 6
    assert spec["immediate"] is True
    assert scheduled["postgres-nightly"]["metadata"]["namespace"] == "patient-notifier"


def test_dev_has_no_backups():
    assert "backup" not in of_kind(built("dev"), "Cluster")["postgres"]["spec"]
    assert of_kind(built("dev"), "ScheduledBackup") == {}


def test_the_restore_manifest_passes_its_schema_and_reads_the_prod_archive():
    restore = _restore()
    validate_custom(restore)
    assert restore["metadata"]["namespace"] == "patient-notifier"
    assert restore["metadata"]["name"] != "postgres"  # a new cluster beside the old one
    recovery = restore["spec"]["bootstrap"]["recovery"]
    sources = {c["name"]: c for c in restore["spec"]["externalClusters"]}
    source = sources[recovery["source"]]["barmanObjectStore"]
    prod = _prod_cluster()["spec"]["backup"]["barmanObjectStore"]
    for key in ("destinationPath", "endpointURL", "serverName", "s3Credentials"):
        assert source[key] == prod[key], key
    assert (recovery["database"], recovery["owner"]) == ("app", "app")
    # PostgreSQL reads this as a timestamp with time zone; a naive time would be local.
    target = recovery["recoveryTarget"]["targetTime"]
    assert datetime.strptime(target, "%Y-%m-%d %H:%M:%S.%f%z").tzinfo is not None
    # The restored cluster archives its own WAL elsewhere: the prod archive stays intact.
    own = restore["spec"]["backup"]["barmanObjectStore"]
    assert own["serverName"] != prod["serverName"]
    assert restore["spec"]["storage"]["size"] == _prod_cluster()["spec"]["storage"]["size"]


def test_the_guide_restores_with_this_manifest():
    guide = (ROOT / "docs" / "operations.md").read_text()
    section = guide.split("### Restore to a new cluster", 1)[1].split("\n## ", 1)[0]
    assert "kubectl kustomize k8s/restore" in section and "targetTime" in section
    assert "postgres-restore" in section


def test_the_schema_check_rejects_mistyped_backup_fields():
    cluster = copy.deepcopy(_prod_cluster())
    cluster["spec"]["backup"]["retentionPolicy"] = "30 days"
    with pytest.raises(jsonschema.ValidationError, match="30 days"):
        validate_custom(cluster)
    cluster = copy.deepcopy(_prod_cluster())
    cluster["spec"]["backup"]["barmanObjectStore"]["wal"]["compression"] = "zip"
    with pytest.raises(jsonschema.ValidationError, match="zip"):
        validate_custom(cluster)
    restore = _restore()
    restore["spec"]["bootstrap"]["recovery"]["recoveryTarget"]["targetTimestamp"] = "x"
    with pytest.raises(jsonschema.ValidationError, match="targetTimestamp"):
        validate_custom(restore)
    scheduled = copy.deepcopy(of_kind(built("prod"), "ScheduledBackup")["postgres-nightly"])
    del scheduled["spec"]["schedule"]
    with pytest.raises(jsonschema.ValidationError, match="schedule"):
        validate_custom(scheduled)


def test_no_backup_manifest_names_a_credential_value():
    """Keys are referenced by Secret name; nothing that looks like a key is committed."""
    for path in [*(K8S / "overlays" / "prod").glob("*.yaml"), *(K8S / "restore").glob("*.yaml")]:
        assert not re.search(r"AKIA[0-9A-Z]{16}", path.read_text()), path.name


def _with_restored_cluster(tmp_path) -> tuple[dict, ...]:
    """The prod overlay with the component the guide adds to serve from postgres-restore."""
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": [os.path.relpath(K8S / "overlays" / "prod", tmp_path)],
        "components": [os.path.relpath(K8S / "restore" / "use-restored", tmp_path)]}))
    return tuple(doc for doc in yaml.safe_load_all(kustomize(tmp_path)) if doc)


def _database_secrets(objects) -> dict[str, str]:
    found = {}
    for obj in objects:
        if obj["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        for container in obj["spec"]["template"]["spec"]["containers"]:
            for var in container.get("env", []):
                if var["name"] == "DATABASE_URL":
                    found[obj["metadata"]["name"]] = var["valueFrom"]["secretKeyRef"]["name"]
    return found


def test_serving_from_the_restored_cluster_switches_every_workload_and_lets_them_in(tmp_path):
    before = _database_secrets(built("prod"))
    assert set(before.values()) == {"postgres-app"} and len(before) >= 7
    switched = _with_restored_cluster(tmp_path)
    assert _database_secrets(switched) == dict.fromkeys(before, "postgres-restore-app")
    policies = of_kind(switched, "NetworkPolicy")
    # The same rules the base gives the prod cluster, for the restored one.
    expected = yaml.safe_load(yaml.safe_dump(policies["postgres"]["spec"]).replace(
        "cnpg.io/cluster: postgres\n", "cnpg.io/cluster: postgres-restore\n"))
    assert policies["postgres-restore"]["spec"] == expected
