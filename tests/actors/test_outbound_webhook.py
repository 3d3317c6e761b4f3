"""The outgoing webhook from the outbox: signed, retried with backoff while the appointment
system is down, never sent again once answered, failed and alerted past
OUTBOUND_WEBHOOK_MAX_HOURS, retried by ops."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from actors.outbound_webhook import (
    ALERT_KIND,
    attempt,
    backoff,
    due_events,
    signed_headers,
)
from db import Alert, OutboundAttempt, db, utcnow
from tests.conftest import drain
from tests.web import replies_support as support
from tests.web.replies_support import (
    OUTBOUND_SECRET,
    book,
    outbox,
    remind,
    reply,
)
from web.config import ConfigError

# The fixtures this module uses, shared with the other reply tests.
app = support.app
appointment_system = support.appointment_system
appointment_system_server = support.appointment_system_server


def _attempts(outbox_id):
    return db.session.scalars(select(OutboundAttempt).where(OutboundAttempt.outbox_id == outbox_id)
                              .order_by(OutboundAttempt.id)).all()


@pytest.fixture
def confirmed_while_down(app, client, appointment_system):
    book()
    remind(app)
    appointment_system.down = True
    reply(client, "C")
    drain(app)
    (event,) = outbox()
    return event


def test_retried_with_backoff_until_answered_then_never_again(app, appointment_system,
                                                               confirmed_while_down):
    event = confirmed_while_down
    assert (event.status, event.attempts, event.last_error) == ("pending", 1, "HTTP 503")
    assert event.next_attempt_at > utcnow() and due_events(utcnow()) == []
    assert attempt(event.id, now=event.next_attempt_at) == "pending"  # still down
    (event,) = outbox()
    assert event.attempts == 2
    appointment_system.down = False
    assert attempt(event.id, now=event.next_attempt_at) == "delivered"
    assert [a.status_code for a in _attempts(event.id)] == [503, 503, 204]
    later = utcnow() + timedelta(days=2)
    assert attempt(event.id, now=later) is None and due_events(later) == []
    assert len(appointment_system.received()) == 1 and appointment_system.posts == 3
    assert appointment_system.refused == 0  # every attempt verified with the secret


def test_metrics_show_what_waits_for_the_appointment_system(client, confirmed_while_down):
    text = client.get("/metrics").get_data(as_text=True)
    assert 'patient_notifier_outbound_webhooks{status="pending"} 1.0' in text
    (age,) = [line for line in text.splitlines() if line.startswith(
        "patient_notifier_outbound_webhook_oldest_pending_age_seconds ")]
    assert float(age.split()[1]) >= 0


def test_down_past_the_limit_fails_alerts_and_ops_retry_it(app, appointment_system,
                                                          confirmed_while_down):
    event = confirmed_while_down
    assert event.give_up_at - event.created_at == timedelta(hours=24)
    assert attempt(event.id, now=event.give_up_at) == "failed"
    (alert,) = db.session.scalars(select(Alert)).all()
    assert (alert.kind, alert.status, alert.sample_ids) == (ALERT_KIND, "open", [event.id])
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["outbox", "list", "--status", "failed"])
    assert listed.exit_code == 0 and event.webhook_id in listed.output
    appointment_system.down = False
    retried = runner.invoke(args=["outbox", "retry"])
    assert retried.exit_code == 0 and "1 event(s) queued again" in retried.output
    drain(app)
    (event,) = outbox()
    assert event.status == "delivered" and len(appointment_system.received()) == 1
    assert runner.invoke(args=["outbox", "retry", "--id", str(event.id)]).exit_code == 2


def test_a_wrong_secret_is_refused_by_the_receiver_and_kept_pending(make_app, appointment_system):
    from tests.web.replies_support import reply_config
    app = make_app(**reply_config(appointment_system, APPOINTMENT_SYSTEM_WEBHOOK_SECRET=(
        "whsec_bm90LXRoZS1yZWNlaXZlcnMtc2VjcmV0LWF0LWFsbA==")))
    with app.app_context():
        book()
        remind(app)
        reply(app.test_client(), "X")
        drain(app)
        (event,) = outbox()
        assert event.status == "pending" and event.last_error == "HTTP 401"
        assert appointment_system.refused == 1 and appointment_system.received() == []


def test_without_a_receiver_configured_events_wait_in_the_outbox(make_app, appointment_system):
    app = make_app(REMINDER_WINDOW="10:00-14:00")
    with app.app_context():
        book()
        remind(app)
        reply(app.test_client(), "C")
        drain(app)
        (event,) = outbox()
        assert (event.status, event.attempts) == ("pending", 0)
        assert appointment_system.posts == 0


def test_a_receiver_without_a_secret_is_refused_at_start(make_app):
    with pytest.raises(ConfigError, match="APPOINTMENT_SYSTEM_WEBHOOK_SECRET"):
        make_app(APPOINTMENT_SYSTEM_WEBHOOK_URL="http://127.0.0.1:9/hooks")


def test_signatures_and_backoff_are_standard(app):
    headers = signed_headers(OUTBOUND_SECRET, "msg_1", '{"a": 1}', utcnow())
    assert headers["webhook-signature"].startswith("v1,") and headers["webhook-id"] == "msg_1"
    config = app.config
    waits = [backoff(n, config) for n in range(1, 12)]
    assert all(timedelta(seconds=15) <= wait <= timedelta(seconds=1800) for wait in waits)
