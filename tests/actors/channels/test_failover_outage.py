"""Failover driven by real failures, end to end: the first provider answers 503 to
everything, the minute alert check opens its circuit from those failures, reminders go out
through the next provider within their window, recorded with it; the circuit stays open
while the first is still broken (its probes fail), and closes when probes succeed, traffic
back on the first. On-call gets one e-mail when traffic moves and one when it comes back.
A permanent verdict (Twilio 21211, SES MessageRejected) fails the notification and moves
nothing."""
from datetime import timedelta

import pytest
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends
from sqlalchemy import select

from actors.alerts.checks import run_checks
from actors.alerts.failures import COMMIT_GRACE
from actors.channels import failover
from actors.channels.failover import forget_failing
from db import Alert, NotificationEvent, db, utcnow
from tests.actors.alerts.support import ONCALL, alert_mails
from tests.actors.channels.support import AwsFront, attempt, reminders, rows
from tests.actors.test_broadcasts import NY, _location
from tests.conftest import drain

SNS = sns_backends["123456789012"]["us-east-1"]
SES = ses_backends["123456789012"]["us-east-1"]
PROBE_EVERY = 30.0
CHECK_EVERY = 10.0


@pytest.fixture
def clock(monkeypatch):
    """The failover's own clock (probe intervals, its look at open circuits), moved by hand."""
    now = [1000.0]
    monkeypatch.setattr(failover, "monotonic", lambda: now[0])
    forget_failing()
    yield now
    forget_failing()


def _later(clock, seconds):
    clock[0] += seconds + 0.001


def _settings(**more):
    return dict(ALERT_EMAIL_TO=ONCALL, DELIVERY_RATE_MIN_VOLUME=100_000,
                PROVIDER_FAILURE_MIN_REQUESTS=3, FAILOVER_RECOVERY_SENDS=2,
                FAILOVER_PROBE_SECONDS=PROBE_EVERY, FAILOVER_CHECK_SECONDS=CHECK_EVERY,
                SEND_MAX_RETRIES=20, **more)


def _status(key):
    db.session.rollback()
    return db.session.scalar(select(Alert.status).where(Alert.key == key))


def _tick(app, clock):
    """The minute alert check, then (once workers have looked again) its e-mails."""
    run_checks(utcnow() + COMMIT_GRACE + timedelta(seconds=1))  # past the commit grace
    _later(clock, CHECK_EVERY)
    drain(app)


def _moved_mails(smtp):
    return [m["Subject"].split(":")[0] for m in alert_mails(smtp)
            if "traffic moved" in m.get_body(("plain",)).get_content()]


def _within_window(notifications) -> bool:
    sent = {event.notification_id: event.at for event in db.session.scalars(
        select(NotificationEvent).where(
            NotificationEvent.notification_id.in_([n.id for n in notifications]),
            NotificationEvent.to_status == "sent"))}
    return all(sent[n.id] < n.deadline_at for n in notifications)


@pytest.fixture
def sms_app(make_app, aws_endpoint, aws_credentials, fake_providers):
    SNS.sms_messages.clear()
    app = make_app(**_settings(SMS_PROVIDERS="twilio,sns", AWS_ENDPOINT_URL_SNS=aws_endpoint))
    with app.app_context():
        yield app
    fake_providers[0].outage = None


def test_sms_fails_over_to_sns_on_real_503s_and_comes_back_when_twilio_recovers(
        sms_app, fake_providers, clock):
    twilio, smtp = fake_providers
    clinic = _location("L-1", NY)
    # Twilio answers 503 to every send to these patients. Its list call (reconcile) still
    # answers: the send path asks only Twilio before a retry until it asks through
    # failover.find_earlier, which skips a provider that cannot answer while its circuit
    # is open (tests/actors/channels/test_failover.py).
    for number in range(1, 8):
        twilio.fail(f"+1312555{number:04d}", status=503, code=20503, times=50)
    first = reminders(clinic, range(1, 5), "sms")
    assert attempt(first) == ["retry"] * 4

    _tick(sms_app, clock)  # the real check, from the real failures
    assert _status("provider-failing:sms:twilio") == "open"
    assert _moved_mails(smtp) == ["[patient-notifier] ALERT"]

    assert attempt(first) == ["done"] * 4
    sent = rows(first)
    assert [(n.status, n.provider) for n in sent] == [("sent", "sns")] * 4
    assert _within_window(sent)
    assert sorted(m[0] for m in SNS.sms_messages.values()) == sorted(
        n.patient.phone for n in sent)
    assert twilio.messages == []

    # Twilio gets no traffic now and is still broken: its circuit stays open (no flap).
    _tick(sms_app, clock)
    assert _status("provider-failing:sms:twilio") == "open"
    _later(clock, PROBE_EVERY)
    asked = twilio.requests
    probe, *rest = reminders(clinic, range(5, 8), "sms")
    assert attempt([probe, *rest]) == ["retry", "done", "done"]  # the probe failed
    assert twilio.requests == asked + 1
    assert attempt([probe]) == ["done"]
    assert {n.provider for n in rows([probe, *rest])} == {"sns"}
    _tick(sms_app, clock)
    assert _status("provider-failover:sms") == "open"

    # Twilio recovers (new patients' sends are answered): two probes succeed, then traffic
    # is back.
    probes = []
    for number in (8, 9):
        _later(clock, PROBE_EVERY)
        probes += reminders(clinic, [number], "sms")
        assert attempt(probes[-1:]) == ["done"]
    assert {n.provider for n in rows(probes)} == {"twilio"}
    _tick(sms_app, clock)
    assert _status("provider-failing:sms:twilio") == "resolved"
    back = reminders(clinic, range(10, 13), "sms")
    assert attempt(back) == ["done"] * 3
    assert {(n.status, n.provider) for n in rows(back)} == {("sent", "twilio")}
    assert len(SNS.sms_messages) == 7
    _tick(sms_app, clock)
    assert _moved_mails(smtp) == ["[patient-notifier] ALERT", "[patient-notifier] RESOLVED"]


