"""The call list: exactly the patients of a seeded day whose reminder did not reach them;
"called" is audited; the CSV export is audited and neutralises formula cells."""
import csv
import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from actors.accounting.call_list import call_list
from db import (
    Appointment,
    AuditEntry,
    Location,
    Notification,
    Patient,
    db,
    transition,
    utcnow,
)
from db.staff import StaffCall
from tests.web.admin.conftest import csrf_token, login
from web.admin.call_list_views import neutralise

ZONE = "America/Chicago"


def _appointment(location, external_id, patient_id, *, phone="+13125550100"):
    patient = Patient(external_id=patient_id, given_name="Pat", family_name=f"Doe {external_id}",
                      phone=phone, email=f"{abs(hash(patient_id))}@example.org",
                      preferred_channel="both", language="en")
    starts = utcnow() + timedelta(days=3)
    appointment = Appointment(external_id=external_id, patient=patient, location=location,
                              status="booked", starts_at=starts, local_date=starts.date(),
                              source_updated_at=utcnow(), revision=1)
    db.session.add(appointment)
    db.session.flush()
    return appointment


def _reminder(appointment, channel, *path, reason=None):
    notification = Notification(appointment=appointment, patient=appointment.patient,
                                kind="reminder", channel=channel, status="planned",
                                due_at=utcnow() - timedelta(minutes=30), revision=1,
                                dedupe_key=f"r:{appointment.id}:{channel}")
    db.session.add(notification)
    db.session.flush()
    for step in path:
        if step == "sent":
            notification.provider = "twilio" if channel == "sms" else "ses"
        transition(notification, step, source="send",
                   reason=reason if step in ("failed", "undelivered") else None)
    return notification


def _seed():
    location = Location(external_id="L-1", name="Main St Clinic", address="1 Main St",
                        timezone=ZONE)
    db.session.add(location)
    sending = ("queued", "sending")
    unreached = _appointment(location, "A-1", "P-1")
    _reminder(unreached, "sms", *sending, "failed", reason="unknown destination")
    delivered = _appointment(location, "A-2", "P-2")
    _reminder(delivered, "sms", *sending, "sent", "delivered")
    by_email = _appointment(location, "A-3", "P-3")  # the SMS failed, the e-mail arrived
    _reminder(by_email, "sms", *sending, "failed", reason="unknown destination")
    _reminder(by_email, "email", *sending, "sent", "delivered")
    bounced = _appointment(location, "A-4", "P-4")
    _reminder(bounced, "email", *sending, "sent", "undelivered", reason="hard bounce")
    cancelled = _appointment(location, "A-5", "P-5")
    _reminder(cancelled, "sms", "cancelled")
    hostile = _appointment(location, "@A-7", "=HYPERLINK(\"http://x\")", phone="+13125550111")
    _reminder(hostile, "sms", *sending, "failed", reason="-1+1 =cmd")
    db.session.commit()
    # The clinic-local day the reminders were due.
    return (utcnow() - timedelta(minutes=30)).astimezone(ZoneInfo(ZONE)).date()


def test_the_page_lists_exactly_the_unreachable_patients_and_marks_a_call(client, accounts, app):
    day = _seed()
    assert {c.appointment for c in call_list(day)} == {"A-1", "A-4", "@A-7"}
    login(client, accounts["staff"])
    page = client.get(f"/admin/calls/?day={day}").get_data(as_text=True)
    assert set(re.findall(r'data-appointment="([^"]+)"', page)) == {"A-1", "A-4", "@A-7"}
    assert "+13125550100" in page and "unknown destination" in page and "hard bounce" in page

    token = csrf_token(client, f"/admin/calls/?day={day}")
    response = client.post("/admin/calls/called", data={
        "csrf_token": token, "appointment": "A-1", "kind": "reminder", "day": day.isoformat()})
    assert response.status_code == 302
    (call,) = db.session.scalars(select(StaffCall)).all()
    assert call.called_by == accounts["staff"] and call.local_date == day
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "called")).one()
    assert (entry.object_type, entry.object_id, entry.account) == (
        "appointment", "A-1", accounts["staff"])
    page = client.get(f"/admin/calls/?day={day}").get_data(as_text=True)
    row = re.search(r'data-appointment="A-1">(.*?)</tr>', page, re.DOTALL).group(1)
    assert f"called by {accounts['staff']}" in row


def test_the_csv_export_is_audited_and_neutralises_formulas(client, accounts, app):
    day = _seed()
    login(client, accounts["staff"])
    response = client.get(f"/admin/calls/export.csv?day={day}")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["clinic", "patient", "appointment", "notice", "tried", "reason", "phone"]
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell
    hostile = next(row for row in rows if row[2] == "'@A-7")
    assert hostile[1] == "'=HYPERLINK(\"http://x\")"
    assert hostile[5] == "'-1+1 =cmd" and hostile[6] == "'+13125550111"
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).one()
    assert entry.object_type == "call_list" and entry.account == accounts["staff"]
    assert "3 rows" in entry.detail


def test_neutralise_prefixes_every_formula_start():
    assert [neutralise(v) for v in ("=1+1", "+1", "-1", "@x", "\tx", "ok", None, 7)] == [
        "'=1+1", "'+1", "'-1", "'@x", "'\tx", "ok", "", "7"]


def test_without_a_day_the_list_is_of_the_clinics_own_today(client, accounts, app,
                                                           monkeypatch):
    """At 23:50 in the clinic (Chicago here) it is already tomorrow in CLINIC_TIMEZONE (New
    York): the list opened without a date is the clinics' today, for an admin who sees
    every clinic too (a staff member's pages already keep their first clinic's zone)."""
    from datetime import datetime, time
    day = _seed()
    late_evening = datetime.combine(day, time(23, 50), ZoneInfo(ZONE))
    monkeypatch.setattr("web.admin.call_list_views.utcnow", lambda: late_evening)
    assert late_evening.astimezone(ZoneInfo("America/New_York")).date() != day
    login(client, accounts["admin"])
    page = client.get("/admin/calls/").get_data(as_text=True)
    assert set(re.findall(r'data-appointment="([^"]+)"', page)) == {"A-1", "A-4", "@A-7"}
