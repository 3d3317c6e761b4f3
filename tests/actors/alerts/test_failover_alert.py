"""On-call hears once when a channel's traffic moves to its next provider, once when it
comes back: the provider-failover condition follows the first provider's provider-failing."""
import pytest
from sqlalchemy import select, update

from db import Alert, Notification, db
from tests.actors.alerts.support import ONCALL, add_notifications, alert_mails, booked, evaluate


@pytest.fixture
def alerting(make_app):
    app = make_app(ALERT_EMAIL_TO=ONCALL, DELIVERY_RATE_MIN_VOLUME=100_000,
                   SMS_PROVIDERS="twilio,sns", AWS_ENDPOINT_URL_SNS="http://127.0.0.1:9")
    with app.app_context():
        yield app


def _status(key):
    db.session.expire_all()
    return db.session.scalar(select(Alert.status).where(Alert.key == key))


def test_traffic_moving_and_coming_back_are_one_email_each(alerting, fake_providers):
    _, smtp = fake_providers
    appt = booked(alerting.test_client())
    retrying = add_notifications(appt, 12, status="sending", error_code="20503")
    add_notifications(appt, 3, status="sent")
    evaluate(alerting)
    assert _status("provider-failover:sms") == "open"
    evaluate(alerting)  # still failing: no second e-mail
    moved = [m for m in alert_mails(smtp) if "traffic moved" in m.get_body(("plain",))
             .get_content()]
    assert len(moved) == 1
    db.session.execute(update(Notification).where(Notification.id.in_(retrying))
                       .values(status="sent"))
    db.session.commit()
    evaluate(alerting)
    assert _status("provider-failover:sms") == "resolved"
    assert _status("provider-failover:email") is None  # e-mail has one provider: no move
    evaluate(alerting)
    about = [m["Subject"].split(":")[0] for m in alert_mails(smtp)
             if "traffic moved" in m.get_body(("plain",)).get_content()]
    assert about == ["[patient-notifier] ALERT", "[patient-notifier] RESOLVED"], about
