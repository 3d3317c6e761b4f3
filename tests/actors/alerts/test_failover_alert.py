"""On-call hears once when a channel's traffic moves to its next provider, once when it
comes back: the provider-failover condition follows the first provider's provider-failing,
which is judged from the attempts that went through that provider and, once open, closes
only when sends through it (its probes) show it healthy, never for want of failures."""
import pytest
from sqlalchemy import select

from db import Alert, Notification, db, transition
from tests.actors.alerts.support import (
    ONCALL,
    add_notifications,
    alert_mails,
    booked,
    evaluate,
)


@pytest.fixture
def alerting(make_app):
    app = make_app(ALERT_EMAIL_TO=ONCALL, DELIVERY_RATE_MIN_VOLUME=100_000,
                   SMS_PROVIDERS="twilio,sns", AWS_ENDPOINT_URL_SNS="http://127.0.0.1:9",
                   FAILOVER_RECOVERY_SENDS=3)
    with app.app_context():
        yield app


def _status(key):
    db.session.expire_all()
    return db.session.scalar(select(Alert.status).where(Alert.key == key))


def _sent_through(ids, provider):
    """The send's outcome as the send path records it: the provider, then ``sent``."""
    for notification in db.session.scalars(select(Notification).where(Notification.id.in_(ids))):
        notification.provider, notification.error_code = provider, None
        transition(notification, "sent", source="send")
    db.session.commit()


def _moved_mails(smtp):
    return [m["Subject"].split(":")[0] for m in alert_mails(smtp)
            if "traffic moved" in m.get_body(("plain",)).get_content()]


def test_traffic_moves_stays_moved_while_twilio_is_unproven_and_comes_back(alerting,
                                                                          fake_providers):
    _, smtp = fake_providers
    appt = booked(alerting.test_client())
    retrying = add_notifications(appt, 12, status="sending", error_code="20503",
                                 provider="twilio")
    add_notifications(appt, 3, status="sent", provider="twilio")
    evaluate(alerting)
    assert _status("provider-failing:sms:twilio") == "open"
    assert _status("provider-failover:sms") == "open"
    evaluate(alerting)  # still failing: no second e-mail
    assert _moved_mails(smtp) == ["[patient-notifier] ALERT"]

    # The retries went out through SNS: Twilio has no failure left in the window, and no
    # success either. Its circuit stays open (no flap back to a provider still broken), and
    # SNS's successes are not Twilio's.
    _sent_through(retrying, "sns")
    evaluate(alerting)
    assert _status("provider-failing:sms:twilio") == "open"
    assert _status("provider-failing:sms:sns") is None
    assert _status("provider-failover:sms") == "open"

    # Two probes through Twilio succeed: not yet enough to trust it.
    probes = add_notifications(appt, 3, status="sending", provider="twilio")
    _sent_through(probes[:2], "twilio")
    evaluate(alerting)
    assert _status("provider-failing:sms:twilio") == "open"
    _sent_through(probes[2:], "twilio")
    evaluate(alerting)
    assert _status("provider-failing:sms:twilio") == "resolved"
    assert _status("provider-failover:sms") == "resolved"
    assert _status("provider-failover:email") is None  # e-mail has one provider: no move
    evaluate(alerting)
    assert _moved_mails(smtp) == ["[patient-notifier] ALERT", "[patient-notifier] RESOLVED"]


def test_failures_through_the_second_provider_count_against_it_alone(alerting,
                                                                      fake_providers):
    appt = booked(alerting.test_client())
    add_notifications(appt, 12, status="sending", error_code="InternalError", provider="sns")
    add_notifications(appt, 12, status="sent", provider="twilio")
    evaluate(alerting)
    assert _status("provider-failing:sms:sns") == "open"
    assert _status("provider-failing:sms:twilio") is None
    assert _status("provider-failover:sms") is None  # twilio carries the traffic


def test_our_own_rate_limit_is_not_the_providers_failure(alerting, fake_providers):
    appt = booked(alerting.test_client())
    add_notifications(appt, 12, status="sending", error_code="rate-limited", provider="sns")
    evaluate(alerting)
    assert _status("provider-failing:sms:sns") is None
