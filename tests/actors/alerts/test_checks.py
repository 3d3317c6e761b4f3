"""Alerts to on-call: a storm of failures is a handful of e-mails with counts and samples."""
from datetime import timedelta

import pytest
import sentry_sdk
from sqlalchemy import select, update

from actors.delivery import send_options, send_priority
from db import Alert, Notification, db, raise_condition, resolve_condition
from tests.actors.alerts.support import (
    ONCALL,
    MemoryTransport,
    add_notifications,
    alert_mails,
    booked,
    evaluate,
)
from tests.conftest import drain
from tests.factories import EMAIL_ADDRESS, PATIENT

PHONE = PATIENT["phone"]


@pytest.fixture
def alerting(make_app):
    # The 24-hour delivery rate has its own test; here it would add its own alert.
    app = make_app(ALERT_EMAIL_TO=ONCALL, DELIVERY_RATE_MIN_VOLUME=100_000)
    with app.app_context():
        yield app


def body(message) -> str:
    return message.get_body(("plain",)).get_content()


def alert(key) -> Alert:
    db.session.expire_all()
    return db.session.execute(select(Alert).where(Alert.key == key)).scalar_one()


def pass_throttle(key, minutes=16):
    """Time passing: the last e-mail about ``key`` went out ``minutes`` ago."""
    a = alert(key)
    a.last_notified_at = a.last_notified_at - timedelta(minutes=minutes)
    db.session.commit()


def test_a_thousand_permanent_failures_make_one_alert_then_one_digest(alerting, fake_providers):
    twilio, smtp = fake_providers
    client = alerting.test_client()
    twilio.fail(PHONE, status=400, code=21211, times=1000)
    appt = booked(client)
    drain(alerting)  # the first of the storm fails
    evaluate(alerting)
    (opened,) = alert_mails(smtp)
    assert "ALERT" in opened["Subject"] and "21211" in opened["Subject"]

    ids = add_notifications(appt, 999)
    options = send_options(alerting.config, "priority")
    for notification_id in ids:
        send_priority.send_with_options(args=(notification_id,), **options)
    drain(alerting)
    assert db.session.execute(select(Notification.status).distinct()).scalars().all() == ["failed"]
    evaluate(alerting)
    evaluate(alerting)
    assert len(alert_mails(smtp)) == 1  # within the throttle: counted, not sent

    key = "send-failed:sms:21211"
    assert alert(key).count == 1000
    pass_throttle(key)
    evaluate(alerting)
    evaluate(alerting)
    opened, digest = alert_mails(smtp)
    assert "STILL OPEN (1000 so far)" in digest["Subject"]
    text = body(digest)
    assert "Occurrences: 1000 (999 since the last e-mail" in text
    assert "First seen:" in text and "Last seen:" in text and "What to do:" in text
    samples = text.split("Sample ids:")[1].splitlines()[0]
    assert len(samples.split(",")) == 10
    for secret in (PHONE, PATIENT["given_name"], PATIENT["family_name"], EMAIL_ADDRESS):
        assert secret not in text and secret not in body(opened)
    assert len(twilio.messages) == 0


def test_quiet_failure_alert_resolves_with_one_email(alerting, fake_providers):
    twilio, smtp = fake_providers
    twilio.fail(PHONE, status=400, code=21614)
    booked(alerting.test_client())
    drain(alerting)
    evaluate(alerting)
    key = "send-failed:sms:21614"
    db.session.execute(update(Alert).where(Alert.key == key).values(
        last_seen_at=alert(key).last_seen_at - timedelta(minutes=61)))
    db.session.commit()
    evaluate(alerting)
    evaluate(alerting)
    _opened, resolved = alert_mails(smtp)
    assert "RESOLVED" in resolved["Subject"] and alert(key).status == "resolved"


