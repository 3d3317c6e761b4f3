"""Failover: while provider-failing is open for Twilio (or SES), attempts go to SNS (or SMTP)
and the notification records the provider that carried it; a permanent verdict never fails
over; when the condition resolves, traffic returns to the first provider."""
import pytest
from moto.server import ThreadedMotoServer
from moto.sns.models import sns_backends
from sqlalchemy import select

from actors.channels.failover import forget_failing
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


@pytest.fixture(scope="module")
def aws_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def app(make_app, aws_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
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
