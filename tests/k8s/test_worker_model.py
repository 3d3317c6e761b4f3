"""The worker model in the deployment: every worker starts through ``web.worker_model``, the
base runs threads, and k8s/components/gevent-workers moves the SMS and e-mail workers to
gevent with a pool sized for it, on either overlay, passing every check the overlays pass."""
import os
import re

import pytest
import yaml

from actors.broker import QUEUES
from tests.k8s.manifests import (
    K8S,
    OVERLAYS,
    built,
    container_env,
    kustomize,
    of_kind,
    pod_spec,
    procfile,
)
from tests.k8s.policy import violations
from tests.k8s.test_manifests import CRD_KINDS, validate_custom
from web.config import settings_from_env

GEVENT = K8S / "components" / "gevent-workers"
ON_GEVENT = {"worker-sms", "worker-email"}


def with_gevent_workers(overlay: str, tmp_path) -> tuple[dict, ...]:
    """``overlay`` with the component the operations guide adds for gevent workers."""
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": [os.path.relpath(K8S / "overlays" / overlay, tmp_path)],
        "components": [os.path.relpath(GEVENT, tmp_path)]}))
    return tuple(doc for doc in yaml.safe_load_all(kustomize(tmp_path)) if doc)


def worker_settings(objects) -> dict[str, dict]:
    """Each worker Deployment's settings as web/config.py parses them from its environment,
    and the --threads its command line expands to."""
    config_maps = of_kind(objects, "ConfigMap")
    found = {}
    for queue in QUEUES:
        name = f"worker-{queue}"
        container = pod_spec(of_kind(objects, "Deployment")[name])["containers"][0]
        env = container_env(container, config_maps)
        args = [re.sub(r"\$\((\w+)\)", lambda m, env=env: env[m.group(1)], arg)
                for arg in container["args"]]
        found[name] = {**settings_from_env({k: v for k, v in env.items()
                                            if not v.startswith("<from")}),
                       "threads": int(args[args.index("--threads") + 1]),
                       "processes": int(args[args.index("--processes") + 1]),
                       "first variable": container["env"][0]["name"]}
    return found


def test_every_procfile_worker_starts_through_the_worker_model_launcher():
    workers = {name: command for name, command in procfile().items()
               if name.startswith("worker-")}
    assert set(workers) == {f"worker-{queue}" for queue in QUEUES}
    for name, command in workers.items():
        assert command[:4] == ["python", "-m", "web.worker_model", "web.worker"], name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_overlays_run_every_worker_on_threads(overlay):
    for name, settings in worker_settings(built(overlay)).items():
        assert settings["WORKER_MODEL"] == "threads", name
        assert settings["threads"] == 8, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_gevent_component_moves_sms_and_email_to_gevent_with_a_pool_for_it(
        overlay, tmp_path):
    objects = with_gevent_workers(overlay, tmp_path)
    before = worker_settings(built(overlay))
    after = worker_settings(objects)
    for name, settings in after.items():
        if name not in ON_GEVENT:
            assert settings == before[name], name  # priority and default keep threads
            continue
        assert settings["WORKER_MODEL"] == "gevent", name
        assert settings["threads"] == 150, name
        # Greenlets wait for a pooled connection; none is opened past the pool.
        assert settings["DATABASE_POOL_SIZE"] == 20 and settings["DATABASE_MAX_OVERFLOW"] == 0
        assert settings["PROVIDER_HTTP_CONNECTIONS"] >= settings["threads"], name
        assert settings["first variable"] == "DATABASE_URL", name  # restore/use-restored


def test_gevent_workers_at_their_maximum_hold_no_more_connections_than_threads_did(tmp_path):
    """PostgreSQL's max_connections was sized for threads: KEDA's most gevent pods, each
    with a full pool, must fit in what the most threaded pods could hold at once. (Prod:
    the component is for real providers; dev's console channels answer at once.)"""
    overlay = "prod"
    objects = with_gevent_workers(overlay, tmp_path)
    scaled_before = of_kind(built(overlay), "ScaledObject")
    scaled_after = of_kind(objects, "ScaledObject")
    threads, gevent = worker_settings(built(overlay)), worker_settings(objects)
    for name in ON_GEVENT:
        was = scaled_before[name]["spec"]["maxReplicaCount"] * threads[name]["processes"] * \
            threads[name]["threads"]
        now = scaled_after[name]["spec"]["maxReplicaCount"] * gevent[name]["processes"] * \
            gevent[name]["DATABASE_POOL_SIZE"]
        assert now <= was, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_gevent_workers_pass_the_policy_and_the_operator_schemas(overlay, tmp_path):
    objects = with_gevent_workers(overlay, tmp_path)
    assert violations(objects) == []
    for obj in objects:
        if (obj["apiVersion"], obj["kind"]) in CRD_KINDS:
            validate_custom(obj)
