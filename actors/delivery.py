"""The send actors: one notification, one provider call, idempotent under redelivery.

A message carries only a notification id (docs/architecture.md, rule 3). The actor loads
and locks the row, acts only from the state it expects, re-checks everything that may have
changed since the notification was created, and records every outcome as a guarded
transition.
"""
import logging
from datetime import timedelta

from dramatiq.middleware import CurrentMessage
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from actors.broker import actor
from actors.channels import ConsentError, PermanentError, RetryableError, channels_for
from actors.enqueue import enqueue_after_commit
from actors.recipients import why_unreachable
from actors.reminders.fallback import email_fallback
from actors.reminders.keys import reminder_day
from actors.rendering import context_for, render
from db import Kind, Notification, Status, db, record_consent, transition, utcnow
from db.transitions import MISSING_FROM_SOURCE

log = logging.getLogger(__name__)

#: While an attempt holds this lease, a duplicate message for the same notification waits.
LEASE = timedelta(seconds=90)
TIME_LIMIT_MS = 60_000


class AttemptInProgress(RetryableError):
    """Another worker holds the lease (a duplicate or redelivered message); try later."""


def _locked(notification_id: int, *, with_context: bool = False) -> Notification | None:
    """The notification, locked; ``with_context`` also loads its appointment (with location)
    and patient in the same round trip, which the claim always reads."""
    statement = select(Notification).where(Notification.id == notification_id)
    if with_context:
        statement = statement.options(joinedload(Notification.appointment),
                                      joinedload(Notification.patient))
    return db.session.execute(
        statement.with_for_update(of=Notification).execution_options(populate_existing=True)
    ).unique().scalar_one_or_none()


def _precheck(notification: Notification, now) -> tuple[str, str] | None:
    """The terminal status and reason a notification takes instead of being sent, if any."""
    appointment = notification.appointment
    if notification.deadline_at is not None and now >= notification.deadline_at:
        return "expired", "deadline passed before sending"
    if notification.kind == "reminder" and appointment.status != "booked":
        return "cancelled", f"appointment {appointment.status}"
    planned_for = (reminder_day(notification.dedupe_key)
                   if notification.kind == "reminder" else None)
    if planned_for is not None and appointment.local_date != planned_for:
        return "cancelled", "appointment moved to another day"
    if notification.kind != Kind.REMINDER and appointment.revision != notification.revision:
        return Status.CANCELLED, "superseded by a newer change"
    if notification.kind == Kind.REMINDER and appointment.missing_from_source_at is not None:
        return Status.SUPPRESSED, MISSING_FROM_SOURCE
    unreachable = why_unreachable(notification.patient, notification.channel)
    if unreachable:
        return "suppressed", unreachable
    return None


def _claim(notification_id: int):
    """First transaction: check, claim the lease, render. Returns what to send, or None."""
    notification = _locked(notification_id, with_context=True)
    if notification is None:
        log.warning("notification not found", extra={"notification_id": notification_id})
        return None
    now = utcnow()
    if notification.status not in ("queued", "sending"):
        log.info("nothing to send", extra={"notification_id": notification_id,
                                           "status": notification.status})
        db.session.rollback()
        return None
    if notification.claimed_until is not None and notification.claimed_until > now:
        db.session.rollback()
        raise AttemptInProgress("lease", "another attempt is in progress")
    outcome = _precheck(notification, now)
    if outcome:
        transition(notification, outcome[0], source="send", reason=outcome[1])
        db.session.commit()
        return None
    if notification.status == "queued":
        transition(notification, "sending", source="send")
    notification.attempts += 1
    notification.claimed_until = now + LEASE
    appointment, patient = notification.appointment, notification.patient
    rendered = render(notification.kind, notification.channel,
                      context_for(appointment, patient, appointment.location), patient.language)
    address = patient.phone if notification.channel == "sms" else patient.email
    db.session.commit()
    return notification.channel, address, rendered


def _send(channel: str, address: str, rendered, notification_id: int) -> tuple[str, str]:
    adapter = channels_for(current_app)[channel]
    if channel == "sms":
        callback = f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/api/v1/twilio/status"
        return adapter.provider, adapter.send_sms(address, rendered.body, status_callback=callback)
    return adapter.provider, adapter.send_email(address, rendered.subject, rendered.body,
                                                rendered.html)


