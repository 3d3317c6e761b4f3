"""Rotating the webhook secret without downtime: both secrets are accepted during the switch.

The procedure (docs/operations.md): set WEBHOOK_SECRET_PREVIOUS to the old secret and
WEBHOOK_SECRET to the new one, roll out, switch the appointment system to the new secret,
then unset WEBHOOK_SECRET_PREVIOUS and roll out again.
"""
import base64
from datetime import UTC, datetime, timedelta

import pytest

from web.sample_event import sample_appointment, signed_request

OLD = "whsec_" + base64.b64encode(b"the-secret-being-rotated-out!!").decode()
NEW = "whsec_" + base64.b64encode(b"the-secret-being-rotated-in!!!").decode()
OTHER = "whsec_" + base64.b64encode(b"a-secret-nobody-configured!!!!").decode()


def post(client, secret, appointment_id):
    event = {"type": "appointment.created", "appointment": sample_appointment(
        days_ahead=10, hour=9, appointment_id=appointment_id,
        updated_at=datetime.now(UTC) - timedelta(minutes=1))}
    body, headers = signed_request(secret, event)
    return client.post("/api/v1/appointment-events", data=body, headers=headers)


@pytest.fixture
def rotating_client(make_app):
    app = make_app(WEBHOOK_SECRET=NEW, WEBHOOK_SECRET_PREVIOUS=OLD)
    with app.app_context():
        yield app.test_client()


@pytest.mark.parametrize("secret", [NEW, OLD], ids=["current", "previous"])
def test_either_configured_secret_is_accepted_during_rotation(rotating_client, secret):
    response = post(rotating_client, secret, f"A-ROT-{secret[-6:]}")
    assert response.status_code == 202, response.get_json()


def test_a_secret_that_is_neither_is_refused(rotating_client):
    assert post(rotating_client, OTHER, "A-ROT-OTHER").status_code == 401


def test_after_rotation_the_old_secret_is_refused(make_app):
    app = make_app(WEBHOOK_SECRET=NEW, WEBHOOK_SECRET_PREVIOUS=None)
    with app.app_context():
        client = app.test_client()
        assert post(client, OLD, "A-ROT-AFTER-OLD").status_code == 401
        assert post(client, NEW, "A-ROT-AFTER-NEW").status_code == 202
