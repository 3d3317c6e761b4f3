"""What the manifests promise about the processes: the Procfile's commands, KEDA scaling,
shutdown and liveness, settings and secrets, and the operators' clusters."""
import re

import pytest

from actors.broker import QUEUES
from tests.k8s.manifests import (
    OVERLAYS,
    ROOT,
    base,
    built,
    container_env,
    of_kind,
    pod_spec,
    procfile,
    procfile_defaults,
)
from web.config import SETTINGS

SETTING_NAMES = {s.name for s in SETTINGS}


def long_running(objects) -> dict[str, dict]:
    return {**of_kind(objects, "Deployment"), **of_kind(objects, "StatefulSet")}


def test_every_procfile_process_has_its_workload_in_the_base_with_the_same_command():
    workloads = long_running(base())
    for process, command in procfile().items():
        assert process in workloads, f"no Deployment or StatefulSet for {process}"
        container = pod_spec(workloads[process])["containers"][0]
        # args, not command: the image's entry point (tini) stays PID 1.
        assert "command" not in container, process
        assert container["args"] == command, process
    assert workloads["scheduler"]["kind"] == "StatefulSet"
    assert workloads["scheduler"]["spec"]["replicas"] == 1


def test_every_variable_a_command_uses_is_defined_like_the_procfile_default():
    objects = base()
    config_maps = of_kind(objects, "ConfigMap")
    defaults = procfile_defaults()
    for name, workload in long_running(objects).items():
        container = pod_spec(workload)["containers"][0]
        env = container_env(container, config_maps)
        for variable in re.findall(r"\$\((\w+)\)", " ".join(container["args"])):
            assert variable in env, f"{name}: $({variable}) is not defined"
            assert env[variable] == defaults[variable], f"{name}: {variable}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_queue_has_a_keda_scaled_deployment_without_replicas(overlay):
    objects = built(overlay)
    deployments, scaled = of_kind(objects, "Deployment"), of_kind(objects, "ScaledObject")
    auth = of_kind(objects, "TriggerAuthentication")
    assert set(scaled) == {f"worker-{queue}" for queue in QUEUES}
    for queue in QUEUES:
        name = f"worker-{queue}"
        assert "replicas" not in deployments[name]["spec"], name
        spec = scaled[name]["spec"]
        assert spec["scaleTargetRef"]["name"] == name
        assert spec["minReplicaCount"] >= (2 if queue == "priority" else 1)
        assert spec["maxReplicaCount"] >= spec["minReplicaCount"]
        [trigger] = spec["triggers"]
        assert trigger["type"] == "rabbitmq"
        assert trigger["metadata"]["queueName"] == queue  # never .DQ or .XQ
        assert trigger["authenticationRef"]["name"] in auth
        args = pod_spec(deployments[name])["containers"][0]["args"]
        assert args[args.index("--queues") + 1] == queue


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_workers_get_longer_to_stop_than_dramatiq_waits_for_them(overlay):
    objects = built(overlay)
    config_maps = of_kind(objects, "ConfigMap")
    for queue in QUEUES:
        pod = pod_spec(of_kind(objects, "Deployment")[f"worker-{queue}"])
        container = pod["containers"][0]
        args = container["args"]
        assert args[args.index("--worker-shutdown-timeout") + 1] == "$(WORKER_SHUTDOWN_TIMEOUT_MS)"
        shutdown_ms = int(container_env(container, config_maps)["WORKER_SHUTDOWN_TIMEOUT_MS"])
        assert pod["terminationGracePeriodSeconds"] * 1000 > shutdown_ms, queue
        # and Dramatiq's own wait covers a send in flight (actors.delivery.TIME_LIMIT_MS).
        from actors.delivery import TIME_LIMIT_MS
        assert shutdown_ms > TIME_LIMIT_MS


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_worker_and_scheduler_liveness_reads_the_heartbeat_file_they_write(overlay):
    objects = built(overlay)
    config_maps = of_kind(objects, "ConfigMap")
    for name, workload in long_running(objects).items():
        if name == "web":
            continue
        pod = pod_spec(workload)
        container = pod["containers"][0]
        env = container_env(container, config_maps)
        probe = container["livenessProbe"]["exec"]["command"]
        assert probe[:4] == ["python", "-m", "actors.heartbeat", "check"], name
        path = probe[probe.index("--file") + 1]
        assert env["WORKER_HEARTBEAT_FILE"] == path, name
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        directory = path.rsplit("/", 1)[0]
        assert directory in mounts, f"{name}: {directory} is not a writable volume"
        assert "emptyDir" in next(v for v in pod["volumes"] if v["name"] == mounts[directory])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_web_probes_are_readyz_and_healthz(overlay):
    container = pod_spec(of_kind(built(overlay), "Deployment")["web"])["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_the_settings_config_map_holds_only_known_names():
    [settings] = [c for name, c in of_kind(base(), "ConfigMap").items()
                  if name.startswith("patient-notifier-settings")]
    procfile_variables = set(procfile_defaults())
    unknown = set(settings["data"]) - SETTING_NAMES - procfile_variables
    assert not unknown, f"not in web/config.py nor the Procfile: {sorted(unknown)}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_referenced_never_committed(overlay):
    objects = built(overlay)
    assert not of_kind(objects, "Secret")
    secret_settings = {"WEBHOOK_SECRET", "WEBHOOK_SECRET_PREVIOUS", "TWILIO_AUTH_TOKEN",
                       "SMTP_PASSWORD", "SECRET_KEY", "SECURITY_PASSWORD_SALT",
                       "UPSTREAM_API_TOKEN", "SENTRY_DSN", "DATABASE_URL", "BROKER_URL"}
    for config_map in of_kind(objects, "ConfigMap").values():
        assert not secret_settings & set(config_map.get("data", {}))
    for workload in long_running(objects).values():
        container = pod_spec(workload)["containers"][0]
        sources = {v["name"]: v.get("valueFrom", {}) for v in container["env"]}
        # DATABASE_URL from the Secret CloudNativePG creates for its "app" user.
        assert sources["DATABASE_URL"]["secretKeyRef"] == {"name": "postgres-app", "key": "uri"}
        assert sources["BROKER_URL"]["secretKeyRef"]["name"] == "rabbitmq-app-user"
        assert {"secretRef": {"name": "patient-notifier"}} in container["envFrom"]


def test_prod_runs_three_rabbitmq_nodes_and_three_postgres_instances():
    objects = built("prod")
    [rabbit] = of_kind(objects, "RabbitmqCluster").values()
    [postgres] = of_kind(objects, "Cluster").values()
    assert rabbit["spec"]["replicas"] == 3
    assert postgres["spec"]["instances"] == 3
    assert of_kind(objects, "PodDisruptionBudget")["rabbitmq"]["spec"]["maxUnavailable"] == 1


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rabbitmq_gets_the_repositorys_conf_and_definitions(overlay):
    objects = built(overlay)
    [rabbit] = of_kind(objects, "RabbitmqCluster").values()
    conf = (ROOT / "rabbitmq" / "rabbitmq.conf").read_text()
    assert rabbit["spec"]["rabbitmq"]["additionalConfig"] == conf
    pod = rabbit["spec"]["override"]["statefulSet"]["spec"]["template"]["spec"]
    [volume] = pod["volumes"]
    config_map = of_kind(objects, "ConfigMap")[volume["configMap"]["name"]]
    assert config_map["data"]["definitions.json"] == \
        (ROOT / "rabbitmq" / "definitions.json").read_text()
    mount = pod["containers"][0]["volumeMounts"][0]
    assert f"{mount['mountPath']}/definitions.json" in conf
    # The operator always enables management, prometheus and peer discovery.
    plugins = (ROOT / "rabbitmq" / "enabled_plugins").read_text().strip(" .[]\n").split(",")
    essential = {"rabbitmq_management", "rabbitmq_prometheus", "rabbitmq_peer_discovery_k8s"}
    assert set(plugins) <= essential | set(rabbit["spec"]["rabbitmq"].get("additionalPlugins", []))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_workload_has_a_disruption_budget(overlay):
    objects = built(overlay)
    budgets = of_kind(objects, "PodDisruptionBudget").values()
    for name, workload in long_running(objects).items():
        labels = workload["spec"]["template"]["metadata"]["labels"]
        matching = [b for b in budgets
                    if b["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        assert matching, f"no PodDisruptionBudget for {name}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_deny_by_default_and_open_web_only_to_the_ingress(overlay):
    policies = of_kind(built(overlay), "NetworkPolicy")
    assert policies["default-deny-ingress"]["spec"] == {"podSelector": {},
                                                        "policyTypes": ["Ingress"]}
    sources = [peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
               for rule in policies["web"]["spec"]["ingress"] for peer in rule["from"]]
    assert sources == ["ingress-nginx", "monitoring"]
    amqp_rule = policies["rabbitmq"]["spec"]["ingress"][0]
    assert amqp_rule["ports"] == [{"port": 5672}]
    postgres_rule = policies["postgres"]["spec"]["ingress"][0]
    assert postgres_rule == {"from": [{"podSelector": {"matchLabels": {
        "app.kubernetes.io/name": "patient-notifier"}}}], "ports": [{"port": 5432}]}


def test_jobs_that_run_before_the_rollout_are_marked_for_the_deploy_order():
    jobs = of_kind(built("prod"), "Job")
    assert set(jobs) == {"migrate", "rabbitmq-app-user"}
    for job in jobs.values():
        assert job["metadata"]["labels"]["patient-notifier/deploy-step"] == "before-rollout"
    assert pod_spec(jobs["migrate"])["containers"][0]["args"] == \
        ["flask", "--app", "web", "db", "upgrade"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_deploy_steps_select_config_infrastructure_and_jobs(overlay):
    """docs/operations.md applies by these labels: config and infrastructure, then the
    before-rollout Jobs, then everything."""
    step = {(o["kind"], o["metadata"]["name"]):
            o["metadata"].get("labels", {}).get("patient-notifier/deploy-step")
            for o in built(overlay)}
    for (kind, name), value in step.items():
        if kind == "ConfigMap":
            assert value == "config", name
        elif kind in ("Namespace", "RabbitmqCluster", "Cluster"):
            assert value == "infrastructure", name
        elif kind == "Job":
            assert value == "before-rollout", name
        elif kind in ("Deployment", "StatefulSet", "ScaledObject"):
            assert value is None, name
