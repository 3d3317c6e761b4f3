"""A seeded clinic day for the admin's tests: two clinics of our receptionist and one of
another, a delivered reminder, failed ones, an appointment moved to another time and venue.

Database ids are started at distinctive numbers so a test can tell one on a page."""
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, text

from actors.appointments import apply_appointment_update
from actors.schemas import AppointmentSchema
from db import (
    Appointment,
    Location,
    Notification,
    Patient,
    QuarantinedRecord,
    SyncRun,
    db,
    transition,
    utcnow,
)
from tests.factories import appointment, moved

#: First database id of each table: numbers no page should ever show.
FIRST_IDS = {"locations": 3389, "patients": 4817, "appointments": 5923, "notifications": 6731}
RECEPTIONIST = "receptionist@clinic.example"
OTHER = "other-clinic@clinic.example"
ADA_PHONE = "+13125550100"
GRACE_PHONE = "+13125550142"
MARY_PHONE = "+14155550177"


@dataclass
class Day:
    ada: Appointment       # L-1, moved from Old Town (L-3) to Main St, reminder delivered
    grace: Appointment     # L-1, reminder failed: number not in service
    mary: Appointment      # L-2 (another clinic), reminder failed
    delivered: Notification
    failed: Notification
    other_failed: Notification
    other_quarantined: int = 0  # a record upstream sent for L-2 that did not validate


def _restart_ids() -> None:
    for table, first in FIRST_IDS.items():
        db.session.execute(text(f"ALTER SEQUENCE {table}_id_seq RESTART WITH {first}"))


def _load(data: dict) -> None:
    apply_appointment_update(AppointmentSchema().load(data), source="etl")
    db.session.commit()


def _earlier_today(appt: Appointment) -> datetime:
    """A moment 20 minutes ago, but never before the clinic's local midnight: pages that show
    "today" must find it on the clinic's today whenever the tests run."""
    zone = ZoneInfo(appt.location.timezone)
    midnight = datetime.combine(utcnow().astimezone(zone).date(), time(0, 0, 1), zone)
    return max(utcnow() - timedelta(minutes=20), midnight)


def _reminder(appt: Appointment, channel: str, outcome: str, *, code=None, reason=None):
    notification = Notification(
        appointment=appt, patient=appt.patient, kind="reminder", channel=channel,
        status="planned", due_at=_earlier_today(appt), revision=appt.revision,
        dedupe_key=f"reminder:{appt.id}:{appt.local_date}:{channel}")
    db.session.add(notification)
    db.session.flush()
    transition(notification, "queued", source="dispatch")
    transition(notification, "sending", source="send")
    if outcome == "failed":
        transition(notification, "failed", source="send", error_code=code, reason=reason)
        return notification
    notification.provider = "twilio" if channel == "sms" else "ses"
    transition(notification, "sent", source="send")
    if outcome == "delivered":
        transition(notification, "delivered", source="twilio-callback")
    return notification


def seed_day(zone: str = "America/Los_Angeles") -> Day:
    _restart_ids()
    main = {"id": "L-1", "name": "Main St Clinic", "address": "1 Main St", "timezone": zone}
    old_town = {"id": "L-3", "name": "Old Town Clinic", "address": "9 Old Rd", "timezone": zone}
    harbour = {"id": "L-2", "name": "Harbour Clinic", "address": "2 Quay St", "timezone": zone}
    ada = appointment(id="A-1001", location=old_town)
    _load(ada)
    _load(moved(ada, hours=26, location=main))  # a change notice; the move is recorded
    _load(appointment(id="A-1002", location=main, patient={
        "id": "P-2", "given_name": "Grace", "family_name": "Hopper", "phone": GRACE_PHONE,
        "email": "grace@example.org"}))
    _load(appointment(id="A-2001", location=harbour, patient={
        "id": "P-7", "given_name": "Mary", "family_name": "Seacole", "phone": MARY_PHONE,
        "email": "mary@example.org"}))
    by_id = {a.external_id: a for a in db.session.scalars(select(Appointment))}
    day = Day(by_id["A-1001"], by_id["A-1002"], by_id["A-2001"], None, None, None)
    day.delivered = _reminder(day.ada, "sms", "delivered")
    day.failed = _reminder(day.grace, "sms", "failed", code="30005",
                           reason="unknown destination")
    day.other_failed = _reminder(day.mary, "sms", "failed", code="30003",
                                 reason="unreachable handset")
    now = utcnow()
    run = SyncRun(window_from=now.date(), window_to=now.date() + timedelta(days=5),
                  complete=True, started_at=now - timedelta(minutes=2), finished_at=now,
                  pages=1, records=6, quarantined=2)
    db.session.add(run)
    db.session.flush()
    mine = QuarantinedRecord(run_id=run.id, external_id="A-1999", reason="patient.phone: not E.164",
                             raw={"id": "A-1999", "location": {"id": "L-1"}})
    other = QuarantinedRecord(run_id=run.id, external_id="A-2999", reason="starts_at missing",
                              raw={"id": "A-2999", "location": {"id": "L-2"},
                                   "patient": {"family_name": "Seacole"}})
    db.session.add_all([mine, other])
    db.session.flush()
    day.other_quarantined = other.id
    db.session.commit()
    return day


def location(external_id: str) -> Location:
    return db.session.scalars(select(Location).where(Location.external_id == external_id)).one()


def patient(external_id: str) -> Patient:
    return db.session.scalars(select(Patient).where(Patient.external_id == external_id)).one()
