"""Reminders through the send actors: re-checked at send time, expired, fallen back to e-mail.

The providers are real servers on 127.0.0.1 (fake Twilio, SMTP sink); the clinic sits in a
zone where the real clock is around noon so that the window is open while the test runs.
"""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from actors.appointments import apply_appointment_update
from actors.reminders.dispatch import dispatch
from actors.reminders.plan import plan
from actors.reminders.sweep import EXPIRED_REASON, sweep
from actors.schemas import AppointmentSchema
from db import Alert, Notification, Patient, db, utcnow
from tests.actors.reminders.support import midday_zone
from tests.conftest import drain
from tests.factories import EMAIL_ADDRESS, appointment, moved

PHONE = "+13125550100"
NOW = utcnow()
ZONE = midday_zone(NOW)


@pytest.fixture
def app(make_app):
    # Each test's own clock and zone, not the collection's: the suite may reach this module
    # long after it was imported, when the zone taken then is past its window.
    global NOW, ZONE
    NOW = utcnow()
    ZONE = midday_zone(NOW)
    app = make_app(REMINDER_WINDOW="10:00-14:00")
    with app.app_context():
        yield app


def book(*, preferred="sms", at=time(15, 30), days_ahead=3, **patient):
    """An appointment three local days ahead, through the one update path."""
    day = NOW.astimezone(ZoneInfo(ZONE)).date() + timedelta(days=days_ahead)
    starts = datetime.combine(day, at, tzinfo=ZoneInfo(ZONE))
    data = appointment(starts_at=starts, updated_at=NOW - timedelta(hours=1),
                       location={"timezone": ZONE},
                       patient={"preferred_channel": preferred, **patient})
    apply_appointment_update(AppointmentSchema().load(data), source="test")
    db.session.commit()
    return data


def update(data):
    result = apply_appointment_update(AppointmentSchema().load(data), source="test")
    db.session.commit()
    return result


def rows(**where):
    db.session.expire_all()
    query = select(Notification).order_by(Notification.id)
    for name, value in where.items():
        query = query.where(getattr(Notification, name) == value)
    return db.session.execute(query).scalars().all()


def plan_and_dispatch(now=None):
    now = now or utcnow()
    plan(now)
    db.session.commit()
    return dispatch(now + timedelta(hours=4))  # everything planned is due


def test_reminder_is_sent_once_with_clinic_details(app, fake_providers):
    twilio, _ = fake_providers
    book()
    assert plan_and_dispatch() == 1
    drain(app)
    (message,) = twilio.sent_to(PHONE)
    assert "reminder" in message["Body"] and "3:30" in message["Body"]
    assert "STOP" in message["Body"] and "1 Main St, Springfield" in message["Body"]
    (reminder,) = rows(kind="reminder")
    assert reminder.status == "sent"
    assert [e.to_status for e in reminder.events] == ["planned", "queued", "sending", "sent"]
    # Another tick: planned already, nothing is sent twice.
    assert plan_and_dispatch() == 0
    drain(app)
    assert len(twilio.sent_to(PHONE)) == 1


def test_cancelled_after_planning_gets_no_reminder_and_one_cancellation(app, fake_providers):
    twilio, _ = fake_providers
    data = book()
    plan(utcnow())
    db.session.commit()
    update(moved(data, status="cancelled"))
    dispatch(utcnow() + timedelta(hours=4))
    drain(app)
    (message,) = twilio.sent_to(PHONE)
    assert "cancel" in message["Body"].lower()
    (reminder,) = rows(kind="reminder")
    assert (reminder.status, reminder.reason) == ("cancelled", "appointment cancelled")
    assert [n.kind for n in rows(status="sent")] == ["cancellation"]


def test_cancelled_between_dispatch_and_send_is_not_sent(app, fake_providers):
    twilio, _ = fake_providers
    data = book()
    plan_and_dispatch()  # queued, its message waiting in the broker
    update(moved(data, status="cancelled"))
    drain(app)
    assert [m["Body"] for m in twilio.sent_to(PHONE) if "reminder" in m["Body"]] == []
    (reminder,) = rows(kind="reminder")
    assert reminder.status == "cancelled"


def test_same_day_time_change_keeps_the_reminder_with_the_new_time(app, fake_providers):
    twilio, _ = fake_providers
    data = book(at=time(15, 30))
    plan(utcnow())
    db.session.commit()
    update(moved(data, hours=2))  # 17:30 the same day
    dispatch(utcnow() + timedelta(hours=4))
    drain(app)
    bodies = [m["Body"] for m in twilio.sent_to(PHONE)]
    (reminder_text,) = [b for b in bodies if "reminder" in b]
    assert "5:30" in reminder_text and "3:30" not in reminder_text
    assert rows(kind="reminder")[0].status == "sent"


