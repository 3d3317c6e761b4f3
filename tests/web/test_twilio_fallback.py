"""A reminder SMS that Twilio later reports undelivered for good: one e-mail instead, once."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from actors.delivery import enqueue_send
from actors.reminders.keys import reminder_key
from db import Notification, create_notifications, db, utcnow
from tests.actors.accounting.support import local_today, zone_at
from tests.actors.reminders.support import booking, clinic, patient
from tests.conftest import drain
from tests.web.test_providers_twilio import fresh, status_callback


def _sent_reminder(app) -> Notification:
    location = clinic("L-FB", zone_at(10))
    person = patient("sms")
    appointment = booking(location, person, local_today(location) + timedelta(days=3))
    now = utcnow()
    (row,) = create_notifications([{
        "appointment_id": appointment.id, "patient_id": person.id, "kind": "reminder",
        "channel": "sms", "revision": 0, "status": "queued", "queued_at": now, "due_at": now,
        "deadline_at": now + timedelta(hours=1),
        "dedupe_key": reminder_key(appointment.id, appointment.local_date, "sms")}],
        source="plan", now=now)
    enqueue_send(db.session.get(Notification, row.id))
    db.session.commit()
    drain(app)
    sent = fresh(row.id)
    assert sent.status == "sent" and sent.provider_message_id
    return sent


def _emails() -> list:
    return db.session.scalars(select(Notification).where(Notification.channel == "email")).all()


@pytest.mark.parametrize("status, code", [("undelivered", "30003"), ("failed", "21614")])
def test_a_permanent_receipt_brings_exactly_one_fallback_email(app, client, fake_providers,
                                                               status, code):
    _, smtp = fake_providers
    sent = _sent_reminder(app)
    address = sent.patient.email

    for _ in range(3):  # Twilio retries its callbacks; each repeat changes nothing
        assert status_callback(client, sent.provider_message_id, status,
                               ErrorCode=code).status_code == 204
    drain(app)

    assert fresh(sent.id).status == status
    (fallback,) = _emails()
    assert fallback.fallback_of_id == sent.id and fallback.status == "sent"
    assert len(smtp.sent_to(address)) == 1


def test_a_passing_fault_brings_no_fallback(app, client, fake_providers):
    _, smtp = fake_providers
    sent = _sent_reminder(app)
    status_callback(client, sent.provider_message_id, "undelivered", ErrorCode="30008")
    drain(app)
    assert _emails() == [] and smtp.sent_to(sent.patient.email) == []
