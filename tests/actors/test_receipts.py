"""Nothing twice at the patient: receipts matched by notification id, and the provider asked
before a retry of an attempt whose outcome is unknown (actors.receipts, actors.delivery)."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from actors.channels import channels_for
from actors.delivery import deliver
from db import Notification, NotificationEvent, db, utcnow
from tests.actors.test_delivery import PHONE, change, notification
from tests.conftest import drain


@pytest.fixture
def twilio(fake_providers):
    return fake_providers[0]


@pytest.fixture
def smtp(fake_providers):
    return fake_providers[1]


@pytest.fixture
def served(app, twilio):
    """The app on a real port, where the fake Twilio POSTs its receipts."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    twilio.callback_rewrite = (app.config["PUBLIC_BASE_URL"],
                               f"http://127.0.0.1:{server.server_port}")
    yield server
    server.shutdown()


def sources(notification_id) -> list[tuple[str, str]]:
    return [(e.to_status, e.source) for e in db.session.execute(
        select(NotificationEvent).where(NotificationEvent.notification_id == notification_id)
        .order_by(NotificationEvent.id)).scalars()]


def test_receipt_sent_before_the_answer_ends_delivered(app, client, twilio, served):
    twilio.receipt_first = "delivered"  # Twilio calls back before it answers the send
    _, (nid,) = change(client)
    drain(app)
    db.session.rollback()
    assert twilio.receipts_sent == 1 and len(twilio.sent_to(PHONE)) == 1
    done = notification(nid)
    assert done.status == "delivered"
    assert done.provider == "twilio" and done.provider_message_id == twilio.messages[0]["sid"]
    assert sources(nid)[-2:] == [("sent", "twilio-callback"), ("delivered", "twilio-callback")]


def test_timed_out_send_is_found_at_twilio_and_not_sent_again(make_app, fake_providers):
    twilio, _ = fake_providers
    app = make_app(PROVIDER_TIMEOUT_SECONDS=0.5)
    twilio.swallow(1, seconds=2)  # Twilio takes the message; its answer comes too late
    with app.app_context():
        _, (nid,) = change(app.test_client())
        drain(app)
        assert len(twilio.sent_to(PHONE)) == 1 and twilio.lists == 1
        adopted = notification(nid)
        assert adopted.status == "sent" and adopted.attempts == 2
        assert adopted.provider_message_id == twilio.messages[0]["sid"]
        assert sources(nid)[-1] == ("sent", "reconcile")


class Crash(BaseException):
    """The worker process dies: nothing after the provider call runs."""


def test_attempt_crashed_after_twilio_took_it_is_adopted_when_the_lease_runs_out(
        app, client, twilio, monkeypatch):
    _, (nid,) = change(client)
    sms = channels_for(app)["sms"]
    real_send = sms.send_sms

    def send_then_die(*args, **kwargs):
        real_send(*args, **kwargs)
        raise Crash

    monkeypatch.setattr(sms, "send_sms", send_then_die)
    with pytest.raises(Crash):
        deliver(nid)
    db.session.rollback()
    monkeypatch.undo()
    crashed = notification(nid)
    assert crashed.status == "sending" and crashed.claimed_until > utcnow()
    crashed.claimed_until = utcnow() - timedelta(seconds=1)  # the lease ran out
    db.session.commit()
    deliver(nid)  # the sweep's or RabbitMQ's redelivery
    assert len(twilio.sent_to(PHONE)) == 1 and twilio.lists == 1
    assert notification(nid).status == "sent"


def test_a_different_text_is_not_adopted(app, client, twilio, monkeypatch):
    """Only the same text to the same number counts as the earlier attempt's message."""
    _, (nid,) = change(client)
    sms = channels_for(app)["sms"]
    real_send = sms.send_sms
    monkeypatch.setattr(sms, "send_sms", lambda to, body, **kw: (real_send(to, "other", **kw),
                                                                  (_ for _ in ()).throw(Crash)))
    with pytest.raises(Crash):
        deliver(nid)
    db.session.rollback()
    monkeypatch.undo()
    crashed = notification(nid)
    crashed.claimed_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    deliver(nid)
    assert [m["Body"] == "other" for m in twilio.sent_to(PHONE)] == [True, False]


def test_smtp_cannot_be_asked_and_sends_again_once(app, client, smtp, monkeypatch):
    _, (nid,) = change(client, channel="email")
    mail = channels_for(app)["email"]
    real_send = mail.send_email

    def send_then_die(*args, **kwargs):
        real_send(*args, **kwargs)
        raise Crash

    monkeypatch.setattr(mail, "send_email", send_then_die)
    with pytest.raises(Crash):
        deliver(nid)
    db.session.rollback()
    monkeypatch.undo()
    crashed = notification(nid)
    crashed.claimed_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    deliver(nid)
    assert len(smtp.messages) == 2  # one duplicate for one crash: SMTP has no list to ask
    assert db.session.get(Notification, nid).status == "sent"
