"""SMS replies C / X: matched to the appointment, stored, told to the appointment system,
acknowledged in the patient's language; the rest to the clinic's inbox; CANCEL opts out."""
import logging
import re
from datetime import timedelta

from sqlalchemy import update

from db import ConsentChange, Notification, db
from tests.conftest import drain
from tests.web import replies_support as support
from tests.web.replies_support import (
    PHONE,
    book,
    notifications,
    outbox,
    remind,
    reply,
    responses,
)

# The fixtures this module uses, shared with the other reply tests.
app = support.app
appointment_system = support.appointment_system
appointment_system_server = support.appointment_system_server


def test_c_confirms_once_tells_the_appointment_system_and_acknowledges(app, client,
                                                                       fake_providers,
                                                                       appointment_system):
    twilio, _ = fake_providers
    book()
    assert remind(app) == 1
    (reminder,) = twilio.sent_to(PHONE)
    assert "Reply C to confirm, X to cancel" in reminder["Body"]
    assert notifications(kind="reminder")[0].segments == 1  # recorded with the send
    for _ in range(2):  # Twilio retries a webhook it thinks failed: the same MessageSid
        assert reply(client, " c ").status_code == 200
    drain(app)
    (response,) = responses()
    assert (response.kind, response.channel, response.raw_text) == ("confirm", "sms", " c ")
    assert response.appointment.external_id == "A-1001" and not response.needs_staff
    (event,) = appointment_system.received()
    assert event["type"] == "appointment.confirmed"
    assert (event["appointment_id"], event["patient_id"], event["channel"]) == (
        "A-1001", "P-1", "sms")
    assert event["received_at"].endswith("Z") and appointment_system.refused == 0
    assert outbox()[0].status == "delivered"
    messages = twilio.sent_to(PHONE)
    assert len(messages) == 2 and "is confirmed" in messages[1]["Body"]
    (ack,) = notifications(kind="reply")
    assert ack.appointment_id == response.appointment_id and ack.status == "sent"
    assert ack.segments == 1


def test_x_asks_to_cancel_and_is_acknowledged_in_spanish(app, client, fake_providers,
                                                         appointment_system):
    twilio, _ = fake_providers
    book(language="es")
    remind(app)
    assert "Responda C para confirmar, X para cancelar" in twilio.sent_to(PHONE)[0]["Body"]
    reply(client, "X")
    drain(app)
    (event,) = appointment_system.received()
    assert event["type"] == "appointment.cancellation_requested"
    ack = twilio.sent_to(PHONE)[-1]["Body"]
    assert ack.startswith("Gracias") and "cancelar su cita" in ack
    # We never cancel locally: the appointment system decides.
    assert notifications(kind="reminder")[0].appointment.status == "booked"


def test_a_shared_number_resolves_to_the_appointment_it_heard_about_last(app, client,
                                                                         fake_providers,
                                                                         appointment_system):
    book(id="A-1", patient={"id": "P-parent"})
    remind(app)
    book(id="A-2", patient={"id": "P-child", "given_name": "Byron"})
    remind(app)
    first, second = notifications(kind="reminder")
    db.session.execute(update(Notification).where(Notification.id == first.id)
                       .values(sent_at=second.sent_at + timedelta(minutes=5)))
    db.session.commit()
    reply(client, "CONFIRM")
    drain(app)
    (event,) = appointment_system.received()
    assert (event["appointment_id"], event["patient_id"]) == ("A-1", "P-parent")


def test_a_reply_after_the_window_goes_to_the_inbox_and_asks_to_call(app, client,
                                                                    fake_providers,
                                                                    appointment_system):
    twilio, _ = fake_providers
    book()
    remind(app)
    (reminder,) = notifications(kind="reminder")
    db.session.execute(update(Notification).values(sent_at=reminder.sent_at - timedelta(days=8)))
    db.session.commit()
    reply(client, "C")
    drain(app)
    (response,) = responses()
    assert response.needs_staff and response.appointment_id is None
    assert response.location.name == "Main St Clinic"
    assert appointment_system.received() == [] and outbox() == []
    assert "Please call Main St Clinic at +13125550123" in twilio.sent_to(PHONE)[-1]["Body"]


