"""Doubled ticks, a scheduler killed and restarted, a tick killed mid-batch: every reminder
still reaches the provider exactly once (counted at the fake Twilio and the SMTP sink).

Real PostgreSQL and RabbitMQ; real child processes killed with SIGKILL.
"""
import threading
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pika
import pytest
from sqlalchemy import func, select

from actors.reminders.plan import plan
from actors.reminders.tick import reminder_tick, run_tick
from db import Notification, db, utcnow
from tests.actors.reminders.support import booking, clinic, midday_zone, patient
from tests.conftest import running_worker
from tests.factories import TEST_SECRET
from tests.scheduler.support import Child
from tests.services import amqp_connect, queue_counts, wait_until

RATES = {"SMS_RATE_PER_SECOND": 1000.0, "EMAIL_RATE_PER_SECOND": 1000.0}
WINDOW = {"REMINDER_WINDOW": "10:00-14:00"}


@pytest.fixture
def rabbit_app(make_app, rabbitmq_url):
    app = make_app(BROKER_URL=rabbitmq_url, **WINDOW, **RATES)
    broker = app.extensions["dramatiq"]
    _purge(rabbitmq_url)  # the vhost lives as long as the session
    with app.app_context():
        yield app
    broker.close()


def _purge(rabbitmq_url):
    connection = amqp_connect(rabbitmq_url)
    try:
        for queue in ("default", "sms", "email", "default.DQ", "sms.DQ", "email.DQ"):
            channel = connection.channel()
            try:
                channel.queue_purge(queue)
                channel.close()
            except pika.exceptions.ChannelClosedByBroker:
                pass  # not declared yet
    finally:
        connection.close()


def clinic_with_patients(count=20):
    now = utcnow()
    zone = midday_zone(now)
    loc = clinic("L-1", zone)
    day = now.astimezone(ZoneInfo(zone)).date() + timedelta(days=3)
    choices = ["sms", "email", "both", "sms"]
    for n in range(count):
        booking(loc, patient(choices[n % 4]), day, time(9 + n % 8, 15))
    db.session.commit()
    wanted = sum({"sms": 1, "email": 1, "both": 2}[choices[n % 4]] for n in range(count))
    return wanted


def sent_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.status == "sent"))


def assert_each_reminder_once(twilio, smtp, wanted):
    reminders = db.session.execute(select(Notification)).scalars().all()
    assert len(reminders) == wanted and {n.status for n in reminders} == {"sent"}
    phones = [m["To"] for m in twilio.messages]
    emails = [address for m in smtp.messages for address in m["to"]]
    assert len(phones) + len(emails) == wanted          # one provider call per reminder
    assert len(set(phones)) == len(phones) and len(set(emails)) == len(emails)


def test_two_ticks_at_once_send_each_reminder_once(rabbit_app, fake_providers):
    twilio, smtp = fake_providers
    wanted = clinic_with_patients()
    plan(utcnow() - timedelta(minutes=1))  # everything due by the time the ticks run
    db.session.commit()
    now = utcnow()
    start, outcomes = threading.Barrier(2), []

    def tick():
        with rabbit_app.app_context():
            start.wait()
            outcomes.append(run_tick(now))

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Whichever order they ran in, the reminders were handed over once between them.
    assert sum(o["dispatched"] for o in outcomes if o) == wanted
    # And the scheduler's own message, doubled, on a worker with two threads.
    reminder_tick.send()
    reminder_tick.send()
    with running_worker(rabbit_app, queues=["default", "sms", "email"], threads=4):
        wait_until(lambda: sent_count() == wanted, what="every reminder sent")
        rabbit_app.extensions["dramatiq"].join("default")
    assert_each_reminder_once(twilio, smtp, wanted)


def _child_env(database_url, rabbitmq_url, **extra) -> dict:
    env = {"DATABASE_URL": database_url, "BROKER_URL": rabbitmq_url, "LOG_LEVEL": "INFO",
           # production mode (BROKER_URL set) refuses the dev secrets
           "SECRET_KEY": "test-secret-key-not-the-dev-default",
           "SECURITY_PASSWORD_SALT": "test-password-salt-not-the-dev-default",
           "WEBHOOK_SECRET": TEST_SECRET}
    env.update({k: str(v) for k, v in {**WINDOW, **RATES, **extra}.items()})
    return env


def test_tick_killed_mid_batch_then_restarted(rabbit_app, fake_providers, database_url,
                                              rabbitmq_url):
    twilio, smtp = fake_providers
    wanted = clinic_with_patients()
    plan(utcnow() - timedelta(minutes=1))
    db.session.commit()
    child = Child(["-m", "tests.scheduler.tick_killed_mid_batch"],
                  _child_env(database_url, rabbitmq_url))
    assert child.process.wait(timeout=60) == -9
    child.kill()
    db.session.expire_all()
    statuses = dict(db.session.execute(select(Notification.status, func.count())
                                       .group_by(Notification.status)).all())
    assert statuses == {"queued": 10, "planned": wanted - 10}  # 5 published, 5 not
    # The restarted tick, once the stuck rows are due for the sweep.
    later = utcnow() + timedelta(seconds=rabbit_app.config["SWEEP_STUCK_AFTER_SECONDS"] + 1)
    outcome = run_tick(later)
    assert outcome["dispatched"] == wanted - 10 and outcome["requeued"] == 10
    with running_worker(rabbit_app, queues=["sms", "email"], threads=4):
        wait_until(lambda: sent_count() == wanted, what="every reminder sent")
        for queue in ("sms", "email"):
            rabbit_app.extensions["dramatiq"].join(queue)
    assert_each_reminder_once(twilio, smtp, wanted)


def _ticks_waiting(rabbitmq_url) -> int:
    return queue_counts(rabbitmq_url, "default")[0]


def test_scheduler_killed_and_restarted_hands_over_the_lock(rabbit_app, fake_providers,
                                                            database_url, rabbitmq_url):
    twilio, smtp = fake_providers
    wanted = clinic_with_patients()
    env = _child_env(database_url, rabbitmq_url, SCHEDULER_LOCK_RETRY_SECONDS=0.2)
    first = Child(["-m", "scheduler"], env)
    second = None
    try:
        first.wait_for("scheduler lock acquired")
        first.wait_for("Scheduling Actor(reminder_tick)")
        second = Child(["-m", "scheduler"], env)
        second.wait_for("another scheduler holds the lock")
        assert not second.saw("Scheduling Actor(reminder_tick)")
        first.kill()  # SIGKILL: its connection drops, and the lock with it
        second.wait_for("scheduler lock acquired")
        second.wait_for("Scheduling Actor(reminder_tick)")
    finally:
        first.kill()
        if second is not None:
            second.kill()
    assert _ticks_waiting(rabbitmq_url) >= 2  # both schedulers' ticks (and the ETL's)
    with running_worker(rabbit_app, queues=["default", "sms", "email"], threads=4):
        rabbit_app.extensions["dramatiq"].join("default")
        run_tick(utcnow() + timedelta(minutes=5))  # the next minutes' ticks: all now due
        wait_until(lambda: sent_count() == wanted, what="every reminder sent")
        for queue in ("sms", "email"):
            rabbit_app.extensions["dramatiq"].join(queue)
    assert_each_reminder_once(twilio, smtp, wanted)
