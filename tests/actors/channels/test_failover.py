"""Failover: while provider-failing is open for Twilio (or SES), attempts go to SNS (or SMTP)
and the notification records the provider that carried it; a permanent verdict never fails
over; when the condition resolves, traffic returns to the first provider. While it is open,
one attempt per interval per process probes the first provider; an earlier attempt's message
is looked for at every provider that can be asked."""
from datetime import timedelta

import pytest
from moto.sns.models import sns_backends
from sqlalchemy import select

from actors.channels import failover
from actors.channels.errors import RetryableError
from actors.channels.failover import (
    adapter_for,
    find_earlier,
    forget_failing,
    providers_for,
)
from actors.delivery import enqueue_send
from db import (
    Appointment,
    Notification,
    create_notifications,
    db,
    raise_condition,
    resolve_condition,
    utcnow,
)
from tests.actors.test_broadcasts import NY, _book, _location
from tests.conftest import drain

SNS = sns_backends["123456789012"]["us-east-1"]


@pytest.fixture
def app(make_app, aws_endpoint, aws_credentials, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SES", aws_endpoint)
    forget_failing()
    SNS.sms_messages.clear()
    app = make_app(SMS_PROVIDERS="twilio,sns", AWS_ENDPOINT_URL_SNS=aws_endpoint,
                   EMAIL_CHANNEL="ses", EMAIL_PROVIDERS="ses,smtp", SEND_MAX_RETRIES=1)
    with app.app_context():
        yield app
    forget_failing()


def _notify(number: int, channel: str = "sms") -> Notification:
    location = _location(f"L-{number}", NY)
    patient = _book(location, utcnow().date(), number)
    db.session.flush()
    booked = db.session.scalar(select(Appointment).where(Appointment.patient_id == patient.id))
    now = utcnow()
    (row,) = create_notifications([{
        "appointment_id": booked.id, "patient_id": patient.id, "kind": "change",
        "channel": channel, "revision": booked.revision, "status": "queued", "queued_at": now,
        "due_at": now, "dedupe_key": f"change:{booked.id}:{booked.revision}:{channel}"}],
        source="test", now=now)
    notification = db.session.get(Notification, row.id)
    enqueue_send(notification)
    db.session.commit()
    return notification


def _after(app, notification) -> Notification:
    drain(app)
    db.session.rollback()
    return db.session.get(Notification, notification.id)


def test_sms_goes_through_sns_while_twilio_is_failing_and_comes_back(app, fake_providers):
    twilio, _ = fake_providers
    raise_condition("provider-failing:sms:twilio", "provider-failing", "twilio failing")
    db.session.commit()
    first = _notify(1)
    twilio.fail(first.patient.phone, status=503, code=20500, times=10)
    sent = _after(app, first)
    assert (sent.status, sent.provider) == ("sent", "sns")
    assert [message[0] for message in SNS.sms_messages.values()] == [first.patient.phone]
    assert twilio.sent_to(first.patient.phone) == []

    resolve_condition("provider-failing:sms:twilio")
    db.session.commit()
    forget_failing()
    back = _after(app, _notify(2))
    assert (back.status, back.provider) == ("sent", "twilio")
    assert len(SNS.sms_messages) == 1


def test_a_permanent_verdict_never_fails_over(app, fake_providers):
    twilio, _ = fake_providers
    notification = _notify(3)
    twilio.fail(notification.patient.phone, status=400, code=21211)
    failed = _after(app, notification)
    assert (failed.status, failed.error_code) == ("failed", "21211")
    assert len(SNS.sms_messages) == 0


def test_email_goes_through_smtp_while_ses_is_failing(app, fake_providers):
    _, smtp = fake_providers
    raise_condition("provider-failing:email:ses", "provider-failing", "ses failing")
    db.session.commit()
    notification = _notify(4, channel="email")
    sent = _after(app, notification)
    assert (sent.status, sent.provider) == ("sent", "smtp")
    assert len(smtp.sent_to(notification.patient.email)) == 1


def test_while_twilio_is_failing_one_attempt_per_interval_probes_it(app, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(failover, "monotonic", lambda: clock[0])
    raise_condition("provider-failing:sms:twilio", "provider-failing", "twilio failing")
    db.session.commit()
    # The circuit has just opened: no probe until an interval has passed.
    assert [adapter_for("sms").provider for _ in range(3)] == ["sns"] * 3
    clock[0] += app.config["FAILOVER_PROBE_SECONDS"]
    assert [adapter_for("sms").provider for _ in range(3)] == ["twilio", "sns", "sns"]
    clock[0] += app.config["FAILOVER_PROBE_SECONDS"]
    # On-call's e-mails never probe; the next send does.
    assert adapter_for("sms", probe=False).provider == "sns"
    assert adapter_for("sms").provider == "twilio"
    # The second provider keeps its own rate; the first is planned at SMS_RATE_PER_SECOND.
    first, second = providers_for(app, "sms")
    assert first.__class__.__name__ == "TwilioSms"
    assert second.__class__.__name__ == "RateLimited" and second.limiter.limit == 20


def _sent_by_twilio(app, phone, body):
    twilio_adapter = providers_for(app, "sms")[0]
    since = utcnow() - timedelta(minutes=2)
    sid = twilio_adapter.send_sms(phone, body)
    return sid, since


def test_an_earlier_attempt_is_found_at_the_provider_that_has_it(app, fake_providers):
    twilio, _ = fake_providers
    sid, since = _sent_by_twilio(app, "+13125550170", "Reminder: Tue 10:00")
    assert find_earlier(app, "sms", "+13125550170", "Reminder: Tue 10:00", since) == (
        "twilio", sid, "queued")
    assert find_earlier(app, "sms", "+13125550170", "another text", since) is None
    # SNS cannot be asked: naming only it finds nothing, and asks Twilio nothing.
    asked = twilio.lists
    assert find_earlier(app, "sms", "+13125550170", "Reminder: Tue 10:00", since,
                        providers=["sns"]) is None
    assert twilio.lists == asked


def test_a_failing_provider_that_cannot_be_asked_does_not_hold_the_failover(app,
                                                                           fake_providers):
    twilio, _ = fake_providers
    since = utcnow() - timedelta(minutes=2)
    twilio.outage = (503, 20503)
    # Its circuit closed: not knowing whether it has the message, the retry asks again.
    with pytest.raises(RetryableError):
        find_earlier(app, "sms", "+13125550171", "text", since)
    # Its circuit open: a provider answering 503 to everything did not take it; go on.
    raise_condition("provider-failing:sms:twilio", "provider-failing", "twilio failing")
    db.session.commit()
    forget_failing()
    assert find_earlier(app, "sms", "+13125550171", "text", since) is None
