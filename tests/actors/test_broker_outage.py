"""What was committed while RabbitMQ was away goes out once it is back: a change notice
whose enqueue failed after the webhook's 202, and reminders a tick queued but could not
publish, are handed over again by the sweep (actors.reminders.sweep)."""
import logging
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import dramatiq
import pytest
from dramatiq.errors import ConnectionClosed
from sqlalchemy import select

from actors.batches import BATCH_ACTORS
from actors.delivery import SEND_ACTORS
from actors.reminders.plan import plan
from actors.reminders.tick import reminder_tick, run_tick
from db import Notification, db, utcnow
from tests.actors.reminders.support import booking, clinic, midday_zone, patient
from tests.factories import appointment, moved, post_event


@pytest.fixture
def broker_away(monkeypatch):
    """Every publish of a send message fails as RabbitMQ's absence makes it fail."""
    def refuse(*args, **kwargs):
        raise ConnectionClosed(OSError("connection refused"))

    for actor in (*SEND_ACTORS.values(), *BATCH_ACTORS.values()):
        monkeypatch.setattr(actor, "send_with_options", refuse)
    return monkeypatch


def _waiting(broker, queue: str) -> int:
    """Notifications waiting on ``queue``: reminders go several to a message."""
    if queue not in broker.queues:
        return 0
    carried = [dramatiq.Message.decode(data).args[0] for data in list(broker.queues[queue].queue)]
    return sum(len(ids) if isinstance(ids, list) else 1 for ids in carried)


def test_change_notice_committed_while_rabbitmq_was_away_is_re_enqueued(
        app, client, stub_broker, broker_away, caplog):
    first = appointment()
    post_event(client, "appointment.created", first)
    response = post_event(client, "appointment.updated", moved(first, hours=1))
    assert response.status_code == 202
    (nid,) = [n["id"] for n in response.json["notifications"]]
    assert [r.levelno for r in caplog.records if "enqueue after commit" in r.getMessage()] \
        == [logging.WARNING]
    broker_away.undo()  # RabbitMQ is back
    assert _waiting(stub_broker, "priority") == 0
    stuck = app.config["SWEEP_PRIORITY_STUCK_AFTER_SECONDS"]  # not the reminders' 600 s
    assert run_tick(utcnow() + timedelta(seconds=stuck - 30))["requeued"] == 0  # not yet
    outcome = run_tick(utcnow() + timedelta(seconds=stuck + 1))
    assert outcome["requeued"] == 1
    assert _waiting(stub_broker, "priority") == 1  # a change notice jumps the line again
    assert db.session.get(Notification, nid).status == "queued"


def test_reminders_a_tick_could_not_publish_are_owed_to_the_next_sweep(
        make_app, broker_away, caplog):
    app = make_app(REMINDER_WINDOW="10:00-14:00")
    with app.app_context():
        _reminders_owed(app, app.extensions["dramatiq"], broker_away, caplog)


def _reminders_owed(app, stub_broker, broker_away, caplog):
    now = utcnow()
    zone = midday_zone(now)
    location = clinic("L-1", zone)
    day = now.astimezone(ZoneInfo(zone)).date() + timedelta(days=3)
    for n in range(3):
        booking(location, patient("sms"), day, time(9 + n, 15))
    db.session.commit()
    plan(now - timedelta(minutes=1))
    db.session.commit()
    reminder_tick.fn()  # one WARNING, no error: the next minute's tick resumes
    assert [r.levelno for r in caplog.records if "reminder tick stopped" in r.getMessage()] \
        == [logging.WARNING]
    db.session.rollback()
    statuses = db.session.scalars(select(Notification.status)).all()
    assert statuses == ["queued"] * 3
    broker_away.undo()
    outcome = run_tick(utcnow() + timedelta(seconds=61))  # the next minute, not ten later
    assert outcome["requeued"] == 3 and _waiting(stub_broker, "sms") == 3
