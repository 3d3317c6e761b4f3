"""The worker liveness probe: fresh while the worker's threads work, failing once they stop."""
import os
import subprocess
import sys
import threading
import time

import dramatiq
import pytest

from actors.heartbeat import Heartbeat, check
from tests.conftest import running_worker
from tests.services import wait_until

MAX_AGE = "1"  # seconds; the probe in k8s uses 60


def probe(path) -> subprocess.CompletedProcess:
    """The exact command the worker pods' liveness probe runs."""
    return subprocess.run([sys.executable, "-m", "actors.heartbeat", "check", "--file", str(path),
                           "--max-age", MAX_AGE], capture_output=True, text=True, timeout=30,
                          check=False)


@pytest.fixture
def heartbeat_app(make_app, tmp_path):
    path = tmp_path / "run" / "heartbeat"
    app = make_app(WORKER_HEARTBEAT_FILE=str(path), WORKER_HEARTBEAT_INTERVAL_SECONDS=0.1,
                   WORKER_STALL_GRACE_SECONDS=0.3)
    return app, path


def test_the_broker_carries_the_heartbeat_only_when_a_file_is_configured(make_app, tmp_path):
    with_file = make_app(WORKER_HEARTBEAT_FILE=str(tmp_path / "beat"))
    without = make_app()
    assert any(isinstance(m, Heartbeat) for m in with_file.extensions["dramatiq"].middleware)
    assert not any(isinstance(m, Heartbeat) for m in without.extensions["dramatiq"].middleware)


def test_probe_passes_while_idle_threads_are_alive_and_fails_when_they_die(heartbeat_app):
    app, path = heartbeat_app
    with running_worker(app, threads=2) as worker:
        wait_until(lambda: probe(path).returncode == 0, timeout=20)
        # Idle for longer than max-age: the watchdog keeps the file fresh.
        first = os.stat(path).st_mtime
        wait_until(lambda: os.stat(path).st_mtime > first + float(MAX_AGE), timeout=20)
        assert probe(path).returncode == 0

        for thread in worker.workers:  # the worker threads stop processing
            thread.stop()
        for thread in worker.workers:
            thread.join(timeout=10)
        assert not any(thread.is_alive() for thread in worker.workers)

        wait_until(lambda: probe(path).returncode == 1, timeout=20)
        assert "old" in probe(path).stderr


def test_probe_fails_while_a_thread_is_stuck_past_its_time_limit(heartbeat_app):
    app, path = heartbeat_app
    broker = app.extensions["dramatiq"]
    release = threading.Event()
    started = threading.Event()

    def hang():
        started.set()
        release.wait()  # blocked in C: Dramatiq's time limit cannot interrupt it

    stuck = dramatiq.actor(hang, broker=broker, actor_name="heartbeat_test_hang",
                           queue_name="default", time_limit=200, max_retries=0)
    try:
        with running_worker(app, queues=["default"], threads=1):
            wait_until(lambda: probe(path).returncode == 0, timeout=20)
            stuck.send()
            assert started.wait(timeout=10)
            wait_until(lambda: probe(path).returncode == 1, timeout=20)

            release.set()  # the thread comes back: the message ends, the heartbeat resumes
            wait_until(lambda: probe(path).returncode == 0, timeout=20)
    finally:
        release.set()
        broker.actors.pop("heartbeat_test_hang", None)


def test_check_reports_missing_and_stale_files(tmp_path):
    path = tmp_path / "beat"
    assert check(str(path), 60) == (False, f"no heartbeat file at {path}")
    path.touch()
    assert check(str(path), 60)[0]
    old = time.time() - 120
    os.utime(path, (old, old))
    ok, reason = check(str(path), 60)
    assert not ok and "limit 60s" in reason


def test_a_process_without_a_worker_beats_on_every_enqueue(make_app, tmp_path):
    """The scheduler runs no worker: each periodic enqueue is its sign of life."""
    path = tmp_path / "scheduler-heartbeat"
    app = make_app(WORKER_HEARTBEAT_FILE=str(path))
    broker = app.extensions["dramatiq"]
    ping = dramatiq.actor(lambda: None, broker=broker, actor_name="heartbeat_test_ping",
                          queue_name="default")
    try:
        assert not path.exists()
        ping.send()
        assert probe(path).returncode == 0
    finally:
        broker.actors.pop("heartbeat_test_ping", None)
        broker.flush_all()


def test_an_unwritable_heartbeat_file_never_breaks_sending(make_app, tmp_path):
    app = make_app(WORKER_HEARTBEAT_FILE=str(tmp_path / "missing-dir" / "beat"))
    broker = app.extensions["dramatiq"]
    ping = dramatiq.actor(lambda: None, broker=broker, actor_name="heartbeat_test_ping2",
                          queue_name="default")
    try:
        ping.send()  # logs a warning, raises nothing
    finally:
        broker.actors.pop("heartbeat_test_ping2", None)
        broker.flush_all()


def test_a_real_worker_process_beats_and_its_probe_fails_once_it_is_frozen(database_url,
                                                                          tmp_path):
    """`dramatiq web.worker` as the pods run it, on a RabbitMQ vhost of its own. SIGSTOP
    freezes every thread of the worker (as a hung process would): the probe then fails."""
    import signal
    import socket

    from tests import services
    from tests.conftest import TEST_SECRET

    vhost = services.unique_name("pn_heartbeat")
    broker_url = services.create_vhost(vhost)
    path = tmp_path / "heartbeat"
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        metrics_port = free.getsockname()[1]
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("TWILIO_", "SMTP_"))}
    env.update({"DATABASE_URL": database_url, "BROKER_URL": broker_url,
                "WEBHOOK_SECRET": TEST_SECRET,
                "SECRET_KEY": "test-secret-key-not-the-dev-default",
                "SECURITY_PASSWORD_SALT": "test-password-salt-not-the-dev-default",
                "WORKER_HEARTBEAT_FILE": str(path), "WORKER_HEARTBEAT_INTERVAL_SECONDS": "0.2",
                "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
                "WORKER_METRICS_PORT": str(metrics_port), "PYTHONUNBUFFERED": "1"})
    worker = subprocess.Popen(
        [sys.executable, "-m", "dramatiq", "web.worker", "--queues", "default",
         "--processes", "1", "--threads", "2", "--worker-shutdown-timeout", "5000"],
        env=env, start_new_session=True, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: probe(path).returncode == 0, timeout=60)
        os.killpg(worker.pid, signal.SIGSTOP)
        wait_until(lambda: probe(path).returncode == 1, timeout=20)
        os.killpg(worker.pid, signal.SIGCONT)
        wait_until(lambda: probe(path).returncode == 0, timeout=20)
    finally:
        os.killpg(worker.pid, signal.SIGCONT)
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        services.delete_vhost(vhost)
