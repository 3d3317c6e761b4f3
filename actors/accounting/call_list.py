"""The call list: patients whose reminder or change notice could not reach them.

Per clinic-local day: every appointment with a due notification that was not reached
(failed, undelivered, expired, unconfirmed) and nothing of the same kind that reached the
patient on another channel or by fallback, plus every reminder never planned. Staff call
these patients; the reason comes with each line. This module is the query; the admin and
``flask --app web reminders call-list`` show it.
"""
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from actors.accounting.counting import never_planned
from actors.accounting.tally import classify
from db import Appointment, Location, Notification, Patient, db, utcnow
from db.statuses import PROVIDERS_WITH_RECEIPTS

UNREACHED = ("failed", "undelivered", "expired", "unconfirmed")


@dataclass(frozen=True)
class Call:
    location: str      # external ids, as staff know them
    patient: str
    appointment: str
    kind: str
    channels: str      # what was tried, e.g. "sms, email"
    reason: str
    phone: str | None  # the call list exists to be called: the one place a phone is shown


def call_list(day: date, *, location_ids=None, now: datetime | None = None) -> list[Call]:
    now = now or utcnow()
    timeout = timedelta(hours=current_app.config["RECEIPT_TIMEOUT_HOURS"])
    n, a, loc = Notification, Appointment, Location
    query = (select(n, a.external_id, loc.external_id, loc.timezone)
             .join(a, a.id == n.appointment_id).join(loc, loc.id == a.location_id)
             .where(n.due_at >= datetime.combine(day - timedelta(days=1), datetime.min.time(),
                                                 now.tzinfo),
                    n.due_at < datetime.combine(day + timedelta(days=2), datetime.min.time(),
                                                now.tzinfo)))
    if location_ids is not None:
        query = query.where(loc.id.in_(location_ids))
    slices = defaultdict(lambda: {"reached": False, "tried": [], "why": [], "patient": None})
    for notification, appointment_id, location, zone in db.session.execute(query):
        if notification.due_at.astimezone(ZoneInfo(zone)).date() != day:
            continue
        column = classify(
            notification.status, receipts=notification.provider in PROVIDERS_WITH_RECEIPTS,
            receipt_overdue=bool(notification.sent_at and notification.sent_at <= now - timeout),
            deadline_passed=bool(notification.deadline_at and notification.deadline_at <= now))
        entry = slices[(location, appointment_id, notification.kind)]
        entry["patient"] = notification.patient
        if column in ("delivered", "accepted", "pending"):
            entry["reached"] = True
        elif column in UNREACHED:
            entry["tried"].append(notification.channel)
            entry["why"].append(notification.reason or column)
    calls = [Call(location, entry["patient"].external_id, appointment, kind,
                  ", ".join(entry["tried"]), "; ".join(dict.fromkeys(entry["why"])),
                  entry["patient"].phone)
             for (location, appointment, kind), entry in slices.items()
             if entry["tried"] and not entry["reached"]]
    missed = never_planned(day, day, now, location_ids=location_ids).subquery()
    for row in db.session.execute(
            select(loc.external_id, a.external_id, Patient.external_id, Patient.phone,
                   missed.c.channel)
            .join(a, a.id == missed.c.appointment_id).join(loc, loc.id == missed.c.location_id)
            .join(Patient, Patient.id == a.patient_id)):
        calls.append(Call(row[0], row[2], row[1], "reminder", row.channel,
                          "reminder never planned (the window closed without it)", row.phone))
    return sorted(calls, key=lambda call: (call.location, call.appointment, call.kind))
