"""The broadcast pages: compose, preview, confirm (twice), progress, audit; staff only for
their own clinics."""
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from actors.broadcasts import draft
from db import AuditEntry, Broadcast, Location, Notification, db, utcnow
from tests.actors.test_broadcasts import LA, NY, _book, _location
from tests.web.admin.conftest import csrf_token, login


@pytest.fixture
def day(app):
    day = utcnow().astimezone(ZoneInfo(NY)).date() + timedelta(days=1)
    one, two = _location("L-1", NY), _location("L-2", LA)
    _book(one, day, 1), _book(one, day, 2, email=False), _book(two, day, 5)
    db.session.commit()
    return day


def _preview(client, day, clinic="L-1", **form):
    data = {"csrf_token": csrf_token(client, "/admin/broadcasts/"), "clinic": clinic,
            "day": day if isinstance(day, str) else day.isoformat(), "template": "closure",
            "channel": ["sms", "email"], **form}
    return client.post("/admin/broadcasts/preview", data=data)


def test_staff_preview_then_confirm_twice_queues_each_message_once(client, accounts, day):
    login(client, accounts["staff"])
    response = _preview(client, day)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-channel="sms"><td>sms</td><td class="booked">2</td><td class="reachable">2' \
        in page
    assert 'class="reachable">1' in page  # e-mail: one patient has no address
    assert "Clinic L-1 is closed" in page and "segment(s)" in page
    broadcast = db.session.scalar(select(Broadcast))
    confirm_url = f"/admin/broadcasts/{broadcast.id}/confirm"
    for _ in range(2):
        token = csrf_token(client, f"/admin/broadcasts/{broadcast.id}")
        assert client.post(confirm_url, data={"csrf_token": token}).status_code == 302
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 4
    page = client.get(f"/admin/broadcasts/{broadcast.id}").get_data(as_text=True)
    assert 'id="progress"' in page and 'data-status="queued"' in page
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions.count("broadcast") == 2 and "broadcast preview" in actions
    details = db.session.scalars(select(AuditEntry.detail).where(
        AuditEntry.action == "broadcast")).all()
    assert details[0].endswith(": 4 notifications") and details[1].endswith(": 0 notifications")


def test_staff_cannot_broadcast_to_or_see_another_clinic(client, accounts, day):
    other = draft(db.session.scalar(select(Location).where(Location.external_id == "L-2")),
                  day, template="delay", text=None, channels=["sms"], account="admin")
    db.session.commit()
    other = other.id
    login(client, accounts["staff"])
    assert _preview(client, day, clinic="L-2").status_code == 404
    assert client.get(f"/admin/broadcasts/{other}").status_code == 404
    token = csrf_token(client, "/admin/broadcasts/")
    assert client.post(f"/admin/broadcasts/{other}/confirm",
                       data={"csrf_token": token}).status_code == 404
    assert "L-2" not in client.get("/admin/broadcasts/").get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0


def test_a_viewer_may_not_open_broadcasts(client, accounts, day):
    login(client, accounts["viewer"])
    assert client.get("/admin/broadcasts/").status_code == 403


def test_a_bad_form_is_refused_with_its_reason(client, accounts, day):
    login(client, accounts["staff"])
    response = _preview(client, day, template="text", text="")
    assert response.status_code == 422 and "Choose a template" in response.get_data(as_text=True)
    assert _preview(client, "not-a-day").status_code == 422
