"""An appointment a complete pull no longer returns gets no reminder until upstream lists it."""
from datetime import timedelta

from sqlalchemy import select

from actors.etl import pull_now
from actors.reminders.keys import reminder_key
from db import (
    Alert,
    Appointment,
    Notification,
    NotificationEvent,
    create_notifications,
    db,
    utcnow,
)
from tests.actors.etl.support import horizon_days


def _planned_reminder(appointment: Appointment) -> int:
    """The reminder planning would have written, due later in an open window."""
    now = utcnow()
    (row,) = create_notifications([{
        "appointment_id": appointment.id, "patient_id": appointment.patient_id,
        "kind": "reminder", "channel": "sms", "revision": 0, "status": "planned",
        "dedupe_key": reminder_key(appointment.id, appointment.local_date, "sms"),
        "due_at": now + timedelta(minutes=30), "deadline_at": now + timedelta(hours=2)}],
        source="plan", now=now)
    db.session.commit()
    return row.id


def _state(notification_id):
    db.session.expire_all()
    n = db.session.get(Notification, notification_id)
    return n.status, n.reason


def test_missing_from_a_pull_holds_the_reminder_back_until_upstream_returns_it(etl_app,
                                                                               upstream):
    start, days = horizon_days()
    ids = upstream.seed(30, start=start, days=days)
    pull_now(trigger="cli")
    gone = db.session.execute(select(Appointment).where(Appointment.external_id == ids[5])
                              ).scalar_one()
    reminder = _planned_reminder(gone)
    record = upstream.appointment(ids[5])
    upstream.remove(ids[5])

    run = pull_now(trigger="cli")

    assert run.complete and run.missing == 1
    assert _state(reminder) == ("suppressed", "missing from source")
    alert = db.session.execute(select(Alert).where(Alert.key == "missing-from-source")
                               ).scalar_one()
    assert alert.status == "open" and alert.count == 1 and ids[5] not in alert.summary
    assert pull_now(trigger="cli").missing == 0  # still missing: not counted again
    assert db.session.get(Alert, alert.id).count == 1

    upstream.put(record)
    pull_now(trigger="cli")

    assert _state(reminder) == ("planned", None)
    db.session.expire_all()
    assert db.session.get(Appointment, gone.id).status == "booked"
    # Nobody was notified of anything: the only notification is the reminder itself.
    assert db.session.scalars(select(Notification.id)).all() == [reminder]
    history = db.session.scalars(select(NotificationEvent.to_status).where(
        NotificationEvent.notification_id == reminder).order_by(NotificationEvent.id)).all()
    assert history == ["planned", "suppressed", "planned"]
