"""The send actors against a Twilio-compatible server and an SMTP sink on 127.0.0.1."""
from datetime import UTC, datetime, timedelta

import dramatiq
import pytest
from sqlalchemy import select

from actors.delivery import deliver
from db import ConsentChange, Notification, Patient, db, utcnow
from tests.conftest import drain
from tests.factories import appointment, moved, post_event

PHONE = "+13125550100"
EMAIL = "ada.lovelace@example.org"


@pytest.fixture
def twilio(fake_providers):
    return fake_providers[0]


@pytest.fixture
def smtp(fake_providers):
    return fake_providers[1]


def change(client, *, channel="sms", hours=2, **patient):
    first = appointment(patient={"preferred_channel": channel, **patient})
    post_event(client, "appointment.created", first)
    second = moved(first, hours=hours)
    response = post_event(client, "appointment.updated", second)
    return second, [n["id"] for n in response.json["notifications"]]


def notification(notification_id) -> Notification:
    db.session.expire_all()
    return db.session.get(Notification, notification_id)


def test_change_notice_sms_carries_new_local_time_and_venue(app, client, twilio):
    second, (nid,) = change(client)
    drain(app)
    (message,) = twilio.sent_to(PHONE)
    local = datetime.fromisoformat(second["starts_at"]).astimezone(
        __import__("zoneinfo").ZoneInfo("America/New_York"))
    assert local.strftime("%-I:%M") in message["Body"]
    assert local.strftime("%-d %b") in message["Body"]
    assert "Main St Clinic" in message["Body"] and "1 Main St, Springfield" in message["Body"]
    assert "STOP" in message["Body"]
    # The receipt names the notification (Twilio signs the URL): matched even if it is early.
    assert message["StatusCallback"] == \
        "https://notify.clinic.example/api/v1/twilio/status?notification=1"
    sent = notification(nid)
    assert sent.status == "sent" and sent.provider_message_id == message["sid"]
    assert sent.segments == 1
    assert [e.to_status for e in sent.events] == ["queued", "sending", "sent"]


def test_both_channels_get_one_sms_and_one_email(app, client, twilio, smtp):
    _, ids = change(client, channel="both")
    drain(app)
    assert len(twilio.sent_to(PHONE)) == 1
    (mail,) = smtp.sent_to(EMAIL)
    assert "changed" in mail["Subject"]
    assert mail.get_body(("plain",)) is not None and mail.get_body(("html",)) is not None
    assert {notification(i).status for i in ids} == {"sent"}


def test_throttled_sms_is_retried_then_sent(app, client, twilio):
    twilio.fail(PHONE, status=429, code=20429, times=2)
    _, (nid,) = change(client)
    drain(app)
    assert len(twilio.sent_to(PHONE)) == 1
    assert twilio.requests == 3
    sent = notification(nid)
    assert sent.status == "sent" and sent.attempts == 3


def test_invalid_number_fails_at_once_with_the_code(app, client, twilio):
    twilio.fail(PHONE, status=400, code=21211)
    _, (nid,) = change(client)
    drain(app)
    assert twilio.requests == 1
    failed = notification(nid)
    assert (failed.status, failed.error_code) == ("failed", "21211")


def test_unsubscribed_number_fails_and_records_the_opt_out(app, client, twilio):
    twilio.fail(PHONE, status=400, code=21610)
    _, (nid,) = change(client)
    drain(app)
    assert notification(nid).status == "failed"
    patient = db.session.execute(select(Patient)).scalar_one()
    assert patient.sms_opted_out
    (consent,) = db.session.execute(select(ConsentChange)).scalars()
    assert (consent.channel, consent.opted_out, consent.source) == ("sms", True, "provider-error")


def test_opted_out_patient_is_suppressed_without_a_provider_call(app, client, twilio):
    first = appointment()
    post_event(client, "appointment.created", first)
    db.session.execute(select(Patient)).scalar_one().sms_opted_out = True
    db.session.commit()
    response = post_event(client, "appointment.updated", moved(first, hours=1))
    drain(app)
    suppressed = notification(response.json["notifications"][0]["id"])
    assert suppressed.status == "suppressed" and "opted out" in suppressed.reason
    assert twilio.requests == 0


def test_patient_without_email_is_suppressed_with_the_reason(app, client, smtp):
    _, (nid,) = change(client, channel="email", email=None)
    drain(app)
    assert notification(nid).status == "suppressed"
    assert notification(nid).reason == "no e-mail address"
    assert smtp.messages == []


def test_provider_down_until_retries_run_out_fails_technically(app, client, twilio):
    twilio.fail(PHONE, status=503, code=20503, times=10)
    _, (nid,) = change(client)
    drain(app)
    failed = notification(nid)
    assert failed.status == "failed" and failed.reason == "retries exhausted"
    assert twilio.requests == 4  # the first try and SEND_MAX_RETRIES=3 retries


def test_redelivered_message_after_sending_sends_nothing_more(app, client, twilio):
    _, (nid,) = change(client)
    drain(app)
    deliver(nid)
    deliver(nid)
    assert len(twilio.sent_to(PHONE)) == 1


def test_duplicate_message_during_an_attempt_waits_for_the_lease(app, client, twilio):
    _, (nid,) = change(client)
    pending = notification(nid)
    pending.claimed_until = utcnow() + timedelta(seconds=30)
    db.session.commit()
    with pytest.raises(dramatiq.Retry) as retry:  # a retry, not an error: no ERROR, no Sentry
        deliver(nid)
    assert 25_000 <= retry.value.delay <= 30_000  # when the lease runs out
    assert twilio.requests == 0


def test_notice_superseded_by_a_newer_change_is_not_sent(app, client, twilio):
    first = appointment()
    post_event(client, "appointment.created", first)
    one = post_event(client, "appointment.updated", moved(first, hours=1, seconds_later=60))
    two = post_event(client, "appointment.updated", moved(first, hours=3, seconds_later=120))
    drain(app)
    old = notification(one.json["notifications"][0]["id"])
    new = notification(two.json["notifications"][0]["id"])
    assert (old.status, old.reason) == ("cancelled", "superseded by a newer change")
    assert new.status == "sent"
    assert len(twilio.sent_to(PHONE)) == 1


def test_deadline_passed_before_sending_expires(app, client, twilio):
    _, (nid,) = change(client)
    pending = notification(nid)
    pending.deadline_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    drain(app)
    assert notification(nid).status == "expired"
    assert twilio.requests == 0


def test_cancellation_cancels_pending_reminders_in_the_same_transaction(app, client):
    first = appointment()
    post_event(client, "appointment.created", first)
    appt_row = db.session.execute(select(Patient)).scalar_one()
    from db import Appointment
    stored = db.session.execute(select(Appointment)).scalar_one()
    reminder = Notification(appointment_id=stored.id, patient_id=appt_row.id, kind="reminder",
                            channel="sms", dedupe_key=f"reminder:{stored.id}:test", status="planned",
                            due_at=datetime.now(UTC))
    db.session.add(reminder)
    db.session.commit()
    post_event(client, "appointment.cancelled", moved(first, status="cancelled"))
    assert notification(reminder.id).status == "cancelled"
    assert notification(reminder.id).reason == "appointment cancelled"
