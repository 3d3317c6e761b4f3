"""The image built with podman and every Procfile process run in it, as the pods run them.

The build is .ci/build-image (a base made from Debian packages, since no registry is
reachable; podman's layer cache makes a rebuild of unchanged sources a few seconds). Then,
on the host network, against this machine's PostgreSQL and RabbitMQ on 127.0.0.1 (a
throw-away database and vhost) and the fake Twilio and SMTP sink of the suite: the image's
migration, web's /healthz and /readyz, each worker consuming its queue with a fresh
heartbeat (the liveness probe's own command), a change notice from web through RabbitMQ and
worker-priority to Twilio and its receipt back through web, the scheduler holding its lock,
and each process ending cleanly on SIGTERM (what a rollout sends). worker-sms and
worker-email run on gevent with k8s/components/gevent-workers' settings, as that component
runs them; the other workers on threads, the default.
"""
import os
import shutil
import socket
import subprocess
import time
from contextlib import closing
from pathlib import Path

import pytest
import requests
import yaml

from tests import services
from tests.conftest import TEST_SECRET, base_config
from tests.factories import PATIENT, appointment, moved
from tests.services import pg_connect, queue_counts, wait_until
from web.sample_event import signed_request

ROOT = Path(__file__).resolve().parents[2]
PODMAN = str(ROOT / ".ci" / "podman")
IMAGE = os.environ.get("IMAGE_TAG", "localhost/patient-notifier:ci")
SCHEDULER_LOCK_ID = 0x7363686564_6C72  # scheduler/lock.py
HEARTBEAT = "/tmp/heartbeat"

