"""Pausing one clinic or one channel (db/pauses.py, actors/pauses.py): its messages wait,
every other clinic's go out, on-call's alert e-mails still go out; resumed, what is still
inside its window is sent and what is not expires.

Real providers on 127.0.0.1 (fake Twilio, SMTP sink); the clinics sit in a zone where the
real clock is around noon, so their reminder window is open while the test runs.
"""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from actors.alerts.mail import enqueue_due_emails
from actors.appointments import apply_appointment_update
from actors.reminders.dispatch import dispatch
from actors.reminders.plan import plan
from actors.reminders.sweep import sweep
from actors.schemas import AppointmentSchema
from db import Alert, Notification, db, raise_condition, utcnow
from db.pauses import find_location, pause, resume
from tests.actors.alerts.support import ONCALL
from tests.actors.reminders.support import midday_zone
from tests.conftest import drain
from tests.factories import appointment

NOW = utcnow()
ZONE = midday_zone(NOW)
PHONES = {"L-1": "+13125550101", "L-2": "+13125550102"}


@pytest.fixture
def app(make_app):
    # Each test's own clock and zone, not the collection's: the suite may reach this module
    # long after it was imported, when the zone taken then is past its window.
    global NOW, ZONE
    NOW = utcnow()
    ZONE = midday_zone(NOW)
    app = make_app(REMINDER_WINDOW="10:00-14:00", ALERT_EMAIL_TO=ONCALL)
    with app.app_context():
        yield app


def book_both_clinics():
    """One SMS reminder due today at each of two clinics."""
    day = NOW.astimezone(ZoneInfo(ZONE)).date() + timedelta(days=3)
    for clinic, phone in PHONES.items():
        data = appointment(id=f"A-{clinic}", starts_at=datetime.combine(
            day, time(15, 30), tzinfo=ZoneInfo(ZONE)), updated_at=NOW - timedelta(hours=1),
            location={"id": clinic, "name": f"Clinic {clinic}", "timezone": ZONE},
            patient={"id": f"P-{clinic}", "phone": phone, "preferred_channel": "sms"})
        apply_appointment_update(AppointmentSchema().load(data), source="test")
    db.session.commit()
    plan(utcnow())
    db.session.commit()


def reminder(clinic: str) -> Notification:
    db.session.expire_all()
    return db.session.execute(select(Notification).where(
        Notification.kind == "reminder",
        Notification.appointment.has(external_id=f"A-{clinic}"))).scalar_one()


def pause_clinic(clinic: str):
    pause(location=find_location(clinic), reason="wrong template", by="ops@clinic.example")
    db.session.commit()


def resume_clinic(clinic: str):
    resume(location=find_location(clinic))
    db.session.commit()


def due_now() -> datetime:
    """Late enough that every planned reminder is due, still inside the window."""
    return max(n.due_at for n in db.session.execute(select(Notification)).scalars()) \
        + timedelta(seconds=1)


def test_a_paused_clinic_keeps_its_reminders_planned_and_only_its(app, fake_providers):
    twilio, smtp = fake_providers
    book_both_clinics()
    pause_clinic("L-1")
    assert dispatch(due_now()) == 1
    drain(app)
    assert reminder("L-1").status == "planned"
    assert twilio.sent_to(PHONES["L-1"]) == []
    assert reminder("L-2").status == "sent" and len(twilio.sent_to(PHONES["L-2"])) == 1
    # On-call still hears about anything, the paused clinic included.
    raise_condition("reminders-missed:L-1:test", "reminders-missed", "1 reminder missed")
    db.session.commit()
    assert enqueue_due_emails(utcnow()) == 1
    drain(app)
    assert len(smtp.sent_to(ONCALL)) == 1

    resume_clinic("L-1")
    assert dispatch(due_now()) == 1  # still inside its window: it goes out now
    drain(app)
    assert reminder("L-1").status == "sent" and len(twilio.sent_to(PHONES["L-1"])) == 1
    assert len(twilio.sent_to(PHONES["L-2"])) == 1  # nothing twice


def test_a_message_queued_before_the_pause_waits_then_goes_after_the_resume(app,
                                                                             fake_providers):
    twilio, _ = fake_providers
    book_both_clinics()
    now = due_now()
    assert dispatch(now) == 2  # both handed to the broker ...
    pause_clinic("L-1")  # ... then L-1 is paused before a worker takes its message
    drain(app)
    waiting = reminder("L-1")
    assert waiting.status == "queued" and twilio.sent_to(PHONES["L-1"]) == []
    assert [e.to_status for e in waiting.events] == ["planned", "queued"]  # nothing recorded
    assert reminder("L-2").status == "sent"

    later = now + timedelta(seconds=app.config["SWEEP_STUCK_AFTER_SECONDS"] + 1)
    assert sweep(later)["requeued"] == 1  # offered again while paused: still waits
    drain(app)
    assert reminder("L-1").status == "queued" and twilio.sent_to(PHONES["L-1"]) == []

    resume_clinic("L-1")
    later += timedelta(seconds=app.config["SWEEP_STUCK_AFTER_SECONDS"] + 1)
    assert sweep(later)["requeued"] == 1
    drain(app)
    assert reminder("L-1").status == "sent" and len(twilio.sent_to(PHONES["L-1"])) == 1


def test_a_pause_past_the_deadline_expires_the_reminder_and_on_call_hears(app, fake_providers):
    twilio, _ = fake_providers
    book_both_clinics()
    pause_clinic("L-1")
    assert dispatch(due_now()) == 1
    drain(app)  # L-2's goes out; L-1's waits
    deadline = reminder("L-1").deadline_at
    assert sweep(deadline + timedelta(seconds=1))["expired"] == 1
    assert reminder("L-1").status == "expired"
    assert db.session.execute(select(Alert.kind)).scalars().all() == ["reminder-expired"]
    resume_clinic("L-1")
    assert dispatch(deadline + timedelta(seconds=2)) == 0
    drain(app)
    assert twilio.sent_to(PHONES["L-1"]) == []


def test_a_paused_channel_holds_back_every_clinic_but_not_alert_emails(app, fake_providers):
    twilio, smtp = fake_providers
    book_both_clinics()
    pause(channel="sms", reason="provider incident", by="ops@clinic.example")
    pause(channel="email", reason="provider incident", by="ops@clinic.example")
    db.session.commit()
    assert dispatch(due_now()) == 0
    raise_condition("provider-failing:sms", "provider-failing", "Twilio failing")
    db.session.commit()
    enqueue_due_emails(utcnow())
    drain(app)
    assert twilio.sent_to(PHONES["L-1"]) == twilio.sent_to(PHONES["L-2"]) == []
    assert len(smtp.sent_to(ONCALL)) == 1  # on the paused e-mail channel's own provider
    resume(channel="sms")
    db.session.commit()
    assert dispatch(due_now()) == 2


def test_one_target_at_a_time_and_no_double_pause(app):
    book_both_clinics()
    location = find_location("L-1")
    with pytest.raises(ValueError):
        pause(location=location, channel="sms", reason="x", by="ops")
    with pytest.raises(ValueError):
        pause(channel="fax", reason="x", by="ops")
    assert pause(location=location, reason="x", by="ops") is not None
    assert pause(location=location, reason="again", by="ops") is None
    db.session.commit()
    assert resume(location=location) is not None
    assert resume(location=location) is None
