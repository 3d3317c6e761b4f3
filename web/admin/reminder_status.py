"""Reminder status where staff look: the latest notification per channel in words, what is
coming for an appointment, and its history (status moves and appointment changes) in words."""
from datetime import datetime, time, timedelta

from markupsafe import Markup
from sqlalchemy import and_, select
from sqlalchemy.dialects.postgresql import distinct_on

from actors.clinic_settings import rules_for
from db import Appointment, Notification, db, utcnow
from db.changes import AppointmentChange
from web.admin.clinic_time import clinic_clock, clinic_time, relative, zone_of
from web.admin.words import (
    appointment_status_words,
    channel_words,
    explain,
    kind_words,
    notification_words,
    source_words,
)


def latest_per_channel(where) -> list[Notification]:
    """The newest notification of each channel matching ``where`` (one appointment or one
    patient): what staff are asked about on the phone."""
    return list(db.session.scalars(
        select(Notification).where(where).ext(distinct_on(Notification.channel))
        .order_by(Notification.channel, Notification.id.desc())))


def status_cell(notifications: list[Notification], zone) -> Markup:
    if not notifications:
        return Markup('<span class="text-muted">nothing sent yet</span>')
    lines = [Markup('<div class="reminder-status" data-channel="{}">{} <small class="text-muted">'
                    '{}</small></div>').format(n.channel, notification_words(n),
                                               clinic_time(n.updated_at, zone))
             for n in notifications]
    return Markup("").join(lines)


def appointment_status(view, context, model, name) -> Markup:
    return status_cell(latest_per_channel(Notification.appointment_id == model.id),
                       model.location.timezone)


def patient_status(view, context, model, name) -> Markup:
    # Through the patient's appointments: notifications have no index by patient.
    theirs = select(Appointment.id).where(Appointment.patient_id == model.id)
    return status_cell(latest_per_channel(and_(Notification.appointment_id.in_(theirs),
                                               Notification.patient_id == model.id)), None)


def _window_text(local_day, zone, window: str) -> str:
    start, end = window.split("-")
    bounds = []
    for text in (start, end):
        hour, minute = map(int, text.split(":"))
        bounds.append(datetime.combine(local_day, time(hour % 24, minute), zone))
    day = bounds[0].strftime("%a %-d %b")
    return f"{day} {clinic_clock(bounds[0], zone)}–{clinic_clock(bounds[1], zone)}"


def coming(appointment: Appointment, notifications: list[Notification]) -> list[str]:
    """What the patient will hear next, e.g. "Reminder due Fri 4 Dec 9:00 AM–12:00 PM EST by
    SMS and e-mail (in 3 days)"."""
    zone = zone_of(appointment.location.timezone)
    now = utcnow()
    pending = [n for n in notifications if n.status in ("planned", "queued", "sending")]
    lines = []
    for kind in dict.fromkeys(n.kind for n in pending):
        rows = [n for n in pending if n.kind == kind]
        channels = " and ".join(channel_words(n.channel) for n in rows)
        first = min(n.due_at for n in rows)
        lines.append(f"{kind_words(kind)} due {clinic_time(first, zone)} by {channels} "
                     f"({relative(first, now)})")
    if appointment.status == "booked" and appointment.starts_at > now and not any(
            n.kind == "reminder" for n in notifications):
        own = rules_for(appointment.location_id)  # the clinic's window, else the global one
        day = appointment.local_date - timedelta(days=own.reminder_days_before)
        opens = datetime.combine(day, time(0), zone)
        if opens.date() >= now.astimezone(zone).date():
            channels = " and ".join(channel_words(c) for c in appointment.patient.channels())
            abbreviation = clinic_time(opens, zone).rsplit(" ", 1)[-1]
            lines.append(f"Reminder due {_window_text(day, zone, own.reminder_window)} {abbreviation} by {channels}")
    return lines


def changes(appointment: Appointment) -> list[AppointmentChange]:
    return list(db.session.scalars(select(AppointmentChange)
                                   .where(AppointmentChange.appointment_id == appointment.id)
                                   .order_by(AppointmentChange.at, AppointmentChange.id)))


def change_lines(change: AppointmentChange, zone) -> list[tuple[str, str, str]]:
    """(what, before, after) for each thing that changed."""
    lines = []
    if change.from_starts_at != change.to_starts_at:
        lines.append(("Time", clinic_time(change.from_starts_at, change.from_location.timezone),
                      clinic_time(change.to_starts_at, change.to_location.timezone)))
    if change.from_location_id != change.to_location_id:
        lines.append(("Venue", f"{change.from_location.name} ({change.from_location.external_id})",
                      f"{change.to_location.name} ({change.to_location.external_id})"))
    if change.from_status != change.to_status:
        lines.append(("Status", appointment_status_words(change.from_status),
                      appointment_status_words(change.to_status)))
    return lines


def event_words(notification: Notification, event) -> str:
    """One history line: "Reminder by SMS: sent → failed (the sender): number not in service
    – call the patient"."""
    moved = f"{event.from_status or 'created'} → {event.to_status}"
    text = (f"{kind_words(notification.kind)} by {channel_words(notification.channel)}: "
            f"{moved} ({source_words(event.source)})")
    if event.error_code:
        text += f": {explain(event.error_code)}"
    elif event.detail and event.to_status in ("failed", "undelivered", "cancelled",
                                              "suppressed", "expired"):
        text += f": {event.detail}"
    return text
