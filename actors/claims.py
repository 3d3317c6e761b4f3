"""Claiming a notification for a send attempt: check it, take the lease, render it.

The threads of a worker process that are about to send are claimed together, in one
transaction (actors.bookkeeping): the rows are locked together in id order (``FOR UPDATE``),
judged one by one in Python, and the claims written in one set-based statement with their
history lines. A row another transaction holds is waited for, never skipped: its message is this
thread's to decide. What a claim checks is the same whether it runs alone or in a batch.
"""
import logging
from datetime import datetime, timedelta
from typing import NamedTuple

from flask import current_app
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Bundle

from actors.channels import RetryableError
from actors.pauses import PAUSED_REASON, not_paused
from actors.recipients import why_unreachable
from actors.reminders.keys import reminder_day
from actors.rendering import context_for, language_for, render
from db import (
    Appointment,
    Kind,
    Location,
    Notification,
    NotificationEvent,
    Patient,
    Status,
    db,
    transition,
    utcnow,
)
from db.base import UTCDateTime
from db.transitions import MISSING_FROM_SOURCE

log = logging.getLogger(__name__)

#: Clocks differ: the provider's list is asked from this long before our first attempt.
CLOCK_SKEW = timedelta(minutes=2)


class AttemptInProgress(RetryableError):
    """Another worker holds the lease (a duplicate or redelivered message); try later."""

    def __init__(self, until: datetime):
        super().__init__("lease", "another attempt is in progress")
        self.until = until


class Claim(NamedTuple):
    channel: str
    address: str
    rendered: object
    #: When the first attempt began, if an earlier attempt's outcome is unknown.
    since: datetime | None
    #: The lease this attempt holds.
    until: datetime


def _precheck(row, now) -> tuple[str, str] | None:
    """The terminal status and reason a notification takes instead of being sent, if any."""
    notification, appointment = row.notification, row.appointment
    if notification.deadline_at is not None and now >= notification.deadline_at:
        return Status.EXPIRED, "deadline passed before sending"
    if notification.kind == Kind.REMINDER and appointment.status != "booked":
        return Status.CANCELLED, f"appointment {appointment.status}"
    planned_for = (reminder_day(notification.dedupe_key)
                   if notification.kind == Kind.REMINDER else None)
    if planned_for is not None and appointment.local_date != planned_for:
        return Status.CANCELLED, "appointment moved to another day"
    if notification.kind != Kind.REMINDER and appointment.revision != notification.revision:
        return Status.CANCELLED, "superseded by a newer change"
    if notification.kind == Kind.REMINDER and appointment.missing_from_source_at is not None:
        return Status.SUPPRESSED, MISSING_FROM_SOURCE
    unreachable = why_unreachable(row.patient, notification.channel)
    if unreachable:
        return Status.SUPPRESSED, unreachable
    if row.paused:
        # Its own status: transition() refuses a move to it, so the row waits unsent and
        # the sweep offers it again until a resume or its deadline (actors/pauses.py).
        return notification.status, PAUSED_REASON
    return None


#: What ``_judge`` answers for a row that passes every check: claim and render it.
_TO_CLAIM = object()


def _columns(model, name: str) -> Bundle:
    return Bundle(name, *model.__table__.c)


#: A batch's rows with what judging and rendering them read, locked in id order (one lock
#: order for every batch: no deadlock). Plain rows, not ORM objects: building and tracking
#: four mapped objects per message was a tenth of a worker's CPU, and nothing here writes
#: through them (claims are one statement; a precheck outcome loads its one object).
_LOCKED = (select(_columns(Notification, "notification"), _columns(Appointment, "appointment"),
                  _columns(Patient, "patient"), _columns(Location, "location"),
                  (~not_paused()).label("paused"))
           .join_from(Notification, Appointment, Appointment.id == Notification.appointment_id)
           .join(Patient, Patient.id == Notification.patient_id)
           .join(Location, Location.id == Appointment.location_id)
           .where(Notification.id.in_(bindparam("ids", expanding=True)))
           .order_by(Notification.id).with_for_update(of=Notification.__table__))