def test_twilio_21211_fails_the_sms_and_moves_nothing(sms_app, fake_providers, clock):
    twilio, smtp = fake_providers
    clinic = _location("L-1", NY)
    refused = reminders(clinic, range(1, 5), "sms")
    for notification in rows(refused):
        twilio.fail(notification.patient.phone, status=400, code=21211)
    assert attempt(refused) == ["done"] * 4
    assert {(n.status, n.error_code) for n in rows(refused)} == {("failed", "21211")}
    _tick(sms_app, clock)
    assert _status("provider-failing:sms:twilio") is None
    assert _status("provider-failover:sms") is None
    assert len(SNS.sms_messages) == 0 and _moved_mails(smtp) == []


@pytest.fixture
def ses_front(aws_endpoint):
    front = AwsFront(aws_endpoint).start()
    yield front
    front.stop()


@pytest.fixture
def email_app(make_app, ses_front, aws_credentials, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SES", ses_front.url)
    SES.sent_messages.clear()
    app = make_app(**_settings(EMAIL_CHANNEL="ses", EMAIL_PROVIDERS="ses,smtp"))
    with app.app_context():
        failover.providers_for(app, "email")[0].client.verify_email_identity(
            EmailAddress=app.config["EMAIL_FROM"])
        yield app


def test_email_fails_over_to_smtp_on_real_503s_and_comes_back_when_ses_recovers(
        email_app, ses_front, fake_providers, clock):
    _, smtp = fake_providers
    clinic = _location("L-1", NY)
    ses_front.outage = True
    first = reminders(clinic, range(1, 5), "email")
    assert attempt(first) == ["retry"] * 4
    _tick(email_app, clock)
    assert _status("provider-failing:email:ses") == "open"
    # On-call hears through SMTP: SES, the e-mail channel, is the one down.
    assert _moved_mails(smtp) == ["[patient-notifier] ALERT"]

    assert attempt(first) == ["done"] * 4
    sent = rows(first)
    assert [(n.status, n.provider) for n in sent] == [("sent", "smtp")] * 4
    assert _within_window(sent)
    assert all(len(smtp.sent_to(n.patient.email)) == 1 for n in sent)

    _tick(email_app, clock)
    assert _status("provider-failing:email:ses") == "open"  # no traffic, still broken
    ses_front.outage = False
    probes = []
    for number in (5, 6):
        _later(clock, PROBE_EVERY)
        probes += reminders(clinic, [number], "email")
        assert attempt(probes[-1:]) == ["done"]
    assert {n.provider for n in rows(probes)} == {"ses"}
    _tick(email_app, clock)
    assert _status("provider-failing:email:ses") == "resolved"
    back = reminders(clinic, range(7, 9), "email")
    assert attempt(back) == ["done"] * 2
    assert {(n.status, n.provider) for n in rows(back)} == {("sent", "ses")}
    patients = {n.patient.email for n in rows(probes + back)}
    assert len([m for m in SES.sent_messages if set(m.destinations) & patients]) == 4
    _tick(email_app, clock)
    # SES is back, so the all-clear reaches on-call through SES.
    assert _moved_mails(smtp) == ["[patient-notifier] ALERT"]
    resolved = [m.subject.split(":")[0] for m in SES.sent_messages
                if type(m).__name__ == "Message" and m.destinations["ToAddresses"] == [ONCALL]
                and "traffic moved" in m.body]
    assert resolved == ["[patient-notifier] RESOLVED"]


def test_ses_rejecting_the_message_fails_it_and_moves_nothing(email_app, fake_providers, clock):
    _, smtp = fake_providers
    clinic = _location("L-1", NY)
    ses = failover.providers_for(email_app, "email")[0]
    ses.client.delete_identity(Identity=email_app.config["EMAIL_FROM"])  # MessageRejected
    refused = reminders(clinic, range(1, 5), "email")
    assert attempt(refused) == ["done"] * 4
    assert {(n.status, n.error_code) for n in rows(refused)} == {("failed", "MessageRejected")}
    ses.client.verify_email_identity(EmailAddress=email_app.config["EMAIL_FROM"])  # on-call's
    _tick(email_app, clock)
    assert _status("provider-failing:email:ses") is None
    assert all(smtp.sent_to(n.patient.email) == [] for n in rows(refused))