def _retry_would_miss_deadline(notification: Notification) -> bool:
    if notification.deadline_at is None:
        return False
    message = CurrentMessage.get_current_message()
    backoff_ms = message.options.get("min_backoff", 1000) if message else 1000
    retries = message.options.get("retries", 0) if message else 0
    next_try = utcnow() + timedelta(milliseconds=backoff_ms * (2 ** retries))
    return next_try >= notification.deadline_at


def deliver(notification_id: int) -> None:
    claimed = _claim(notification_id)
    if claimed is None:
        return
    channel, address, rendered = claimed
    try:
        provider, message_id = _send(channel, address, rendered, notification_id)
    except RetryableError as error:
        notification = _locked(notification_id)
        notification.claimed_until = None
        notification.error_code = error.code
        if _retry_would_miss_deadline(notification):
            transition(notification, "failed", source="send", error_code=error.code,
                       reason="provider unavailable until the deadline")
            db.session.commit()
            return
        db.session.commit()
        log.warning("send will be retried", extra={"notification_id": notification_id,
                                                   "error_code": error.code})
        raise
    except PermanentError as error:
        notification = _locked(notification_id)
        notification.claimed_until = None
        transition(notification, "failed", source="send", error_code=error.code,
                   reason=error.reason)
        if isinstance(error, ConsentError):
            record_consent(notification.patient, channel, opted_out=True,
                           source="provider-error", reason=f"{error.code}: {error.reason}")
        fallback = email_fallback(notification)  # reminders only; None otherwise
        if fallback is not None:
            enqueue_send(fallback)
        db.session.commit()
        log.warning("send failed permanently", extra={"notification_id": notification_id,
                                                      "error_code": error.code})
        return
    notification = _locked(notification_id)
    notification.claimed_until = None
    notification.provider = provider
    notification.provider_message_id = message_id
    notification.segments = rendered.segments
    transition(notification, "sent", source="send")
    db.session.commit()
    log.info("sent", extra={"notification_id": notification_id, "channel": channel,
                            "provider": provider})


def mark_retries_exhausted(message_data: dict, retry_info: dict) -> None:
    """Dramatiq gave up on a message: the notification failed technically; on-call hears."""
    notification_id = message_data["args"][0]
    notification = _locked(notification_id)
    if notification is not None:
        notification.claimed_until = None
        transition(notification, "failed", source="retries-exhausted",
                   error_code=notification.error_code, reason="retries exhausted")
        db.session.commit()
    log.error("send retries exhausted", extra={"notification_id": notification_id})


retries_exhausted = actor(mark_retries_exhausted, actor_name="send_retries_exhausted",
                          queue_name="priority", max_retries=3)

_SEND_OPTIONS = dict(time_limit=TIME_LIMIT_MS, on_retry_exhausted="send_retries_exhausted")
send_priority = actor(deliver, actor_name="send_priority", queue_name="priority", **_SEND_OPTIONS)
send_sms = actor(deliver, actor_name="send_sms", queue_name="sms", **_SEND_OPTIONS)
send_email = actor(deliver, actor_name="send_email", queue_name="email", **_SEND_OPTIONS)
SEND_ACTORS = {"priority": send_priority, "sms": send_sms, "email": send_email}


def send_options(config, queue: str) -> dict:
    """Retry policy per message, from settings: immediate updates retry within a second."""
    prefix = "PRIORITY" if queue == "priority" else "REMINDER"
    return {"max_retries": config["SEND_MAX_RETRIES"],
            "min_backoff": config[f"{prefix}_MIN_BACKOFF_MS"],
            "max_backoff": config[f"{prefix}_MAX_BACKOFF_MS"]}


def enqueue_send(notification: Notification) -> None:
    """Hand a committed, queued notification to its queue once the session commits."""
    queue = notification.queue
    enqueue_after_commit(db.session, SEND_ACTORS[queue], notification.id,
                         **send_options(current_app.config, queue))
