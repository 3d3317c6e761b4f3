"""The core path end to end: signed webhook -> PostgreSQL -> RabbitMQ -> priority worker ->
Twilio-compatible server and SMTP sink, all real, all on 127.0.0.1."""
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import base_config, on_rabbitmq, running_worker
from tests.factories import EMAIL_ADDRESS, PATIENT, appointment, moved, post_event
from tests.services import amqp_connect, pg_connect, wait_until

PHONE = PATIENT["phone"]


@pytest.fixture
def rabbit_app(make_app, rabbitmq_url):
    with on_rabbitmq(make_app, rabbitmq_url) as app:
        yield app


@pytest.fixture
def client(rabbit_app):
    with rabbit_app.app_context():
        yield rabbit_app.test_client()


def test_time_change_reaches_the_patient_once_within_seconds(rabbit_app, client, fake_providers):
    twilio, smtp = fake_providers
    with running_worker(rabbit_app, queues=["priority"]):
        first = appointment()
        post_event(client, "appointment.created", first)
        second = moved(first, hours=26)
        response = post_event(client, "appointment.updated", second)
        assert response.status_code == 202
        assert wait_until(lambda: twilio.sent_to(PHONE), timeout=5)
        (message,) = twilio.sent_to(PHONE)
        assert "Main St Clinic" in message["Body"] and "1 Main St, Springfield" in message["Body"]

        # The same delivery again, and an older update: nothing new reaches the patient.
        repeat = post_event(client, "appointment.updated", second,
                            webhook_id=response.json["webhook_id"])
        assert repeat.json == response.json
        older = post_event(client, "appointment.updated", moved(first, hours=5, seconds_later=30))
        assert older.json["outcome"] == "stale"
        time.sleep(1)
        assert len(twilio.sent_to(PHONE)) == 1
        assert smtp.messages == []


def test_both_channels_and_a_cancellation(rabbit_app, client, fake_providers):
    twilio, smtp = fake_providers
    with running_worker(rabbit_app, queues=["priority"]):
        first = appointment(patient={"preferred_channel": "both"})
        post_event(client, "appointment.created", first)
        post_event(client, "appointment.updated", moved(first, hours=1))
        assert wait_until(lambda: twilio.sent_to(PHONE) and smtp.sent_to(EMAIL_ADDRESS))
        assert len(twilio.sent_to(PHONE)) == 1 and len(smtp.sent_to(EMAIL_ADDRESS)) == 1

        post_event(client, "appointment.cancelled",
                   moved(first, hours=1, seconds_later=120, status="cancelled"))
        assert wait_until(lambda: len(twilio.sent_to(PHONE)) == 2
                        and len(smtp.sent_to(EMAIL_ADDRESS)) == 2)
        assert "cancelled" in twilio.sent_to(PHONE)[1]["Body"]
        assert "cancelled" in smtp.sent_to(EMAIL_ADDRESS)[1]["Subject"]


def test_broker_messages_carry_ids_only(rabbit_app, client, rabbitmq_url):
    first = appointment(patient={"preferred_channel": "both"})
    post_event(client, "appointment.created", first)
    post_event(client, "appointment.updated", moved(first, hours=1))
    connection = amqp_connect(rabbitmq_url)
    channel = connection.channel()
    bodies = []
    while True:
        method, _, body = channel.basic_get("priority")
        if method is None:
            break
        bodies.append(body.decode())
        channel.basic_nack(method.delivery_tag, requeue=False)
    connection.close()
    assert len(bodies) == 2
    for body in bodies:
        for secret in (PATIENT["given_name"], PATIENT["family_name"], PHONE, EMAIL_ADDRESS,
                       "13125550100", "Main St"):
            assert secret not in body


def _worker_env(config: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "SMTP_"))}
    env.update({k: str(v) for k, v in config.items() if v is not None and k.isupper()})
    return env


def _start_worker(env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "dramatiq", "web.worker", "--queues", "priority",
         "--processes", "1", "--threads", "1"],
        env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def test_killed_worker_message_is_redelivered_and_sent_once(rabbit_app, client, fake_providers,
                                                           database_url, rabbitmq_url):
    twilio, smtp = fake_providers
    env = _worker_env(base_config(database_url, twilio, smtp, BROKER_URL=rabbitmq_url))
    first = appointment()
    post_event(client, "appointment.created", first)

    # Hold the notification's row so the worker is caught mid-message, then kill it.
    blocker = pg_connect(database_url)
    cursor = blocker.cursor()
    response = post_event(client, "appointment.updated", moved(first, hours=1))
    (notification_id,) = [n["id"] for n in response.json["notifications"]]
    cursor.execute("SELECT id FROM notifications WHERE id = %s FOR UPDATE", (notification_id,))
    worker = _start_worker(env)
    try:
        wait_until(lambda: _lock_waiters(database_url) > 0, timeout=30,
                   what="the worker to reach the notification")
    finally:
        _kill(worker)
    blocker.rollback()
    blocker.close()
    assert twilio.requests == 0

    worker = _start_worker(env)
    try:
        assert wait_until(lambda: twilio.sent_to(PHONE), timeout=30)
        time.sleep(1)
    finally:
        _kill(worker)
    assert len(twilio.sent_to(PHONE)) == 1


def _lock_waiters(database_url) -> int:
    connection = pg_connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND wait_event_type = 'Lock'")
            return cursor.fetchone()[0]
    finally:
        connection.close()
