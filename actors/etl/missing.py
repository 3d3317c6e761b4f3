"""Appointments a complete pull no longer returns: their reminders wait, suppressed.

Upstream may have deleted the booking, or may be briefly wrong; either way no reminder goes
out for an appointment the source of truth does not list. Nothing is cancelled and nobody
is notified: pending reminders become ``suppressed`` ("missing from source") and are planned
again, if their window is still open, once upstream lists the appointment again. On-call
hears once, with the count; staff see the list (the admin's appointments, filter "missing
from source").
"""
import logging
from datetime import datetime

from sqlalchemy import func, select

from db import (
    Appointment,
    Notification,
    db,
    move_many,
    raise_condition,
    resolve_condition,
)
from db.statuses import Kind, Status
from db.transitions import MISSING_FROM_SOURCE

log = logging.getLogger(__name__)

ALERT_KEY = "missing-from-source"


def suppress_missing(now: datetime, *, newly_flagged: int) -> int:
    """Suppress the pending reminders of every flagged appointment; alert when any is new."""
    n, a = Notification, Appointment
    pending = (select(n.id, n.status).join(a, a.id == n.appointment_id)
               .where(a.missing_from_source_at.is_not(None), n.kind == Kind.REMINDER,
                      n.status.in_((Status.PLANNED, Status.QUEUED))))
    suppressed = move_many(pending, to=Status.SUPPRESSED, source="etl-missing", now=now,
                           reason=MISSING_FROM_SOURCE)
    flagged = db.session.scalar(select(func.count()).select_from(a)
                                .where(a.missing_from_source_at.is_not(None)))
    if newly_flagged:
        raise_condition(ALERT_KEY, ALERT_KEY, (
            f"{newly_flagged} appointments were not returned by the last complete upstream "
            f"pull ({flagged} missing in all); their reminders are held back until upstream "
            f"lists them again. Staff see them in the admin's appointment list."),
            count=newly_flagged)
    elif not flagged:
        resolve_condition(ALERT_KEY)
    if suppressed:
        log.warning("reminders held back: appointments missing from source",
                    extra={"count": len(suppressed)})
    return len(suppressed)


def reopen_returned(now: datetime) -> int:
    """Plan again the held-back reminders of appointments upstream lists again."""
    n, a = Notification, Appointment
    returned = (select(n.id, n.status).join(a, a.id == n.appointment_id)
                .where(a.missing_from_source_at.is_(None), n.status == Status.SUPPRESSED,
                       n.reason == MISSING_FROM_SOURCE, n.deadline_at > now))
    rows = move_many(returned, to=Status.PLANNED, source="etl-returned", now=now,
                     reopening=MISSING_FROM_SOURCE)
    if rows:
        log.info("held-back reminders planned again", extra={"count": len(rows)})
    return len(rows)
