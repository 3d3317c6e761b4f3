"""rabbitmq/: the broker settings fit the actors, and the definitions work in a real RabbitMQ."""
import json
import subprocess
import time
import uuid
from pathlib import Path

import dramatiq
import pika
import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.middleware import TimeLimit

from actors.broker import QUEUES
from tests.services import PG_ADMIN_URL, amqp_connect
from web import create_app
from web.config import SETTINGS

RABBITMQ = Path(__file__).resolve().parents[2] / "rabbitmq"


def rabbitmq_conf() -> dict[str, str]:
    settings = {}
    for line in (RABBITMQ / "rabbitmq.conf").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, value = (part.strip() for part in line.split("=", 1))
            settings[key] = value
    return settings


def longest_time_limit_ms() -> tuple[float, str]:
    """The longest time limit any actor the workers run can take, and whose it is."""
    # Actors are declared without a connection, so the URL is never dialled.
    app = create_app({"BROKER_URL": None, "DATABASE_URL": PG_ADMIN_URL})
    broker = app.extensions["dramatiq"]
    default = next(m.time_limit for m in broker.middleware if isinstance(m, TimeLimit))
    limits = {name: actor.options.get("time_limit", default)
              for name, actor in broker.actors.items()}
    name = max(limits, key=limits.get)
    return limits[name], name


def test_consumer_timeout_outlives_every_actor_time_limit():
    limit, actor_name = longest_time_limit_ms()
    assert int(rabbitmq_conf()["consumer_timeout"]) > limit, actor_name


def test_heartbeat_matches_the_clients_and_alarms_are_set():
    conf = rabbitmq_conf()
    client_default = next(s.default for s in SETTINGS if s.name == "BROKER_HEARTBEAT_SECONDS")
    assert int(conf["heartbeat"]) == client_default
    assert 0 < float(conf["vm_memory_high_watermark.relative"]) < 1
    assert conf["disk_free_limit.absolute"].endswith("GB")


def test_the_conf_fits_the_operators_additional_config_field():
    # RabbitmqCluster.spec.rabbitmq.additionalConfig has maxLength 2000 (k8s/crds/).
    assert len((RABBITMQ / "rabbitmq.conf").read_text()) <= 2000


def test_management_and_prometheus_plugins_are_enabled():
    text = (RABBITMQ / "enabled_plugins").read_text().strip()
    assert text.endswith(".")
    plugins = {p.strip() for p in text.rstrip(".").strip("[]").split(",")}
    assert {"rabbitmq_management", "rabbitmq_prometheus"} <= plugins


def rabbitmqctl(*args: str) -> str:
    return subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True,
                          text=True, timeout=60).stdout


@pytest.fixture
def imported_definitions():
    """definitions.json imported as-is, under a vhost and user name unique to this run."""
    suffix = uuid.uuid4().hex[:8]
    vhost, user = f"pn-defs-{suffix}", f"pn-app-{suffix}"
    text = (RABBITMQ / "definitions.json").read_text()
    definitions = json.loads(text.replace('"patient-notifier"', json.dumps(vhost)))
    for entry in definitions["users"]:
        entry["name"] = user
    for entry in definitions["permissions"]:
        entry["user"] = user
    path = Path(f"/tmp/{vhost}.json")
    path.write_text(json.dumps(definitions))
    try:
        rabbitmqctl("import_definitions", str(path))
        give_up = time.monotonic() + 30  # the import is asynchronous
        while user not in rabbitmqctl("list_permissions", "-p", vhost, "--no-table-headers"):
            if time.monotonic() > give_up:  # a hang, not a speed check
                raise TimeoutError("RabbitMQ never imported the definitions")
            time.sleep(0.2)
        # What the rabbitmq-app-user Job does in Kubernetes: give the user its password.
        rabbitmqctl("change_password", user, "app-password")
        yield vhost, user
    finally:
        path.unlink(missing_ok=True)
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True,
                       check=False)
        subprocess.run(["rabbitmqctl", "-q", "delete_user", user], capture_output=True,
                       check=False)


def test_the_app_user_can_run_dramatiq_on_every_queue_and_nothing_else(imported_definitions):
    vhost, user = imported_definitions
    url = f"amqp://{user}:app-password@127.0.0.1:5672/{vhost}"
    broker = RabbitmqBroker(url=url, confirm_delivery=True)
    try:
        for queue in QUEUES:
            ping = dramatiq.actor(lambda: None, broker=broker, actor_name=f"ping_{queue}",
                                  queue_name=queue)
            ping.send()  # declares queue, .DQ and .XQ, publishes through amq.default
            consumer = broker.consume(queue, prefetch=1, timeout=5000)
            message = next(consumer)
            assert message is not None and message.actor_name == f"ping_{queue}"
            consumer.ack(message)
            consumer.close()
    finally:
        broker.close()

    queues = rabbitmqctl("list_queues", "-p", vhost, "name", "policy", "--no-table-headers")
    policies = dict(line.split() if len(line.split()) == 2 else (line.strip(), "")
                    for line in queues.splitlines() if line.strip())
    for queue in QUEUES:
        assert policies[f"{queue}.XQ"] == "dead-letters-bounded"
        assert policies[queue] == ""

    connection = amqp_connect(url)
    try:
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
            connection.channel().queue_declare("not-ours", durable=True)
        assert refused.value.reply_code == 403
    finally:
        connection.close()


def test_the_app_user_has_no_management_tags(imported_definitions):
    _vhost, user = imported_definitions
    users = rabbitmqctl("list_users", "--no-table-headers")
    line = next(line for line in users.splitlines() if line.startswith(user))
    assert line.split(None, 1)[1].strip() == "[]"
