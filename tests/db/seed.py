"""A small database with history in every append-only table, for the migration and restore
tests: notifications with their events, a plan run, consent changes, audit log entries."""
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from actors.reminders.plan import plan
from db import Appointment, Patient, db, record_consent, utcnow
from tests.factories import TEST_SECRET, appointment, moved, post_event
from web.admin.audit import record

#: The append-only tables and the trigger each must carry (migrations 0001, 0004, 0012).
APPEND_ONLY = {"notification_events": "notification_events_append_only",
               "plan_runs": "plan_runs_append_only",
               "consent_changes": "consent_changes_append_only",
               "audit_log": "audit_log_append_only"}

CONFIG = {"BROKER_URL": None, "WEBHOOK_SECRET": TEST_SECRET}


def seed(app) -> None:
    client = app.test_client()
    first = appointment()
    assert post_event(client, "appointment.created", first).status_code == 202
    assert post_event(client, "appointment.updated", moved(first, hours=1)).status_code == 202
    booked = db.session.execute(select(Appointment)).scalar_one()
    # Its reminder day planned by hand, as `flask reminders plan --date` does: a plan run.
    plan(utcnow(), day=booked.local_date - timedelta(
        days=current_app.config["REMINDER_DAYS_BEFORE"]))
    patient = db.session.execute(select(Patient)).scalar_one()
    record_consent(patient, "sms", opted_out=True, source="twilio-inbound", reason="STOP")
    record_consent(patient, "sms", opted_out=False, source="staff", reason="asked by phone",
                   recorded_by="frontdesk@clinic.example")
    record("patient-viewed", "patient", patient.id, account="frontdesk@clinic.example")
    record("consent-changed", "patient", patient.id, account="frontdesk@clinic.example",
           detail="sms opted in")
    db.session.commit()
