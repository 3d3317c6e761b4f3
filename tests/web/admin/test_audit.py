"""Every look at a patient's details and every action lands in the append-only audit log."""
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from db import Alert, AuditEntry, ConsentChange, Notification, db
from tests.web.admin.conftest import csrf_token, login
from web.admin.audit import record


def entries(**where):
    db.session.expire_all()
    query = select(AuditEntry).order_by(AuditEntry.id)
    for key, value in where.items():
        query = query.where(getattr(AuditEntry, key) == value)
    return db.session.scalars(query).all()


def test_views_and_actions_are_audited_with_account_time_ip_and_object(client, accounts, clinic):
    staff = accounts["staff"]
    login(client, staff)
    client.get(f"/admin/patient/{clinic.patient.id}")
    client.get(f"/admin/appointment/timeline/{clinic.appointment.id}")
    client.get(f"/admin/quarantine/details/?id={clinic.quarantined.id}")
    token = csrf_token(client, f"/admin/patient/{clinic.patient.id}")
    assert client.post(f"/admin/patient/{clinic.patient.id}/consent", data={
        "csrf_token": token, "channel": "sms", "decision": "opt-out",
        "reason": "asked on the phone to stop texts"}).status_code == 302
    client.post(f"/admin/notification/resend/{clinic.failed.id}",
                data={"csrf_token": token, "seen": "0"})
    client.post(f"/admin/notification/cancel/{clinic.pending.id}", data={"csrf_token": token})
    client.post(f"/admin/alert/acknowledge/{clinic.alert_id}", data={"csrf_token": token})
    client.post(f"/admin/alert/resolve/{clinic.alert_id}", data={"csrf_token": token})

    done = {(e.action, e.object_type, e.object_id) for e in entries(account=staff)}
    assert {("login", "staff_user", str(e.object_id)) for e in entries(action="login")} <= done
    assert {
        ("view", "patient", "P-1"),  # external ids, as staff know them
        ("view", "appointment", "A-1001"),
        ("view", "quarantined_record", "A-BAD"),
        ("consent", "patient", "P-1"),
        ("resend", "notification", "Reminder by SMS for A-1001"),
        ("cancel", "notification", "Change notice by SMS for A-1001"),
        ("acknowledge", "alert", "send-failed:sms:30003"),
        ("resolve", "alert", "send-failed:sms:30003"),
    } <= done
    for entry in entries(account=staff):
        assert entry.ip == "127.0.0.1" and entry.at is not None
        assert "+1312" not in (entry.detail or "") and "Lovelace" not in (entry.detail or "")

    # ...and the actions did what they say.
    change = db.session.scalars(select(ConsentChange)).one()
    assert (change.channel, change.opted_out, change.source, change.recorded_by) == (
        "sms", True, "staff", staff)
    assert db.session.get(Notification, clinic.pending.id).status == "cancelled"
    resent = db.session.scalars(select(Notification).where(
        Notification.dedupe_key == f"{clinic.failed.dedupe_key}:resend-1")).one()
    assert resent.status == "queued" and resent.kind == "reminder"
    assert db.session.get(Alert, clinic.alert_id).status == "resolved"


def test_a_double_submitted_resend_creates_one_notification(client, accounts, clinic):
    login(client, accounts["staff"])
    token = csrf_token(client, f"/admin/notification/resend/{clinic.failed.id}")
    for _ in range(2):
        client.post(f"/admin/notification/resend/{clinic.failed.id}",
                    data={"csrf_token": token, "seen": "0"})
    assert len(db.session.scalars(select(Notification).where(
        Notification.dedupe_key.like(f"{clinic.failed.dedupe_key}:resend-%"))).all()) == 1
    assert len(entries(action="resend")) == 1


def test_the_audit_log_cannot_be_edited_or_deleted_through_the_admin(client, accounts, clinic):
    login(client, accounts["admin"])
    client.get(f"/admin/patient/{clinic.patient.id}")
    before = [(e.id, e.action, e.detail) for e in entries()]
    entry_id = before[-1][0]
    token = csrf_token(client, "/admin/auditlog/")
    page = client.get("/admin/auditlog/").get_data(as_text=True)
    assert "/admin/auditlog/edit/" not in page and "/admin/auditlog/delete/" not in page
    client.post("/admin/auditlog/delete/", data={"csrf_token": token, "id": entry_id})
    client.post(f"/admin/auditlog/edit/?id={entry_id}",
                data={"csrf_token": token, "action": "nothing", "detail": "rewritten"})
    client.post("/admin/auditlog/action/", data={"csrf_token": token, "action": "delete",
                                                  "rowid": entry_id})
    client.post("/admin/auditlog/new/", data={"csrf_token": token, "action": "forged"})
    after = [(e.id, e.action, e.detail) for e in entries()]
    assert after[:len(before)] == before
    assert not entries(action="forged") and not entries(action="nothing")


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET detail = 'rewritten'",
                                       "DELETE FROM audit_log"])
def test_postgresql_refuses_to_rewrite_the_audit_log(app, statement):
    record("view", "patient", 1, account="staff@clinic.example")
    db.session.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(statement))
    db.session.rollback()