def test_conditions_raised_by_others_are_mailed_once_each_way(alerting, fake_providers):
    _, smtp = fake_providers
    for _ in range(3):
        raise_condition("etl-stale", "etl-stale", "no complete pull for 3 h", sample_ids=[7])
    db.session.commit()
    evaluate(alerting)
    evaluate(alerting)
    resolve_condition("etl-stale")
    db.session.commit()
    evaluate(alerting)
    evaluate(alerting)
    opened, resolved = alert_mails(smtp)
    assert opened["Subject"].endswith("ALERT: no complete pull for 3 h")
    assert "RESOLVED" in resolved["Subject"] and "Sample ids:  7" in body(resolved)


@pytest.fixture
def sentry_events():
    memory = MemoryTransport()
    yield memory
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # later tests report nowhere


def test_a_broken_email_channel_logs_an_error_reports_it_and_retries(make_app, fake_providers,
                                                                     caplog, sentry_events):
    from actors.alerts.mail import send_alert_email
    from actors.channels import RetryableError
    _, smtp = fake_providers
    app = make_app(ALERT_EMAIL_TO=ONCALL, SENTRY_TRANSPORT=sentry_events)
    context = app.app_context()
    context.push()
    raise_condition("batch-overflow:L-1:2026-12-01", "batch-overflow", "batch cannot fit")
    db.session.commit()
    smtp.down = True
    alert_id = alert("batch-overflow:L-1:2026-12-01").id
    with pytest.raises(RetryableError):  # Dramatiq retries the message with backoff
        send_alert_email.fn(alert_id)
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert errors and "alert e-mail could not be sent" in errors[-1].getMessage()
    assert alert("batch-overflow:L-1:2026-12-01").notified_count == 0
    sentry_sdk.flush()
    assert any("alert e-mail could not be sent" in event for event in sentry_events.payloads())
    smtp.down = False
    send_alert_email.fn(alert_id)  # the retry
    assert len(alert_mails(smtp)) == 1
    assert alert("batch-overflow:L-1:2026-12-01").notified_count == 1
    context.pop()


def test_low_delivery_rate_raises_then_resolves(make_app, fake_providers):
    _, smtp = fake_providers
    app = make_app(ALERT_EMAIL_TO=ONCALL, DELIVERY_RATE_MIN_VOLUME=50)
    with app.app_context():
        appt = booked(app.test_client())
        db.session.execute(update(Notification).values(status="cancelled"))
        add_notifications(appt, 95, status="delivered")
        failed = add_notifications(appt, 5, status="failed")
        key = f"delivery-rate:{appt.location.external_id}:sms"  # per clinic and channel
        evaluate(app)
        assert alert(key).status == "open"
        assert "95.0% (95 of 100)" in alert(key).summary
        db.session.execute(update(Notification).where(Notification.id.in_(failed[:4]))
                           .values(status="delivered"))
        db.session.commit()
        evaluate(app)
        assert alert(key).status == "resolved"
        subjects = [m["Subject"] for m in alert_mails(smtp)]
        assert len(subjects) == 2 and "RESOLVED" in subjects[1]


def test_provider_failing_most_sends_raises_an_alert(alerting, fake_providers):
    _, smtp = fake_providers
    appt = booked(alerting.test_client())
    retrying = add_notifications(appt, 12, status="sending", error_code="20503")
    add_notifications(appt, 3, status="sent")
    evaluate(alerting)
    assert alert("provider-failing:sms:twilio").status == "open"
    db.session.execute(update(Notification).where(Notification.id.in_(retrying))
                       .values(status="sent"))
    db.session.commit()
    evaluate(alerting)
    assert alert("provider-failing:sms:twilio").status == "resolved"
    assert len(alert_mails(smtp)) == 2


def test_without_alert_email_to_alerts_are_logged_at_error_level(make_app, caplog):
    app = make_app()
    with app.app_context():
        raise_condition("reminders-expired:2026-12-01", "reminders-expired", "3 expired")
        db.session.commit()
        evaluate(app)
    assert any(r.levelname == "ERROR" and "3 expired" in r.getMessage() for r in caplog.records)
