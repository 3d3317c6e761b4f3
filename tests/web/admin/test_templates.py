"""Templates edited in the admin: preview on sample data, segment count, versions, and the
newest version is what the next send uses."""
from sqlalchemy import select

from actors.delivery import deliver
from actors.reminders.keys import reminder_key
from actors.rendering import compile_source, context_for, render
from db import Notification, TemplateVersion, db, transition, utcnow
from tests.web.admin.conftest import PHONE, csrf_token, login

NAME = "reminder.sms.en.txt"
URL = f"/admin/templates/edit/{NAME}"


def test_preview_shows_the_sample_text_and_segments_without_saving(client, accounts):
    login(client, accounts["admin"])
    page = client.get(URL).get_data(as_text=True)
    assert "Hi Ada, reminder: Main St Clinic" in page and "1 SMS segment" in page
    long_text = "Hi {{ first_name }}, " + "x" * 200
    page = client.post(URL, data={"csrf_token": csrf_token(client, URL), "body": long_text,
                                  "preview": "1"}).get_data(as_text=True)
    assert "2 SMS segments" in page  # 208 GSM-7 characters: 153 per segment
    assert db.session.scalars(select(TemplateVersion)).all() == []


def test_a_template_that_does_not_render_is_not_saved(client, accounts):
    login(client, accounts["admin"])
    page = client.post(URL, data={"csrf_token": csrf_token(client, URL),
                                  "body": "Hi {{ diagnosis }}", "save": "1"})
    assert "UndefinedError" in page.get_data(as_text=True)
    assert db.session.scalars(select(TemplateVersion)).all() == []


def test_saved_versions_are_numbered_and_the_newest_is_sent(client, accounts, clinic,
                                                           fake_providers):
    twilio, _ = fake_providers
    login(client, accounts["admin"])
    for body in ("Old {{ first_name }}", "Hello {{ first_name }}, see you at {{ clinic }}."):
        assert client.post(URL, data={"csrf_token": csrf_token(client, URL), "body": body,
                                      "save": "1"}).status_code == 302
    versions = db.session.scalars(select(TemplateVersion).order_by(TemplateVersion.version)).all()
    assert [(v.version, v.created_by) for v in versions] == [(1, accounts["admin"]),
                                                              (2, accounts["admin"])]
    appointment, patient = clinic.appointment, clinic.patient
    rendered = render("reminder", "sms", context_for(appointment, patient, appointment.location),
                      "en")
    assert rendered.body == "Hello Ada, see you at Main St Clinic."
    # A real send through the fake Twilio carries the edited text.
    reminder = Notification(appointment=appointment, patient=patient, kind="reminder",
                            channel="sms", status="planned", due_at=utcnow(), revision=1,
                            dedupe_key=reminder_key(appointment.id, appointment.local_date,
                                                    "sms", "template-test"))
    db.session.add(reminder)
    db.session.flush()
    transition(reminder, "queued", source="dispatch")
    db.session.commit()
    deliver(reminder.id)
    assert twilio.sent_to(PHONE)[-1]["Body"] == "Hello Ada, see you at Main St Clinic."


def test_an_edited_html_template_still_escapes_what_it_inserts():
    template = compile_source("reminder.email.en.html", "<p>{{ first_name }}</p>")
    assert template.render(first_name="<b>x</b>") == "<p>&lt;b&gt;x&lt;/b&gt;</p>"
    text = compile_source("reminder.email.en.txt", "{{ first_name }}")
    assert text.render(first_name="<b>x</b>") == "<b>x</b>"


def test_staff_cannot_open_templates(client, accounts):
    login(client, accounts["staff"])
    assert client.get(URL).status_code == 403