def test_an_unclear_reply_goes_to_the_inbox_and_its_text_never_to_a_log(app, client, caplog,
                                                                       fake_providers,
                                                                       appointment_system):
    twilio, _ = fake_providers
    book()
    remind(app)
    caplog.set_level(logging.DEBUG)
    reply(client, "running late, my knee hurts")
    drain(app)
    (response,) = responses()
    assert (response.kind, response.needs_staff) == ("unclear", True)
    assert response.raw_text == "running late, my knee hurts"
    assert "could not match your reply" in twilio.sent_to(PHONE)[-1]["Body"]
    assert appointment_system.received() == []
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "knee" not in logged and PHONE not in logged


def test_a_number_no_patient_has_is_answered_and_kept_for_staff(app, client, appointment_system):
    answer = reply(client, "C", sender="+13125550177")
    assert "Please call" in answer.get_data(as_text=True)
    (response,) = responses()
    assert response.needs_staff and response.location_id is None and response.patient_id is None


def test_cancel_still_opts_out_and_says_how_to_cancel_the_appointment(app, client,
                                                                     fake_providers,
                                                                     appointment_system):
    book()
    remind(app)
    answer = reply(client, "Cancel").get_data(as_text=True)
    assert "To cancel your appointment, call Main St Clinic at +13125550123" in answer
    (change,) = db.session.query(ConsentChange).all()
    assert change.opted_out and change.source == "sms-keyword"
    assert responses() == [] and appointment_system.received() == []


def test_the_answer_is_on_the_appointment_timeline(app, client, appointment_system):
    from tests.web.admin.conftest import PASSWORD, login
    from web.admin.cli import seed_demo_account
    book()
    remind(app)
    reply(client, "C")
    drain(app)
    # An admin sees every clinic, whichever clinics staff accounts are limited to.
    seed_demo_account("admin@clinic.example", PASSWORD, role="admin")
    login(client, "admin@clinic.example")
    (response,) = responses()
    page = client.get(f"/admin/appointment/timeline/{response.appointment_id}")
    html = page.get_data(as_text=True)
    (line,) = re.findall(r'<li class="answer">(.*?)</li>', html, re.DOTALL)
    assert "confirm" in line and "delivered" in line  # what, and that the system was told
    assert "reply" in html  # the acknowledgement is one of the appointment's notifications


def test_a_reply_that_overtakes_our_record_of_the_send_is_still_matched(app, client,
                                                                        fake_providers,
                                                                        appointment_system):
    """The patient has the SMS, and answers it, while the provider's answer to our send is
    not yet committed: the reminder is still ``sending``, and the reply still belongs to it."""
    book()
    assert remind(app) == 1
    db.session.execute(update(Notification).where(Notification.kind == "reminder")
                       .values(status="sending", sent_at=None))
    db.session.commit()
    assert reply(client, "C").status_code == 200
    drain(app)
    (response,) = responses()
    assert response.appointment.external_id == "A-1001" and not response.needs_staff
    (event,) = appointment_system.received()
    assert event["type"] == "appointment.confirmed"


def test_a_reply_about_an_appointment_since_moved_to_another_patient_is_not_theirs(
        app, client, fake_providers, appointment_system):
    # The appointment system gave the booking to another patient after the reminder went
    # out: the first patient's "C" must not confirm someone else's appointment.
    book()
    assert remind(app) == 1
    book(patient={"id": "P-2", "phone": "+13125550199"})
    reply(client, "C")
    drain(app)
    (response,) = responses()
    assert response.needs_staff and response.appointment_id is None
    assert appointment_system.received() == [] and outbox() == []
