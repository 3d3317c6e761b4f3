"""Replies end to end on RabbitMQ and PostgreSQL: a reminder SMS goes out through a real
worker, the patient's signed reply comes in over HTTP as Twilio posts it, the fake
appointment system on 127.0.0.1 verifies and receives exactly one event, and the patient
gets exactly one acknowledgement."""
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from werkzeug.serving import make_server

from actors.reminders.dispatch import dispatch
from actors.reminders.plan import plan
from db import db, utcnow
from fakes.twilio_inbound import inbound_form, post_reply
from tests.conftest import TWILIO_SID, TWILIO_TOKEN, on_rabbitmq, running_worker
from tests.services import wait_until
from tests.web import replies_support as support
from tests.web.replies_support import (
    OUR_NUMBER,
    PHONE,
    book,
    reply_config,
)

# The fixtures this module uses, shared with the other reply tests.
appointment_system = support.appointment_system
appointment_system_server = support.appointment_system_server

PUBLIC = "https://notify.clinic.example"  # PUBLIC_BASE_URL of the test config: Twilio's view


@pytest.fixture
def rabbit_app(make_app, rabbitmq_url, appointment_system):
    with on_rabbitmq(make_app, rabbitmq_url, **reply_config(appointment_system)) as app, \
            app.app_context():
        yield app


@contextmanager
def serving(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.mark.parametrize(("body", "event_type", "ack"), [
    ("C", "appointment.confirmed", "is confirmed"),
    ("x", "appointment.cancellation_requested", "asked Main St Clinic to cancel"),
])
def test_a_reply_reaches_the_appointment_system_once_and_is_acknowledged_once(
        rabbit_app, fake_providers, appointment_system, body, event_type, ack):
    twilio, _ = fake_providers
    with running_worker(rabbit_app, threads=4), serving(rabbit_app) as url:
        book()
        plan(utcnow())
        db.session.commit()
        assert dispatch(utcnow() + timedelta(hours=4)) == 1
        assert wait_until(lambda: twilio.sent_to(PHONE), timeout=30, what="the reminder")
        assert "Reply C to confirm" in twilio.sent_to(PHONE)[0]["Body"]

        form = inbound_form(PHONE, body, to=OUR_NUMBER, account_sid=TWILIO_SID)
        assert post_reply(url, PUBLIC, TWILIO_TOKEN, form).status_code == 200
        assert post_reply(url, PUBLIC, TWILIO_TOKEN, form).status_code == 200  # Twilio's retry
        wait_until(lambda: appointment_system.received() and len(twilio.sent_to(PHONE)) == 2,
                   timeout=30, what="the event and the acknowledgement")
        time.sleep(1.5)  # anything sent twice would have arrived by now
    (event,) = appointment_system.received()
    assert (event["type"], event["appointment_id"], event["patient_id"]) == (
        event_type, "A-1001", "P-1")
    assert appointment_system.refused == 0 and appointment_system.posts == 1
    messages = twilio.sent_to(PHONE)
    assert len(messages) == 2 and ack in messages[1]["Body"]
