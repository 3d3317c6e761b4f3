"""The patients' pages: Confirm / Cancel links (/r/) act once, and only by POST; the
preferences page and RFC 8058 one-click unsubscribe (/u/) win over upstream's channel."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from actors.appointments import apply_appointment_update
from actors.links import preferences_token, reply_token
from actors.schemas import AppointmentSchema
from db import Appointment, ConsentChange, Patient, db, utcnow
from tests.conftest import drain
from tests.factories import EMAIL_ADDRESS, moved
from tests.web import replies_support as support
from tests.web.replies_support import (
    book,
    notifications,
    outbox,
    remind,
)

# The fixtures this module uses, shared with the other reply tests.
app = support.app
appointment_system = support.appointment_system
appointment_system_server = support.appointment_system_server

LINK = re.compile(r"https://notify\.clinic\.example(/[ru]/[\w.-]+)")


@pytest.fixture
def emailed(app, fake_providers):
    """A reminder e-mail went out; returns (its links by path kind, the notification)."""
    _, smtp = fake_providers
    data = book(preferred_channel="email")
    assert remind(app) == 1
    (sent,) = smtp.sent_to(EMAIL_ADDRESS)
    text = sent.get_body(("plain",)).get_content()
    links = LINK.findall(text)
    (notification,) = notifications(kind="reminder")
    return {"confirm": links[0], "cancel": links[1], "preferences": links[2],
            "message": sent, "data": data, "notification": notification}


def test_confirm_link_shows_a_page_acts_once_by_post(app, client, emailed, appointment_system):
    page = client.get(emailed["confirm"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.count("<button") == 1
    assert "Ada" in html and "Main St Clinic" in html and "3:30" in html
    assert "Lovelace" not in html and "1 Main St" not in html  # first name, clinic, date, time
    assert outbox() == []  # a mail scanner's GET does nothing
    done = client.post(emailed["confirm"])
    assert done.status_code == 200 and "knows you are coming" in done.get_data(as_text=True)
    drain(app)
    (event,) = appointment_system.received()
    assert (event["type"], event["channel"], event["appointment_id"]) == (
        "appointment.confirmed", "email", "A-1001")
    again = client.post(emailed["confirm"])
    assert again.status_code == 409 and "already have your answer" in again.get_data(as_text=True)
    drain(app)
    assert len(appointment_system.received()) == 1 and len(outbox()) == 1


def test_cancel_link_asks_the_appointment_system(app, client, emailed, appointment_system):
    assert "Ask the clinic to cancel" in client.get(emailed["cancel"]).get_data(as_text=True)
    assert client.post(emailed["cancel"]).status_code == 200
    drain(app)
    (event,) = appointment_system.received()
    assert event["type"] == "appointment.cancellation_requested"


@pytest.mark.parametrize("mangle", [lambda p: p[:-2], lambda p: p[:-3] + "xyz",
                                    lambda p: "/r/" + "A" * 500, lambda p: "/r/%00%ff",
                                    lambda p: p.replace("/r/", "/u/")])
def test_tampered_links_get_a_clear_page(client, emailed, mangle):
    for method in (client.get, client.post):
        answer = method(mangle(emailed["confirm"]))
        assert answer.status_code == 400, answer.status_code
        assert "not valid" in answer.get_data(as_text=True)
    assert outbox() == []


def test_expired_links_get_a_clear_page(app, client, emailed):
    cancelled = moved(emailed["data"], status="cancelled")
    apply_appointment_update(AppointmentSchema().load(cancelled), source="test")
    db.session.commit()
    for method in (client.get, client.post):
        answer = method(emailed["confirm"])
        assert answer.status_code == 410 and "expired" in answer.get_data(as_text=True)
    assert outbox() == []


def test_a_link_expires_when_its_appointment_has_passed(client, emailed):
    appointment = emailed["notification"].appointment
    db.session.execute(update(Appointment).where(Appointment.id == appointment.id)
                       .values(starts_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    answer = client.post(emailed["cancel"])
    assert answer.status_code == 410 and "expired" in answer.get_data(as_text=True)
    assert outbox() == []


def test_a_link_of_an_sms_or_unknown_notification_is_not_valid(client, emailed):
    assert client.get(f"/r/{reply_token(999_999, 'confirm')}").status_code == 400


def test_every_email_carries_one_click_unsubscribe_headers(emailed):
    message = emailed["message"]
    assert message["List-Unsubscribe"].strip() == (  # folded: a long URL starts a line
        f"<https://notify.clinic.example{emailed['preferences']}>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_one_click_unsubscribe_stops_the_next_email_reminder(app, client, emailed,
                                                            fake_providers):
    _, smtp = fake_providers
    answer = client.post(emailed["preferences"], data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    (patient,) = db.session.scalars(select(Patient)).all()
    assert patient.email_opted_out
    (change,) = db.session.scalars(select(ConsentChange)).all()
    assert (change.channel, change.opted_out, change.source) == ("email", True,
                                                                "email-unsubscribe")
    book(id="A-2002", preferred_channel="email")
    remind(app)
    assert len(smtp.sent_to(EMAIL_ADDRESS)) == 1
    assert notifications(kind="reminder")[-1].status == "suppressed"


def test_a_choice_on_the_page_survives_the_next_pull_that_says_otherwise(app, client, emailed):
    page = client.get(emailed["preferences"]).get_data(as_text=True)
    assert page.count('type="radio"') == 4 and 'value="email" checked' in page
    saved = client.post(emailed["preferences"], data={"choice": "sms"})
    assert saved.status_code == 200 and 'value="sms" checked' in saved.get_data(as_text=True)
    upstream = moved(emailed["data"], hours=1)
    upstream["patient"]["preferred_channel"] = "email"
    apply_appointment_update(AppointmentSchema().load(upstream), source="etl")
    db.session.commit()
    db.session.expire_all()
    (patient,) = db.session.scalars(select(Patient)).all()
    assert (patient.preferred_channel, patient.email_opted_out) == ("sms", True)
    history = db.session.scalars(select(ConsentChange).order_by(ConsentChange.id)).all()
    assert [(c.channel, c.opted_out, c.source) for c in history] == [
        ("sms", False, "patient-page"), ("email", True, "patient-page")]
    client.post(emailed["preferences"], data={"choice": "both"})
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).preferred_channel == "both"


def test_pages_speak_spanish_to_a_spanish_patient(app, client, fake_providers):
    book(preferred_channel="email", language="es")
    remind(app)
    (notification,) = notifications(kind="reminder")
    html = client.get(f"/r/{reply_token(notification.id, 'confirm')}").get_data(as_text=True)
    assert 'lang="es"' in html and "Confirmar mi cita" in html
    html = client.get(f"/u/{preferences_token(notification.id)}").get_data(as_text=True)
    assert "Correo electrónico" in html
