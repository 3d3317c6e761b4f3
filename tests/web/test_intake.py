"""POST /api/v1/appointment-events: signatures, validation, idempotency, failure answers."""
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from db import Appointment, InboundEvent, Notification, db
from tests.factories import TEST_SECRET, appointment, moved, post_event
from web.sample_event import signed_request

URL = "/api/v1/appointment-events"


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def nothing_stored() -> bool:
    return count(Appointment) == 0 and count(InboundEvent) == 0 and count(Notification) == 0


def test_created_appointment_is_stored_and_notifies_nobody(client):
    response = post_event(client, "appointment.created", appointment())
    assert response.status_code == 202
    assert response.json["outcome"] == "created"
    assert response.json["notifications"] == []
    assert count(Appointment) == 1 and count(Notification) == 0


def test_time_change_creates_one_notification_per_chosen_channel(client):
    first = appointment(patient={"preferred_channel": "both"})
    post_event(client, "appointment.created", first)
    response = post_event(client, "appointment.updated", moved(first, hours=2))
    assert response.status_code == 202
    assert response.json["outcome"] == "changed"
    assert sorted(n["channel"] for n in response.json["notifications"]) == ["email", "sms"]
    assert {n["kind"] for n in response.json["notifications"]} == {"change"}


def test_repeated_webhook_id_gets_the_first_answer_and_creates_nothing(client):
    first = appointment()
    post_event(client, "appointment.created", first)
    change = moved(first, hours=1)
    answer = post_event(client, "appointment.updated", change, webhook_id="msg_repeat")
    again = post_event(client, "appointment.updated", change, webhook_id="msg_repeat")
    assert again.status_code == answer.status_code == 202
    assert again.json == answer.json
    assert count(Notification) == 1


def test_same_change_under_another_webhook_id_notifies_once(client):
    first = appointment()
    post_event(client, "appointment.created", first)
    change = moved(first, hours=1)
    post_event(client, "appointment.updated", change)
    response = post_event(client, "appointment.updated", change)
    assert response.json["outcome"] == "stale"
    assert count(Notification) == 1


def test_older_update_is_ignored(client):
    first = appointment()
    post_event(client, "appointment.created", first)
    newer = moved(first, hours=1, seconds_later=120)
    post_event(client, "appointment.updated", newer)
    older = moved(first, hours=3, seconds_later=60)
    response = post_event(client, "appointment.updated", older)
    assert response.json["outcome"] == "stale"
    stored = db.session.execute(select(Appointment)).scalar_one()
    assert stored.starts_at == datetime.fromisoformat(newer["starts_at"])
    assert count(Notification) == 1


def test_cancellation_creates_a_cancellation_notice(client):
    first = appointment()
    post_event(client, "appointment.created", first)
    response = post_event(client, "appointment.cancelled", moved(first, status="cancelled"))
    assert [n["kind"] for n in response.json["notifications"]] == ["cancellation"]


def test_venue_change_is_a_change(client):
    first = appointment()
    post_event(client, "appointment.created", first)
    other = moved(first, location={"id": "L-2", "name": "Elm St Clinic",
                                   "address": "9 Elm St", "timezone": "America/New_York"})
    response = post_event(client, "appointment.updated", other)
    assert [n["kind"] for n in response.json["notifications"]] == ["change"]


def test_notify_on_create_setting_sends_a_booking_notice(make_app):
    app = make_app(NOTIFY_ON_CREATE=True)
    with app.app_context():
        response = post_event(app.test_client(), "appointment.created", appointment())
    assert [n["kind"] for n in response.json["notifications"]] == ["booking"]


def _signed(event=None, **kwargs):
    event = event or {"type": "appointment.created", "appointment": appointment()}
    return signed_request(TEST_SECRET, event, **kwargs)