def test_move_to_another_day_cancels_the_reminder(app, fake_providers):
    twilio, _ = fake_providers
    data = book()
    plan(utcnow())
    db.session.commit()
    update(moved(data, days=1))
    dispatch(utcnow() + timedelta(hours=4))
    drain(app)
    assert [b for b in (m["Body"] for m in twilio.sent_to(PHONE)) if "reminder" in b] == []
    (reminder,) = rows(kind="reminder")
    assert (reminder.status, reminder.reason) == ("cancelled", "appointment moved to another day")


def test_send_time_check_catches_a_move_the_update_did_not(app, fake_providers):
    """A reminder already in flight (sending) when its appointment moves is not sent."""
    twilio, _ = fake_providers
    book()
    plan_and_dispatch()
    (reminder,) = rows(kind="reminder")
    reminder.appointment.local_date += timedelta(days=1)  # as if moved mid-flight
    db.session.commit()
    drain(app)
    assert twilio.sent_to(PHONE) == []
    (reminder,) = rows(kind="reminder")
    assert (reminder.status, reminder.reason) == ("cancelled", "appointment moved to another day")


def test_workers_stopped_past_the_deadline_expire_and_alert(app, fake_providers):
    twilio, _ = fake_providers
    book()
    book(preferred="email")  # same patient id P-1: the update path makes it e-mail only
    now = utcnow()
    plan(now)
    db.session.commit()
    dispatch(now)  # queued; the workers are down
    deadline = rows(kind="reminder")[0].deadline_at
    assert sweep(deadline + timedelta(minutes=1))["expired"] == 1
    (reminder,) = rows(kind="reminder")
    assert (reminder.status, reminder.reason) == ("expired", EXPIRED_REASON)
    alert = db.session.execute(select(Alert)).scalar_one()
    assert alert.kind == "reminder-expired" and alert.sample_ids == [reminder.id]
    drain(app)  # the workers come back: the message finds an expired row
    assert twilio.sent_to(PHONE) == [] and rows(kind="reminder")[0].status == "expired"


def test_send_after_the_deadline_expires_at_the_worker(app, fake_providers):
    """Without a sweep in between, the send actor itself refuses a closed window."""
    twilio, _ = fake_providers
    book()
    plan(utcnow())
    db.session.commit()
    (reminder,) = rows(kind="reminder")
    reminder.deadline_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    dispatch(utcnow() + timedelta(hours=4))
    drain(app)
    assert twilio.sent_to(PHONE) == []
    assert rows(kind="reminder")[0].status == "expired"


@pytest.mark.parametrize("code,status", [(21211, 400), (21614, 400), (21610, 400)])
def test_permanent_sms_failure_falls_back_to_email(app, fake_providers, code, status):
    twilio, smtp = fake_providers
    twilio.fail(PHONE, status=status, code=code)
    book()
    plan_and_dispatch()
    drain(app)
    sms, email = rows(kind="reminder")
    assert (sms.channel, sms.status, sms.error_code) == ("sms", "failed", str(code))
    assert (email.channel, email.status, email.fallback_of_id) == ("email", "sent", sms.id)
    assert email.dedupe_key == sms.dedupe_key.replace(":sms", ":email:fallback")
    (mail,) = smtp.sent_to(EMAIL_ADDRESS)
    assert "Reminder" in mail["Subject"]


def test_no_fallback_when_email_opted_out_or_already_reminded(app, fake_providers):
    twilio, smtp = fake_providers
    twilio.fail(PHONE, status=400, code=21211, times=5)
    book(preferred="both")  # an e-mail reminder of its own already exists
    plan_and_dispatch()
    drain(app)
    assert len(smtp.sent_to(EMAIL_ADDRESS)) == 1
    assert {(n.channel, n.status) for n in rows(kind="reminder")} == {("sms", "failed"),
                                                                     ("email", "sent")}


def test_no_fallback_without_email_consent(app, fake_providers):
    twilio, smtp = fake_providers
    twilio.fail(PHONE, status=400, code=21211)
    book()
    db.session.execute(select(Patient)).scalar_one().email_opted_out = True
    db.session.commit()
    plan_and_dispatch()
    drain(app)
    assert smtp.sent_to(EMAIL_ADDRESS) == []
    assert [(n.channel, n.status) for n in rows(kind="reminder")] == [("sms", "failed")]
