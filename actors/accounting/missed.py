"""reminders-missed: every clinic day's reminder window is judged, at its close and early.

Each clinic is judged by its own window and days before (``actors.clinic_settings``).
At close: every booked appointment due a reminder that day is accounted for; anything never
planned or never sent (expired) raises ``reminders-missed`` naming the clinic, the day and
the count, once. Early: ``PLAN_GRACE_MINUTES`` into the window, a clinic with due
appointments and nothing planned at all means the tick or the data is down, and on-call
hears while there is still time. Counts and clinic names only, never patient data.
"""
import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import exists, select
from sqlalchemy.dialects import postgresql

from actors.accounting.counting import count_never_planned, count_notifications
from actors.clinic_settings import rules_by_location, rules_for
from actors.reminders.window import window_on
from db import (
    Appointment,
    ClinicDay,
    Location,
    Notification,
    db,
    raise_condition,
    utcnow,
)
from db.statuses import Kind

log = logging.getLogger(__name__)

KIND = "reminders-missed"


def _mark(day, location_id, now, **values) -> None:
    statement = postgresql.insert(ClinicDay).values(local_date=day, location_id=location_id,
                                                    updated_at=now, **values)
    db.session.execute(statement.on_conflict_do_update(
        index_elements=["local_date", "location_id"], set_={**values, "updated_at": now}))


def _judged(location_id: int) -> dict:
    rows = db.session.execute(select(ClinicDay).where(ClinicDay.location_id == location_id,
                                                      ClinicDay.local_date >= utcnow().date()
                                                      - timedelta(days=3))).scalars()
    return {row.local_date: row for row in rows}


def _planned_any(location: Location, sending_day) -> bool:
    """Whether any reminder record exists for the clinic's appointments of that day."""
    target = sending_day + timedelta(days=rules_for(location.id).reminder_days_before)
    return db.session.scalar(select(exists().where(
        Appointment.id == Notification.appointment_id, Appointment.location_id == location.id,
        Appointment.local_date == target, Notification.kind == Kind.REMINDER)))


def _due_appointments(location: Location, sending_day, now: datetime) -> int:
    """Reminders due that day at the clinic that nothing has planned yet.

    Counted as if the window had closed already (a clock two days on), so the same
    definition of "due and never planned" serves the early warning."""
    as_if_closed = now + timedelta(days=2)
    counts = count_never_planned(sending_day, sending_day, as_if_closed,
                                 location_ids=[location.id])
    return sum(counts.values())


def check_windows(now: datetime | None = None) -> list[str]:
    """The minute check: judge closed windows, warn early about empty ones. Returns keys."""
    now = now or utcnow()
    config = current_app.config
    grace = timedelta(minutes=config["PLAN_GRACE_MINUTES"])
    raised = []
    locations = list(db.session.scalars(select(Location).order_by(Location.id)))
    rules = rules_by_location([location.id for location in locations])
    for location in locations:
        judged = _judged(location.id)
        today = now.astimezone(ZoneInfo(location.timezone)).date()
        for day in (today - timedelta(days=1), today):
            window = window_on(day, location.timezone, rules[location.id].reminder_window)
            mark = judged.get(day)
            if now >= window.end and not (mark and mark.window_checked_at):
                key = _judge_close(location, day, now)
                raised.extend([key] if key else [])
            elif (window.start + grace <= now < window.end
                  and not (mark and mark.early_warning_at)):
                key = _warn_early(location, day, now, window)
                raised.extend([key] if key else [])
    return raised


def _judge_close(location: Location, day, now: datetime) -> str | None:
    never = sum(count_never_planned(day, day, now, location_ids=[location.id]).values())
    expired = sum(t.expired for (_, _, _, kind), t in count_notifications(
        day, day, now, location_ids=[location.id]).items() if kind == Kind.REMINDER)
    missed = never + expired
    _mark(day, location.id, now, window_checked_at=now, missed=missed)
    if not missed:
        return None
    target = day + timedelta(days=rules_for(location.id).reminder_days_before)
    key = f"{KIND}:{location.external_id}:{day.isoformat()}"
    raise_condition(key, KIND, (
        f"{location.name} ({location.external_id}): {missed} reminders due on {day} for "
        f"appointments on {target} never went out before the window closed "
        f"({never} never planned, {expired} never sent). See the call list: "
        f"flask --app web report call-list --date {day} --location {location.external_id}"),
        count=missed)
    log.warning("reminders missed", extra={"location": location.external_id,
                                           "day": day.isoformat(), "count": missed})
    return key


def _warn_early(location: Location, day, now: datetime, window) -> str | None:
    if _planned_any(location, day):
        _mark(day, location.id, now, early_warning_at=now)  # something ran: nothing to warn
        return None
    due = _due_appointments(location, day, now)
    if not due:
        return None  # nothing due today; look again next minute (a booking may arrive)
    _mark(day, location.id, now, early_warning_at=now)
    minutes = int((now - window.start).total_seconds() // 60)
    key = f"{KIND}:early:{location.external_id}:{day.isoformat()}"
    raise_condition(key, KIND, (
        f"{location.name} ({location.external_id}): nothing planned {minutes} min into "
        f"today's reminder window, with {due} reminders due; the reminder tick or the "
        f"upstream data is down"), count=due)
    return key