pytestmark = [pytest.mark.image]


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def podman(*args, timeout=120, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run([PODMAN, *args], check=False, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode:
        raise AssertionError(f"podman {args[0]} failed ({result.returncode}):"
                             f" {result.stderr[-2000:]}")
    return result


def gevent_settings() -> dict[str, str]:
    """The variables k8s/components/gevent-workers gives the SMS and e-mail workers."""
    component = yaml.safe_load((ROOT / "k8s" / "components" / "gevent-workers" /
                                "kustomization.yaml").read_text())
    operations = yaml.safe_load(component["patches"][0]["patch"])
    return {op["value"]["name"]: op["value"]["value"] for op in operations
            if op["op"] == "add" and op["path"].endswith("/env/-")}


ON_GEVENT = ("worker-sms", "worker-email")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def image():
    if shutil.which("debootstrap") is None and podman("image", "exists", IMAGE,
                                                      check=False).returncode:
        pytest.fail("debootstrap is not installed, and it makes the image's base"
                    " (.ci/run installs it)")
    if shutil.which("podman") is None:  # a missing engine is a failure, never a quiet skip
        pytest.fail("podman is not installed (.ci/run installs it): the image cannot be built")
    started = time.monotonic()
    build = subprocess.run([str(ROOT / ".ci" / "build-image"), IMAGE], cwd=ROOT, check=False,
                           capture_output=True, text=True, timeout=1800)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    print(f"\n{build.stdout.strip()}\n(.ci/build-image took {time.monotonic() - started:.0f}s)")
    return IMAGE


@pytest.fixture
def services_on_loopback(fake_providers):
    database = services.unique_name("pn_image")
    vhost = services.unique_name("pn_image")
    database_url = services.create_database(database)
    broker_url = services.create_vhost(vhost)
    yield database_url, broker_url
    services.drop_database(database)
    services.delete_vhost(vhost)


class Containers:
    """The processes of one smoke run, each a container named after its Procfile entry."""

    def __init__(self, image: str, env_file: Path):
        self.image, self.env_file = image, env_file
        self.prefix = f"pn-smoke-{os.getpid()}"
        self.names: dict[str, str] = {}

    def run(self, *command: str, timeout=300) -> subprocess.CompletedProcess:
        return podman("run", "--rm", "--network=host", "--env-file", str(self.env_file),
                      self.image, *command, timeout=timeout, check=False)

    def start(self, process: str, command: str, **env) -> None:
        name = f"{self.prefix}-{process}"
        extra = [f"--env={key}={value}" for key, value in env.items()]
        # sh -c, as honcho runs a Procfile line (its ${PORT:-8000} defaults); exec, so that
        # tini's SIGTERM reaches the process itself and not a shell.
        podman("run", "--detach", "--name", name, "--network=host",
               "--env-file", str(self.env_file), *extra, self.image, "sh", "-c", f"exec {command}")
        self.names[process] = name

    def running(self, process: str) -> bool:
        state = podman("inspect", "--format", "{{.State.Running}}", self.names[process],
                       check=False)
        return state.stdout.strip() == "true"

    def logs(self, process: str, tail: str = "40") -> str:
        """The last ``tail`` lines of its log (``-1``: all of it), as podman keeps them."""
        text = podman("logs", "--tail", tail, self.names[process], check=False).stderr
        return text if tail == "-1" else text[-4000:]

    def probe(self, process: str) -> subprocess.CompletedProcess:
        return podman("exec", self.names[process], "python", "-m", "actors.heartbeat", "check",
                      "--file", HEARTBEAT, "--max-age", "60", check=False)

    def stop(self, process: str) -> tuple[int, float]:
        started = time.monotonic()
        podman("stop", "--time", "90", self.names[process], timeout=150)
        code = podman("inspect", "--format", "{{.State.ExitCode}}", self.names[process])
        return int(code.stdout.strip()), time.monotonic() - started

    def remove_all(self) -> None:
        for name in self.names.values():
            podman("rm", "--force", "--time", "5", name, check=False)


def env_file_for(path: Path, database_url, broker_url, twilio, smtp) -> Path:
    config = base_config(database_url, twilio, smtp, BROKER_URL=broker_url,
                         LOG_LEVEL="INFO", WORKER_HEARTBEAT_FILE=HEARTBEAT)
    path.write_text("".join(f"{key}={value}\n" for key, value in config.items()
                            if value is not None))
    return path


def post_event(web_url: str, event_type: str, appt: dict) -> requests.Response:
    body, headers = signed_request(TEST_SECRET, {"type": event_type, "appointment": appt})
    return requests.post(f"{web_url}/api/v1/appointment-events", data=body,
                         headers={**headers, "Content-Type": "application/json"}, timeout=30)


def test_every_procfile_process_runs_in_the_image(image, services_on_loopback, fake_providers,
                                                   tmp_path):
    database_url, broker_url = services_on_loopback
    twilio, smtp = fake_providers
    containers = Containers(image, env_file_for(tmp_path / "env", database_url, broker_url,
                                                twilio, smtp))
    processes = procfile()
    assert set(processes) == {"web", "worker-priority", "worker-sms", "worker-email",
                              "worker-default", "scheduler"}
    timings = {}
    started = time.monotonic()
    try:
        migrate = containers.run("flask", "--app", "web", "db", "upgrade")
        assert migrate.returncode == 0, migrate.stderr[-3000:]
        assert _query(database_url, "SELECT version_num FROM alembic_version")
        timings["migrate"] = time.monotonic() - started

        port = free_port()
        web_url = f"http://127.0.0.1:{port}"
        gevent = gevent_settings()
        assert gevent["WORKER_MODEL"] == "gevent"
        for process, command in processes.items():
            # The host network is shared: each worker's metrics server needs a port of its own.
            containers.start(process, command, PORT=port, WORKER_METRICS_PORT=free_port(),
                             **(gevent if process in ON_GEVENT else {}))
        # Twilio's receipt, POSTed to web in the image (signed, as Twilio signs it).
        twilio.callback_rewrite = ("https://notify.clinic.example", web_url)
        twilio.receipt_first = "delivered"

        def answers(path):
            # gunicorn's master listens before its workers have loaded the app: a request
            # may wait, or be refused, until one has.
            try:
                return requests.get(web_url + path, timeout=10).status_code == 200
            except requests.RequestException:
                return False
        wait_until(lambda: answers("/healthz"), timeout=120, what="web's /healthz")
        assert requests.get(web_url + "/readyz", timeout=10).json()["status"] == "ok"
        timings["web ready"] = time.monotonic() - started

        for process in processes:
            if not process.startswith("worker-"):
                continue
            queue = process.removeprefix("worker-")
            wait_until(lambda q=queue: _consumers(broker_url, q), timeout=120,
                       what=f"{process} consuming {queue}")
            assert containers.probe(process).returncode == 0, containers.logs(process)
            model, driver = ("gevent", "cooperative") if process in ON_GEVENT else \
                ("threads", "blocking")
            said = f"worker model {model}, database driver {driver}"
            assert said in containers.logs(process, tail="-1"), containers.logs(process)
        timings["workers consuming"] = time.monotonic() - started

        first = appointment(id="A-IMAGE-1")
        assert post_event(web_url, "appointment.created", first).status_code == 202
        assert post_event(web_url, "appointment.updated", moved(first, hours=2)).status_code == 202
        wait_until(lambda: twilio.sent_to(PATIENT["phone"]), timeout=60,
                   what="the change notice at the fake Twilio")
        wait_until(lambda: "delivered" in _statuses(database_url), timeout=60,
                   what="the Twilio receipt applied through web")
        timings["notice delivered"] = time.monotonic() - started

        wait_until(lambda: _scheduler_lock_held(database_url), timeout=120,
                   what="the scheduler's advisory lock")
        timings["scheduler locked"] = time.monotonic() - started

        for process in processes:
            assert containers.running(process), f"{process} exited:\n{containers.logs(process)}"
        stops = {process: containers.stop(process) for process in processes}
        failed = {p: code for p, (code, _) in stops.items() if code != 0}
        assert not failed, {p: containers.logs(p) for p in failed}
        print("\n" + "\n".join(f"{step}: {seconds:.1f}s" for step, seconds in timings.items()))
        print("SIGTERM to exit: " + ", ".join(f"{p} {s:.1f}s" for p, (_, s) in stops.items()))
    finally:
        twilio.callback_rewrite = twilio.receipt_first = None
        containers.remove_all()


def _consumers(broker_url: str, queue: str) -> bool:
    try:
        return queue_counts(broker_url, queue)[1] >= 1
    except Exception:  # noqa: BLE001  (the queue is declared by the worker as it starts)
        return False


def _query(database_url: str, statement: str, parameters=()) -> list[tuple]:
    with closing(pg_connect(database_url)) as connection, connection.cursor() as cursor:
        cursor.execute(statement, parameters)
        return cursor.fetchall()


def _statuses(database_url: str) -> list[str]:
    return [status for (status,) in _query(database_url, "SELECT status FROM notifications")]


def _scheduler_lock_held(database_url: str) -> bool:
    # PostgreSQL shows a bigint advisory key as its high and low 32 bits.
    [(held,)] = _query(
        database_url,
        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
        " WHERE l.locktype = 'advisory' AND l.granted AND d.datname = %s"
        " AND l.classid = %s AND l.objid = %s",
        (database_url.rsplit("/", 1)[1], SCHEDULER_LOCK_ID >> 32, SCHEDULER_LOCK_ID & 0xFFFFFFFF))
    return held == 1
