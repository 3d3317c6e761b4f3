"""The admin's pause switch (web/admin/pause_views.py): an admin pauses one clinic and only
its reminders wait, as with ``flask --app web pause``; resumed, they go out; each switch is
in the audit log under the admin's account; staff read the page but cannot switch."""
import pytest
from sqlalchemy import select

from actors.reminders.dispatch import dispatch
from db import AuditEntry, db
from db.pauses import SendPause, pause
from tests.actors.test_pauses import PHONES, book_both_clinics, due_now, reminder
from tests.conftest import drain
from tests.web.admin.conftest import FAST_HASH, csrf_token, login

PAGE = "/admin/pauses/"


@pytest.fixture
def app(make_app):
    app = make_app(REMINDER_WINDOW="10:00-14:00", **FAST_HASH)
    with app.app_context():
        yield app


def switch(client, action: str, **form):
    token = csrf_token(client, PAGE)
    return client.post(f"{PAGE}{action}", data={"csrf_token": token, **form})


def test_pausing_a_clinic_in_the_admin_holds_back_only_its_reminders(app, client, accounts,
                                                                    fake_providers):
    twilio, _ = fake_providers
    book_both_clinics()
    login(client, accounts["admin"])
    page = client.get(PAGE).get_data(as_text=True)
    assert "Nothing is paused." in page and 'value="clinic:L-1"' in page

    response = switch(client, "pause", target="clinic:L-1", reason="wrong template")
    assert response.status_code == 302
    db.session.expire_all()
    [row] = db.session.execute(select(SendPause)).scalars()
    assert row.location.external_id == "L-1" and row.paused_by == accounts["admin"]
    assert "clinic L-1" in client.get(PAGE).get_data(as_text=True)

    assert dispatch(due_now()) == 1
    drain(app)
    assert reminder("L-1").status == "planned" and twilio.sent_to(PHONES["L-1"]) == []
    assert reminder("L-2").status == "sent"

    assert switch(client, "resume", target="clinic:L-1").status_code == 302
    assert dispatch(due_now()) == 1
    drain(app)
    assert reminder("L-1").status == "sent" and len(twilio.sent_to(PHONES["L-1"])) == 1

    entries = db.session.execute(select(AuditEntry.action, AuditEntry.object_type,
                                        AuditEntry.object_id, AuditEntry.account)
                                 .where(AuditEntry.action.like("send-%"))
                                 .order_by(AuditEntry.id)).all()
    assert entries == [("send-paused", "location", "L-1", accounts["admin"]),
                       ("send-resumed", "location", "L-1", accounts["admin"])]


def test_a_channel_pause_needs_a_reason_and_a_csrf_token(app, client, accounts):
    login(client, accounts["admin"])
    assert client.post(f"{PAGE}pause", data={"target": "channel:sms", "reason": "incident"}
                       ).status_code in (302, 400)
    switch(client, "pause", target="channel:sms", reason="")
    switch(client, "pause", target="channel:fax", reason="incident")
    db.session.expire_all()
    assert db.session.execute(select(SendPause)).scalars().all() == []
    switch(client, "pause", target="channel:sms", reason="provider incident")
    db.session.expire_all()
    assert [row.channel for row in db.session.execute(select(SendPause)).scalars()] == ["sms"]


def test_staff_see_what_is_paused_but_cannot_switch(app, client, accounts):
    pause(channel="email", reason="provider incident", by=accounts["admin"])
    db.session.commit()
    login(client, accounts["staff"])
    page = client.get(PAGE).get_data(as_text=True)
    assert "channel email" in page and "provider incident" in page
    assert "pause-form" not in page and "Resume" not in page
    token = csrf_token(client, PAGE)
    response = client.post(f"{PAGE}resume", data={"csrf_token": token, "target": "channel:email"})
    assert response.status_code == 403
    db.session.expire_all()
    assert len(db.session.execute(select(SendPause)).scalars().all()) == 1