def claim_rows(ids: list) -> list:
    """The claims of a batch, in the caller's transaction (actors.bookkeeping commits): per
    id a ``Claim``, None, or the exception to raise in that id's thread."""
    now = utcnow()
    until = now + timedelta(seconds=current_app.config["SEND_LEASE_SECONDS"])
    rows = {row.notification.id: row
            for row in db.session.execute(_LOCKED, {"ids": list(set(ids))})}
    claims: dict[int, str] = {}  # id -> status it was claimed from
    results = []
    for notification_id in ids:
        row = rows.get(notification_id)
        results.append(_judge(row, notification_id, now, claims))
    since = _first_attempts([i for i, status in claims.items() if status == Status.SENDING])
    for index, notification_id in enumerate(ids):
        if results[index] is _TO_CLAIM:
            try:
                results[index] = _render(rows[notification_id], since.get(notification_id),
                                         until)
            except Exception as error:  # noqa: BLE001 - this message's failure, not the batch's
                claims.pop(notification_id)
                results[index] = error
    if claims:
        _write_claims(claims, now, until)
    return results


def _judge(row, notification_id, now, claims):
    if row is None:
        log.warning("notification not found", extra={"notification_id": notification_id})
        return None
    notification = row.notification
    if notification_id in claims:  # the same message twice in one batch
        return AttemptInProgress(now)
    if notification.status not in (Status.QUEUED, Status.SENDING):
        log.info("nothing to send", extra={"notification_id": notification_id,
                                           "status": notification.status})
        return None
    if notification.claimed_until is not None and notification.claimed_until > now:
        return AttemptInProgress(notification.claimed_until)
    outcome = _precheck(row, now)
    if outcome:
        # Rare, so the ORM object only here; its row is already locked by this transaction.
        transition(db.session.get(Notification, notification_id, populate_existing=True),
                   outcome[0], source="send", reason=outcome[1])
        return None
    claims[notification_id] = notification.status
    return _TO_CLAIM


def _first_attempts(ids: list[int]) -> dict[int, datetime]:
    """When each earlier attempt began: the provider may hold its message since then."""
    if not ids:
        return {}
    return dict(db.session.execute(
        select(NotificationEvent.notification_id, func.min(NotificationEvent.at))
        .where(NotificationEvent.notification_id.in_(ids),
               NotificationEvent.to_status == Status.SENDING)
        .group_by(NotificationEvent.notification_id)).all())


def _render(row, since, until) -> Claim:
    notification, patient, location = row.notification, row.patient, row.location
    rendered = render(notification.kind, notification.channel,
                      context_for(row.appointment, patient, location, notification),
                      language_for(patient, location))
    address = patient.phone if notification.channel == "sms" else patient.email
    return Claim(notification.channel, address, rendered,
                 since - CLOCK_SKEW if since is not None else None, until)


#: queued -> sending (with its history line) or another try of ``sending``: the lease taken
#: and the attempt counted, for the whole batch in one statement. Arrays, not a VALUES list,
#: so the statement's text is the same for every batch (prepared and cached once).
_CLAIM = text("""
    WITH claimed AS (
        SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS text[]))
            AS c(id, from_status)),
    moved AS (
        UPDATE notifications n SET status = 'sending', attempts = n.attempts + 1,
            claimed_until = :until, updated_at = :now
        FROM claimed WHERE n.id = claimed.id AND n.status = claimed.from_status
        RETURNING n.id, claimed.from_status)
    INSERT INTO notification_events (notification_id, from_status, to_status, at, source)
    SELECT id, from_status, 'sending', :now, 'send' FROM moved WHERE from_status = 'queued'
""").bindparams(bindparam("until", type_=UTCDateTime), bindparam("now", type_=UTCDateTime))


def _write_claims(claims: dict[int, str], now, until) -> None:
    db.session.execute(_CLAIM, {"ids": list(claims), "statuses": list(claims.values()),
                                "until": until, "now": now})
