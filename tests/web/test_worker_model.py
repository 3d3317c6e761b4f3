"""The Procfile's worker command in each model (web/worker_model.py): a real worker process
started as ``python -m web.worker_model web.worker`` sends queued reminders through the fake
Twilio and the SMTP sink over the test vhost and database, and says how it runs."""
import json
import os
import signal
import subprocess
import sys
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pika
import pytest
from sqlalchemy import select

from actors.appointments import apply_appointment_update
from actors.reminders.dispatch import dispatch
from actors.reminders.plan import plan
from actors.schemas import AppointmentSchema
from db import Notification, db, utcnow
from tests.actors.reminders.support import midday_zone
from tests.conftest import base_config, on_rabbitmq, wait_for_commits
from tests.factories import EMAIL_ADDRESS, PATIENT, appointment
from tests.services import queue_counts, wait_until

ROOT = Path(__file__).resolve().parents[2]
PHONE = PATIENT["phone"]
WINDOW = {"REMINDER_WINDOW": "10:00-14:00"}  # open now in the midday zone


@pytest.fixture
def rabbit_app(make_app, rabbitmq_url):
    with on_rabbitmq(make_app, rabbitmq_url, **WINDOW) as app, app.app_context():
        yield app


def queue_reminders() -> dict[str, int]:
    """A patient's SMS and e-mail reminders planned and dispatched to the real sms and email
    queues, as the tick does; their ids by channel."""
    now = utcnow()
    zone = midday_zone(now)
    day = now.astimezone(ZoneInfo(zone)).date() + timedelta(days=3)
    data = appointment(starts_at=datetime.combine(day, time(15, 30), tzinfo=ZoneInfo(zone)),
                       updated_at=now - timedelta(hours=1), location={"timezone": zone},
                       patient={"preferred_channel": "both"})
    apply_appointment_update(AppointmentSchema().load(data), source="test")
    db.session.commit()
    plan(now)
    db.session.commit()
    assert dispatch(now + timedelta(hours=4)) == 2
    reminders = db.session.execute(select(Notification)).scalars().all()
    assert {(r.kind, r.status) for r in reminders} == {("reminder", "queued")}
    return {r.channel: r.id for r in reminders}


def worker_env(config: dict, **settings) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "SMTP_"))}
    env.update({k: str(v) for k, v in {**config, **settings}.items()
                if v is not None and k.isupper()})
    return env


def start_worker(env: dict, threads: int) -> subprocess.Popen:
    """The Procfile's worker-sms and worker-email lines in one, with their defaults."""
    return subprocess.Popen(
        [sys.executable, "-m", "web.worker_model", "web.worker", "--queues", "sms", "email",
         "--processes", "1", "--threads", str(threads), "--worker-shutdown-timeout", "20000"],
        cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)


def stop(worker: subprocess.Popen) -> str:
    """SIGTERM as tini sends it; the worker's log lines."""
    worker.send_signal(signal.SIGTERM)
    try:
        _, log = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
    return log


def consumers(broker_url: str) -> int:
    try:
        return queue_counts(broker_url, "sms")[1]
    except pika.exceptions.AMQPError:  # not declared yet: the worker is still booting
        return 0


def records(log: str) -> list[dict]:
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


#: The pool docs/operations.md gives gevent workers (k8s/components/gevent-workers).
GEVENT_POOL = {"DATABASE_POOL_SIZE": 20, "DATABASE_MAX_OVERFLOW": 0}


@pytest.mark.parametrize(("model", "threads", "pool", "driver"), [
    ("gevent", 50, GEVENT_POOL, "cooperative"),  # psycogreen's wait callback
    ("threads", 4, {}, "blocking"),
])
def test_the_procfile_worker_sends_queued_reminders_in_each_model(
        rabbit_app, fake_providers, database_url, rabbitmq_url, model, threads, pool, driver):
    """Twilio through requests, the SMTP sink through smtplib, PostgreSQL through psycopg2:
    each works under the model's patching."""
    twilio, smtp = fake_providers
    reminders = queue_reminders()
    config = base_config(database_url, twilio, smtp, BROKER_URL=rabbitmq_url, **WINDOW,
                         **pool)
    worker = start_worker(worker_env(config, WORKER_MODEL=model, LOG_LEVEL="INFO"), threads)
    try:
        assert wait_until(lambda: twilio.sent_to(PHONE) and smtp.sent_to(EMAIL_ADDRESS),
                          timeout=60, what=f"the {model} worker to send both reminders")
        wait_for_commits(lambda: {db.session.get(Notification, i).status
                                  for i in reminders.values()} == {"sent"},
                         what="both reminders recorded sent", timeout=30)
        # exec, not a child: the process the Procfile started is Dramatiq's own launcher.
        launcher = Path(f"/proc/{worker.pid}/cmdline").read_bytes().split(b"\0")
        assert (b"dramatiq-gevent" in launcher[1]) == (model == "gevent"), launcher
    finally:
        log = stop(worker)
    assert worker.returncode == 0, log[-3000:]
    (message,) = twilio.sent_to(PHONE)
    assert "reminder" in message["Body"]
    assert len(smtp.sent_to(EMAIL_ADDRESS)) == 1
    said = [r["message"] for r in records(log) if r.get("logger") == "web.worker_model"]
    assert said == [f"worker model {model}, database driver {driver}"], log[-3000:]


def test_an_unknown_worker_model_is_refused_in_one_line(database_url):
    result = subprocess.run(
        [sys.executable, "-m", "web.worker_model", "web.worker", "--queues", "sms"],
        cwd=ROOT, env={**os.environ, "WORKER_MODEL": "eventlet"}, capture_output=True,
        text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == "Error: WORKER_MODEL: expected one of threads, gevent"


def test_a_gevent_worker_with_pool_overflow_is_told_to_size_its_pool(
        database_url, rabbitmq_url, fake_providers):
    twilio, smtp = fake_providers
    config = base_config(database_url, twilio, smtp, BROKER_URL=rabbitmq_url)  # 5 + 10
    worker = start_worker(worker_env(config, WORKER_MODEL="gevent", LOG_LEVEL="INFO"), 50)
    try:
        wait_until(lambda: consumers(rabbitmq_url) >= 1, timeout=60,
                   what="the gevent worker to consume")
    finally:
        log = stop(worker)
    warned = [r["message"] for r in records(log) if r.get("level") == "WARNING"
              and r.get("logger") == "web.worker_model"]
    assert warned == [("worker model gevent with DATABASE_MAX_OVERFLOW 10: set "
                       "DATABASE_POOL_SIZE to about 20 and DATABASE_MAX_OVERFLOW to 0")], log


def test_a_worker_started_without_the_launcher_says_its_model_disagrees(
        database_url, rabbitmq_url, fake_providers):
    """``dramatiq web.worker`` with WORKER_MODEL=gevent runs threads: a warning says so."""
    twilio, smtp = fake_providers
    config = base_config(database_url, twilio, smtp, BROKER_URL=rabbitmq_url)
    env = worker_env(config, WORKER_MODEL="gevent", LOG_LEVEL="INFO")
    code = ("import web.worker, psycopg2.extensions as e; "
            "print(e.get_wait_callback() is None)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "True"  # no gevent, so psycopg2 left blocking
    warned = [r for r in records(result.stderr) if r.get("level") == "WARNING"
              and r.get("logger") == "web.worker_model"]
    assert len(warned) == 1 and "WORKER_MODEL is gevent" in warned[0]["message"], \
        result.stderr[-3000:]
