"""Staff accounts, a small clinic, and logging in the way a browser does (with CSRF tokens)."""
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest

from actors.reminders.keys import reminder_key
from db import (
    Appointment,
    Location,
    Notification,
    Patient,
    QuarantinedRecord,
    SyncRun,
    db,
    raise_condition,
    transition,
    utcnow,
)
from db.staff import ROLES
from web.admin.cli import seed_demo_account

PASSWORD = "correct-horse-battery-staple"
PHONE = "+13125550100"
EMAIL = "ada.lovelace@example.org"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


#: Cheap argon2 for tests (production keeps Flask-Security's defaults: ~1 s a hash here).
FAST_HASH = {"SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS": {
    "argon2__rounds": 1, "argon2__memory_cost": 8192, "argon2__parallelism": 1}}


@pytest.fixture
def app(make_app):
    app = make_app(**FAST_HASH)
    with app.app_context():
        yield app


def email_of(role: str) -> str:
    return f"{role}@clinic.example"


@pytest.fixture
def accounts(app):
    for role in ROLES:  # staff and viewer see clinic L-1 (make_clinic's); admins see all
        seed_demo_account(email_of(role), PASSWORD, role=role,
                          locations=() if role == "admin" else ("L-1",))
    return {role: email_of(role) for role in ROLES}


def csrf_token(client, url="/auth/login") -> str:
    match = TOKEN.search(client.get(url).get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def login(client, email, password=PASSWORD):
    return client.post("/auth/login", data={"email": email, "password": password,
                                            "csrf_token": csrf_token(client)})


@dataclass
class Clinic:
    location: Location
    patient: Patient
    appointment: Appointment
    failed: Notification
    pending: Notification
    alert_id: int
    run: SyncRun
    quarantined: QuarantinedRecord


def make_clinic(*, given_name="Ada", venue="Main St Clinic") -> Clinic:
    now = utcnow()
    location = Location(external_id="L-1", name=venue, address=f"{venue}, 1 Main St",
                        phone="+13125550123", timezone="America/New_York")
    patient = Patient(external_id="P-1", given_name=given_name, family_name="Lovelace",
                      phone=PHONE, email=EMAIL, preferred_channel="sms", language="en")
    starts = now + timedelta(days=5)
    appointment = Appointment(external_id="A-1001", patient=patient, location=location,
                              status="booked", starts_at=starts, local_date=starts.date(),
                              source_updated_at=now, revision=1)
    db.session.add_all([location, patient, appointment])
    db.session.flush()
    failed = Notification(appointment=appointment, patient=patient, kind="reminder",
                          channel="sms", status="planned", due_at=now, revision=1,
                          dedupe_key=reminder_key(appointment.id, appointment.local_date, "sms"))
    pending = Notification(appointment=appointment, patient=patient, kind="change",
                           channel="sms", dedupe_key=f"change:{appointment.id}:1:sms",
                           status="planned", due_at=now, revision=1)  # due at once, as a change is
    db.session.add_all([failed, pending])
    db.session.flush()
    for step in ("queued", "sending"):
        transition(failed, step, source="send")
    transition(failed, "failed", source="send", error_code="30003", reason="unreachable handset")
    transition(pending, "queued", source="dispatch")
    alert = raise_condition("send-failed:sms:30003", "send-failed", "1 SMS failed (30003)",
                            sample_ids=[failed.id])
    run = SyncRun(window_from=now.date(), window_to=now.date() + timedelta(days=7),
                  complete=True, started_at=now - timedelta(minutes=3), finished_at=now,
                  pages=1, records=1, quarantined=1)
    db.session.add(run)
    db.session.flush()
    quarantined = QuarantinedRecord(run_id=run.id, external_id="A-BAD",
                                    reason="patient.phone: not E.164",
                                    raw={"id": "A-BAD", "location": {"id": "L-1"},
                                         "patient": {"given_name": given_name}})
    db.session.add(quarantined)
    db.session.commit()
    return Clinic(location, patient, appointment, failed, pending, alert.id, run, quarantined)


@pytest.fixture
def clinic(app):
    return make_clinic()


@pytest.fixture(scope="module")
def make_module_app(database_admin_app, database_url, twilio_server, smtp_server):
    """Like make_app, for a module that seeds once and only reads (or acts on what it seeded
    without depending on order): the database is emptied when the module is done."""
    from tests.conftest import app_factory

    with app_factory(database_admin_app, database_url, twilio_server, smtp_server) as factory:
        yield factory
