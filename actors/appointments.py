"""apply_appointment_updates: the one code path for appointment changes, from any source.

The webhook applies one validated appointment object (actors.schemas) with
``apply_appointment_update``, a batch of one; the ETL applies a page of them. Either way
each record is judged and applied in its order exactly as if it came alone (a duplicate
later in the page is an update or stale, as it would be the next minute); what a page
shares is its round trips. It runs inside the caller's transaction; the caller commits,
and the send messages go out after that commit.
"""
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from actors.clinic_settings import held_until
from actors.delivery import enqueue_send
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
from db.upsert import insert_many_ignoring_conflict

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


def _set_values(model, row, values: dict) -> None:
    for name, value in values.items():
        if name == "preferred_channel" and getattr(row, "channel_chosen_at", None) is not None:
            continue  # the patient chose on the preferences page; theirs wins (actors.preferences)
        if getattr(row, name) != value:
            setattr(row, name, value)
            if name == "email" and model is Patient:
                # A bounce condemned the old address, not the new one.
                row.email_undeliverable = False


def _location_values(data: dict) -> dict:
    return {"name": data["name"], "address": data["address"], "phone": data.get("phone"),
            "timezone": data.get("timezone") or current_app.config["CLINIC_TIMEZONE"]}


def _patient_values(data: dict) -> dict:
    return {"given_name": data["given_name"], "family_name": data["family_name"],
            "phone": data.get("phone"), "email": data.get("email"),
            "preferred_channel": data["preferred_channel"],
            "language": data.get("language") or "en"}


def _insert_and_lock(model, first_values: dict[str, dict]) -> dict[str, object]:
    """The rows of ``model`` by external id, the missing ones inserted (with the values of
    their first record), every one locked. Ids in sorted order, so two pages or a page and
    a webhook lock shared rows in the same order."""
    if not first_values:
        return {}
    ids = sorted(first_values)
    insert_many_ignoring_conflict(model, [{"external_id": e, **first_values[e]} for e in ids],
                                  "external_id")
    rows = db.session.execute(select(model).where(model.external_id.in_(ids))
                              .order_by(model.external_id).with_for_update()).scalars().all()
    return {row.external_id: row for row in rows}


def _locked_appointments(external_ids) -> dict[str, Appointment]:
    if not external_ids:
        return {}
    rows = db.session.execute(select(Appointment)
                              .where(Appointment.external_id.in_(sorted(external_ids)))
                              .order_by(Appointment.external_id)
                              .with_for_update(of=Appointment)
                              .execution_options(populate_existing=True)).scalars().all()
    return {row.external_id: row for row in rows}


def _newer_than_stored(records: list[dict], stored: dict[str, Appointment]) -> list[dict]:
    """The records that are not stale, walking them in order: a record is stale when what
    is stored, or an earlier record of the same page, is as new."""
    latest = {external_id: row.source_updated_at for external_id, row in stored.items()}
    live = []
    for data in records:
        incoming = data["updated_at"].astimezone(UTC)
        if data["id"] in latest and incoming <= latest[data["id"]]:
            continue
        latest[data["id"]] = incoming
        live.append(data)
    return live


def _appointment_values(data: dict, location: Location, patient: Patient) -> dict:
    starts_at = data["starts_at"].astimezone(UTC)
    # The record's own time zone: the location's, as this record leaves it.
    timezone = _location_values(data["location"])["timezone"]
    return {"status": data["status"], "starts_at": starts_at,
            "local_date": starts_at.astimezone(ZoneInfo(timezone)).date(),
            "location_id": location.id, "patient_id": patient.id,
            "source_updated_at": data["updated_at"].astimezone(UTC),
            "missing_from_source_at": None}


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
    """Apply one appointment object (already validated) from ``source``: a batch of one."""
    return apply_appointment_updates([data], source=source)[0]


def apply_appointment_updates(records: list[dict], *, source: str) -> list[UpdateResult]:
    """Apply appointment objects (already validated) from ``source``, in their order, each
    as if applied alone; one result per record.

    What a batch shares is its round trips: the appointments, locations and patients it
    names are locked, and the new ones inserted, a few statements for the whole batch.
    """
    stored = _locked_appointments({data["id"] for data in records})
    live = _newer_than_stored(records, stored)
    # Rows for the records that will be applied only (first record's values when new); a
    # record found stale later, after losing a race for a new id, leaves its location and
    # patient stored, untouched, as the record applied alone would have.
    locations = _insert_and_lock(Location, {
        d["location"]["id"]: _location_values(d["location"]) for d in reversed(live)})
    patients = _insert_and_lock(Patient, {
        d["patient"]["id"]: _patient_values(d["patient"]) for d in reversed(live)})
    first_sights = {}
    for data in live:
        if data["id"] not in stored and data["id"] not in first_sights:
            first_sights[data["id"]] = data
    inserted = dict(insert_many_ignoring_conflict(Appointment, [
        {"external_id": e, "revision": 0, **_appointment_values(
            d, locations[d["location"]["id"]], patients[d["patient"]["id"]])}
        for e, d in sorted(first_sights.items())], "external_id", returning=("external_id", "id")))
    # A row this batch inserted is locked by its insert: it is read back only when a later
    # record of the batch or a booking notice needs it (a first pull reads back nothing).
    # A row another transaction inserted first is locked and read, as the lone record would.
    repeated = Counter(data["id"] for data in records)
    stored.update(_locked_appointments({
        e for e, d in first_sights.items()
        if e not in inserted or repeated[e] > 1 or _confirms_booking(d, source)}))
    return [_apply(data, source, stored.get(data["id"]), locations, patients,
                   first_sight=first_sights.pop(data["id"], None) is data,
                   inserted_id=inserted.get(data["id"]))
            for data in records]


def _confirms_booking(data: dict, source: str) -> bool:
    # Only the booking system's own "created" event may confirm a booking: an ETL pull's
    # first sight of thousands of appointments must notify nobody.
    return (source == "webhook" and current_app.config["NOTIFY_ON_CREATE"]
            and data["status"] == "booked")


def _apply(data: dict, source: str, appointment: Appointment | None, locations: dict,
           patients: dict, *, first_sight: bool, inserted_id: int | None) -> UpdateResult:
    """One record against its locked appointment row (``first_sight``: the row did not
    exist before this batch; ``inserted_id``: this batch created it, and ``appointment`` is
    None unless it was needed)."""
    external_id = data["id"]
    incoming_updated_at = data["updated_at"].astimezone(UTC)
    if not first_sight and incoming_updated_at <= appointment.source_updated_at:
        return UpdateResult(external_id, "stale")

    location = locations[data["location"]["id"]]
    _set_values(Location, location, _location_values(data["location"]))
    patient = patients[data["patient"]["id"]]
    _set_values(Patient, patient, _patient_values(data["patient"]))
    values = _appointment_values(data, location, patient)
    starts_at, local_date = values["starts_at"], values["local_date"]

    if first_sight:
        if inserted_id is not None:
            result = UpdateResult(external_id, "created")
            if _confirms_booking(data, source):
                result.notifications = _notify(appointment, patient, "booking", starts_at)
            log.info("appointment created", extra={"appointment_id": inserted_id,
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
