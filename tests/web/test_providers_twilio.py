"""Twilio delivery receipts and replies, signed the way Twilio signs them."""
import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from db import ConsentChange, Notification, db
from tests.conftest import TWILIO_TOKEN, drain
from tests.factories import PATIENT, appointment, moved, post_event

PUBLIC = "https://notify.clinic.example"  # PUBLIC_BASE_URL of the test config
PHONE = PATIENT["phone"]


def twilio_post(client, path, params, *, token=TWILIO_TOKEN, url=None, signature=None,
                sign=True):
    headers = {}
    if sign:
        headers["X-Twilio-Signature"] = signature or RequestValidator(token).compute_signature(
            url or PUBLIC + path, params)
    return client.post(path, data=params, headers=headers)


def status_callback(client, sid, status, **extra):
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC1", **extra}
    return twilio_post(client, "/api/v1/twilio/status", params)


def reply(client, body, sender=PHONE, **options):
    params = {"MessageSid": "SMin1", "From": sender, "To": "+13125550199", "Body": body}
    return twilio_post(client, "/api/v1/twilio/inbound", params, **options)


def send_change(client, app, *, hours=1, first=None):
    """Book, then move the appointment: one change notice by SMS, sent through Twilio."""
    first = first or appointment()
    if not db.session.execute(select(Notification)).first():
        post_event(client, "appointment.created", first)
    second = moved(first, hours=hours)
    (created,) = post_event(client, "appointment.updated", second).json["notifications"]
    drain(app)
    return second, fresh(created["id"])


def fresh(notification_id) -> Notification:
    db.session.expire_all()
    return db.session.get(Notification, notification_id)


@pytest.fixture
def sent(app, client, fake_providers):
    _, notification = send_change(client, app)
    assert notification.status == "sent"
    return notification


@pytest.mark.parametrize("status, code", [("delivered", None), ("undelivered", "30003"),
                                          ("failed", "30008")])
def test_signed_callback_moves_the_notification(client, sent, status, code):
    extra = {"ErrorCode": code} if code else {}
    assert status_callback(client, sent.provider_message_id, status, **extra).status_code == 204
    after = fresh(sent.id)
    assert after.status == status and after.error_code == code
    assert after.events[-1].source == "twilio-callback"
    assert after.events[-1].error_code == code


@pytest.mark.parametrize("headers", [{}, {"X-Twilio-Signature": "Zm9yZ2Vk"}])
def test_forged_or_missing_signature_is_refused_and_changes_nothing(client, sent, headers):
    params = {"MessageSid": sent.provider_message_id, "MessageStatus": "delivered"}
    response = client.post("/api/v1/twilio/status", data=params, headers=headers)
    assert response.status_code == 403
    assert fresh(sent.id).status == "sent"


def test_signature_by_another_token_or_for_the_internal_url_is_refused(client, sent):
    params = {"MessageSid": sent.provider_message_id, "MessageStatus": "delivered"}
    assert twilio_post(client, "/api/v1/twilio/status", params,
                       token="someone-else").status_code == 403
    # What the app sees behind a TLS-terminating proxy is not what Twilio signed.
    assert twilio_post(client, "/api/v1/twilio/status", params,
                       url="http://localhost/api/v1/twilio/status").status_code == 403
    assert fresh(sent.id).status == "sent"


def test_late_and_duplicated_callbacks_change_nothing(client, sent):
    sid = sent.provider_message_id
    status_callback(client, sid, "delivered")
    for status in ("sent", "queued", "delivered", "undelivered"):
        assert status_callback(client, sid, status).status_code == 204
    after = fresh(sent.id)
    assert after.status == "delivered"
    assert [e.to_status for e in after.events] == ["queued", "sending", "sent", "delivered"]


def test_callback_for_an_unknown_message_is_accepted_and_ignored(client, app):
    assert status_callback(client, "SMunknown", "delivered").status_code == 204


def test_stop_suppresses_the_next_message_and_start_reverses_it(app, client, fake_providers):
    twilio, _ = fake_providers
    first = appointment()
    second, _ = send_change(client, app, first=first)
    response = reply(client, "Stop ")
    assert response.status_code == 200 and response.mimetype == "text/xml"
    third, suppressed = send_change(client, app, first=second)
    assert suppressed.status == "suppressed" and suppressed.reason == "patient opted out of SMS"
    assert len(twilio.sent_to(PHONE)) == 1

    assert reply(client, "START").status_code == 200
    _, delivered = send_change(client, app, first=third)
    assert delivered.status == "sent"
    assert len(twilio.sent_to(PHONE)) == 2
    history = db.session.execute(select(ConsentChange).order_by(ConsentChange.id)).scalars().all()
    assert [(c.channel, c.opted_out, c.source, c.reason) for c in history] == [
        ("sms", True, "sms-keyword", "replied STOP"),
        ("sms", False, "sms-keyword", "replied START")]


@pytest.mark.parametrize("body", ["STOP", "stop", " Stop ", "StopAll", "UNSUBSCRIBE", "cancel",
                                  "End", "quit", "REVOKE", "optout", "stop."])
def test_every_stop_variant_opts_out(app, client, body):
    send_change(client, app)
    assert reply(client, body).status_code == 200
    (change,) = db.session.execute(select(ConsentChange)).scalars().all()
    assert change.opted_out and change.source == "sms-keyword"


@pytest.mark.parametrize("body", ["yes", "UNSTOP", "start "])
def test_start_variants_opt_back_in(app, client, body):
    send_change(client, app)
    reply(client, "STOP")
    reply(client, body)
    changes = db.session.execute(select(ConsentChange).order_by(ConsentChange.id)).scalars().all()
    assert [c.opted_out for c in changes] == [True, False]


def test_a_sentence_containing_stop_is_not_a_keyword(app, client):
    send_change(client, app)
    reply(client, "please do not stop reminding me")
    assert db.session.execute(select(ConsentChange)).first() is None


def test_help_answers_with_the_clinics_contact(app, client):
    send_change(client, app)
    response = reply(client, "help")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "<Message>" in text and "Main St Clinic" in text and "+13125550123" in text
    assert db.session.execute(select(ConsentChange)).first() is None


def test_help_answers_with_the_clinics_own_help_contact_when_set(app, client):
    from actors.clinic_settings import forget_clinic_settings
    from db import Location
    from db.clinic_settings import ClinicSettings
    send_change(client, app)
    location = db.session.scalar(select(Location))
    db.session.add(ClinicSettings(location_id=location.id, help_contact="+13125550999"))
    db.session.commit()
    forget_clinic_settings()
    text = reply(client, "help").get_data(as_text=True)
    assert "+13125550999" in text and "+13125550123" not in text


def test_help_from_an_unknown_number_gets_the_fallback_contact(app, client):
    text = reply(client, "HELP", sender="+13125550777").get_data(as_text=True)
    assert "your clinic" in text


def test_inbound_with_a_forged_signature_records_nothing(app, client):
    send_change(client, app)
    assert reply(client, "STOP", signature="Zm9yZ2Vk").status_code == 403
    assert reply(client, "STOP", sign=False).status_code == 403
    assert db.session.execute(select(ConsentChange)).first() is None