@pytest.mark.parametrize("tamper", [
    "forged", "missing-signature", "missing-id", "missing-timestamp", "malformed",
    "not-base64", "stale", "future", "wrong-secret", "body-changed",
])
def test_bad_signatures_get_401_and_store_nothing(client, tamper):
    body, headers = _signed()
    if tamper == "forged":
        headers["webhook-signature"] = "v1,Zm9yZ2VkLXNpZ25hdHVyZS1mb3JnZWQtc2lnbmF0dXJlIQ=="
    elif tamper == "missing-signature":
        del headers["webhook-signature"]
    elif tamper == "missing-id":
        del headers["webhook-id"]
    elif tamper == "missing-timestamp":
        del headers["webhook-timestamp"]
    elif tamper == "malformed":
        headers["webhook-signature"] = "garbage-without-a-comma"
    elif tamper == "not-base64":
        headers["webhook-signature"] = "v1,%%%not base64%%%"
    elif tamper == "stale":
        body, headers = _signed(at=datetime.now(UTC) - timedelta(minutes=6))
    elif tamper == "future":
        body, headers = _signed(at=datetime.now(UTC) + timedelta(minutes=6))
    elif tamper == "wrong-secret":
        body, headers = signed_request("whsec_b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA==",
                                       {"type": "appointment.created",
                                        "appointment": appointment()})
    elif tamper == "body-changed":
        body = body.replace(b"Ada", b"Eve")
    response = client.post(URL, data=body, headers=headers)
    assert response.status_code == 401
    assert response.is_json
    assert nothing_stored()


def test_invalid_body_gets_422_naming_each_bad_field(client):
    appt = appointment()
    appt["starts_at"] = "next tuesday"
    appt["patient"]["phone"] = "555-CALL-ME"
    appt["patient"]["preferred_channel"] = "pigeon"
    del appt["location"]["name"]
    appt["status"] = 7
    response = post_event(client, "appointment.updated", appt)
    assert response.status_code == 422
    errors = response.json["errors"]["json"]["appointment"]
    assert set(errors) == {"starts_at", "patient", "location", "status"}
    assert set(errors["patient"]) == {"phone", "preferred_channel"}
    assert set(errors["location"]) == {"name"}
    assert nothing_stored()


def test_unknown_fields_are_ignored(client):
    appt = appointment()
    appt["colour"] = "teal"
    appt["patient"]["shoe_size"] = 9
    response = post_event(client, "appointment.created", appt)
    assert response.status_code == 202


def test_signed_body_that_is_not_json_gets_422(client):
    _body, headers = signed_request(TEST_SECRET, {"x": 1})
    from standardwebhooks.webhooks import Webhook
    raw = "{not json"
    headers["webhook-signature"] = Webhook(TEST_SECRET).sign(
        headers["webhook-id"], datetime.fromtimestamp(int(headers["webhook-timestamp"]),
                                                      UTC), raw)
    response = client.post(URL, data=raw, headers=headers)
    assert response.status_code == 422
    assert nothing_stored()


def test_cancelled_event_with_a_booked_body_is_refused(client):
    response = post_event(client, "appointment.cancelled", appointment(status="booked"))
    assert response.status_code == 422
    assert "appointment.status" in json.dumps(response.json)


def test_oversized_body_gets_413(client):
    appt = appointment()
    appt["padding"] = "x" * (65 * 1024)
    response = post_event(client, "appointment.created", appt)
    assert response.status_code == 413
    assert nothing_stored()


def test_database_down_gets_503(make_app):
    app = make_app(DATABASE_URL="postgresql://postgres@127.0.0.1:1/nowhere")
    with app.app_context():
        response = post_event(app.test_client(), "appointment.created", appointment())
    assert response.status_code == 503
    assert response.headers["Retry-After"]


def test_openapi_document_describes_the_webhook(client):
    spec = client.get("/api/v1/openapi.json").json
    operation = spec["paths"]["/api/v1/appointment-events"]["post"]
    assert {"202", "401", "413", "422", "503"} <= set(operation["responses"])


def test_notify_on_create_never_applies_to_an_etl_first_sight(make_app):
    from actors.appointments import apply_appointment_update
    from actors.schemas import AppointmentSchema
    app = make_app(NOTIFY_ON_CREATE=True)
    with app.app_context():
        result = apply_appointment_update(AppointmentSchema().load(appointment()), source="etl")
        db.session.commit()
        assert result.outcome == "created" and result.notifications == []
        assert count(Notification) == 0


def test_a_new_email_address_clears_the_old_ones_bounce(client):
    from db import Patient
    first = appointment()
    post_event(client, "appointment.created", first)
    db.session.execute(select(Patient)).scalar_one().email_undeliverable = True
    db.session.commit()
    post_event(client, "appointment.updated",
               moved(first, patient={**first["patient"], "email": "ada.new@example.org"}))
    db.session.expire_all()
    assert db.session.execute(select(Patient)).scalar_one().email_undeliverable is False
