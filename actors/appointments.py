"""apply_appointment_update: the one code path for an appointment change, from any source.

The webhook and the ETL both call it with a validated appointment object (actors.schemas).
It runs inside the caller's transaction; the caller commits, and the send messages go out
after that commit.
"""
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from actors.clinic_settings import held_until
from actors.delivery import enqueue_send
from actors.upsert import insert_ignoring_conflict
from db import (
    Appointment,
    Location,
    Notification,
    Patient,
    Status,
    create_notifications,
    db,
    transition,
    utcnow,
)
from db.changes import record_change

log = logging.getLogger(__name__)


@dataclass
class UpdateResult:
    """What applying an update did, in ids and words only (safe to log and return)."""

    appointment_id: str
    outcome: str  # created | changed | unchanged | stale
    notifications: list[Notification] = field(default_factory=list)
    reminders_cancelled: int = 0

    def as_dict(self) -> dict:
        return {"appointment_id": self.appointment_id, "outcome": self.outcome,
                "notifications": [{"id": n.id, "kind": n.kind, "channel": n.channel,
                                   "status": n.status} for n in self.notifications]}


def _upsert(model, external_id: str, values: dict):
    insert_ignoring_conflict(model, {"external_id": external_id, **values}, "external_id")
    row = db.session.execute(select(model).where(model.external_id == external_id)
                             .with_for_update()).scalar_one()
    for name, value in values.items():
        if name == "preferred_channel" and getattr(row, "channel_chosen_at", None) is not None:
            continue  # the patient chose on the preferences page; theirs wins (actors.preferences)
        if getattr(row, name) != value:
            setattr(row, name, value)
            if name == "email" and model is Patient:
                # A bounce condemned the old address, not the new one.
                row.email_undeliverable = False
    return row


def _location(data: dict) -> Location:
    return _upsert(Location, data["id"], {
        "name": data["name"], "address": data["address"], "phone": data.get("phone"),
        "timezone": data.get("timezone") or current_app.config["CLINIC_TIMEZONE"]})


def _patient(data: dict) -> Patient:
    return _upsert(Patient, data["id"], {
        "given_name": data["given_name"], "family_name": data["family_name"],
        "phone": data.get("phone"), "email": data.get("email"),
        "preferred_channel": data["preferred_channel"], "language": data.get("language") or "en"})


def _locked_appointment(external_id: str) -> Appointment | None:
    return db.session.execute(select(Appointment).where(Appointment.external_id == external_id)
                              .with_for_update(of=Appointment)
                              .execution_options(populate_existing=True)).scalar_one_or_none()


def _what_changed(appointment: Appointment, status: str, starts_at: datetime,
                  location: Location) -> str | None:
    """The kind of notice this update calls for, or None when the patient need not hear."""
    if status == "cancelled":
        return "cancellation" if appointment.status != "cancelled" else None
    if status != "booked":
        return None
    moved = appointment.starts_at != starts_at or appointment.location_id != location.id
    return "change" if moved or appointment.status != "booked" else None


def _cancel_pending_reminders(appointment: Appointment, reason: str) -> int:
    pending = db.session.execute(
        select(Notification).where(Notification.appointment_id == appointment.id,
                                   Notification.kind == "reminder",
                                   Notification.status.in_((Status.PLANNED, Status.QUEUED)))
        .with_for_update()).scalars().all()
    for reminder in pending:
        transition(reminder, Status.CANCELLED, source="appointment-update", reason=reason)
    return len(pending)


def _notify(appointment: Appointment, patient: Patient, kind: str,
            deadline: datetime) -> list[Notification]:
    now = utcnow()
    if deadline <= now:
        return []  # telling a patient about an appointment already past helps nobody
    db.session.flush()  # the appointment's new revision, before the rows that name it
    # In the clinic's quiet hours a notice that is not urgent waits, planned, until they end
    # (the dispatch tick releases it); the rest go out at once.
    held = held_until(appointment, now)
    timing = ({"status": Status.PLANNED, "due_at": held} if held is not None
              else {"status": Status.QUEUED, "queued_at": now, "due_at": now})
    created = create_notifications([
        {"appointment_id": appointment.id, "patient_id": patient.id, "kind": kind,
         "channel": channel, "revision": appointment.revision, **timing,
         "deadline_at": deadline,
         "dedupe_key": f"{kind}:{appointment.id}:{appointment.revision}:{channel}"}
        for channel in patient.channels()], source="appointment-update", now=now,
        detail="held for the clinic's quiet hours" if held is not None else None)
    notifications = db.session.scalars(select(Notification).where(
        Notification.id.in_([row.id for row in created])).order_by(Notification.id)).all()
    for notification in notifications:
        if notification.status == Status.QUEUED:
            enqueue_send(notification)
    return notifications


def apply_appointment_update(data: dict, *, source: str) -> UpdateResult:
    """Apply one appointment object (already validated) from ``source``."""
    external_id = data["id"]
    incoming_updated_at = data["updated_at"].astimezone(UTC)
    appointment = _locked_appointment(external_id)
    if appointment is not None and incoming_updated_at <= appointment.source_updated_at:
        return UpdateResult(external_id, "stale")

    location = _location(data["location"])
    patient = _patient(data["patient"])
    starts_at = data["starts_at"].astimezone(UTC)
    local_date = starts_at.astimezone(ZoneInfo(location.timezone)).date()
    values = {"status": data["status"], "starts_at": starts_at, "local_date": local_date,
              "location_id": location.id, "patient_id": patient.id,
              "source_updated_at": incoming_updated_at, "missing_from_source_at": None}

    if appointment is None:
        created = insert_ignoring_conflict(Appointment, {"external_id": external_id, "revision": 0,
                                                         **values}, "external_id")
        appointment = _locked_appointment(external_id)
        if created:
            result = UpdateResult(external_id, "created")
            # Only the booking system's own "created" event may confirm a booking: an ETL
            # pull's first sight of thousands of appointments must notify nobody.
            if (source == "webhook" and current_app.config["NOTIFY_ON_CREATE"]
                    and data["status"] == "booked"):
                result.notifications = _notify(appointment, patient, "booking", starts_at)
            log.info("appointment created", extra={"appointment_id": appointment.id,
                                                   "source": source})
            return result
        if incoming_updated_at <= appointment.source_updated_at:
            return UpdateResult(external_id, "stale")  # lost a race with the same update

    kind = _what_changed(appointment, data["status"], starts_at, location)
    old_starts_at, old_local_date = appointment.starts_at, appointment.local_date
    result = UpdateResult(external_id, "changed" if kind else "unchanged")
    if data["status"] != "booked":
        result.reminders_cancelled = _cancel_pending_reminders(
            appointment, f"appointment {data['status']}")
    elif local_date != old_local_date:
        result.reminders_cancelled = _cancel_pending_reminders(
            appointment, "appointment moved to another day")
    record_change(appointment, source=source, status=data["status"], starts_at=starts_at,
                  location_id=location.id)
    for name, value in values.items():
        setattr(appointment, name, value)
    if kind:
        appointment.revision += 1
        deadline = old_starts_at if kind == "cancellation" else starts_at
        result.notifications = _notify(appointment, patient, kind, deadline)
    log.info("appointment update applied", extra={
        "appointment_id": appointment.id, "source": source, "outcome": result.outcome,
        "kind": kind, "notifications": [n.id for n in result.notifications]})
    return result
