"""The send actors: one notification, one provider call, idempotent under redelivery.

A message carries only a notification id (docs/architecture.md, rule 3). The actor loads
and locks the row, acts only from the state it expects, re-checks everything that may have
changed since the notification was created, and records every outcome as a guarded
transition. A try after an attempt whose outcome is unknown asks the provider first
(actors.receipts); retries are ``dramatiq.Retry`` (actors.retries): docs/architecture.md,
"Crashes and outages".
"""
import logging
from datetime import datetime, timedelta
from typing import NamedTuple

import dramatiq
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload

from actors.broker import actor
from actors.channels import ConsentError, PermanentError, RetryableError, channels_for
from actors.channels.failover import adapter_for
from actors.enqueue import enqueue_after_commit
from actors.pauses import PAUSED_REASON, paused
from actors.receipts import FINAL, accepted
from actors.recipients import why_unreachable
from actors.reminders.fallback import email_fallback
from actors.reminders.keys import reminder_day
from actors.rendering import context_for, render
from actors.retries import (
    database_unavailable,
    next_delay_ms,
    next_try_at,
    outage_retry,
    waiting_retry,
)
from db import (
    Kind,
    Notification,
    NotificationEvent,
    Status,
    db,
    record_consent,
    transition,
    utcnow,
)
from db.transitions import MISSING_FROM_SOURCE

log = logging.getLogger(__name__)

TIME_LIMIT_MS = 60_000
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
    if paused(notification):
        # Its own status: transition() refuses a move to it, so the row waits unsent and
        # the sweep offers it again until a resume or its deadline (actors/pauses.py).
        return notification.status, PAUSED_REASON
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
        until = notification.claimed_until
        db.session.rollback()
        raise AttemptInProgress(until)
    outcome = _precheck(notification, now)
    if outcome:
        transition(notification, outcome[0], source="send", reason=outcome[1])
        db.session.commit()
        return None
    since = None
    if notification.status == "queued":
        transition(notification, "sending", source="send")
    else:  # an earlier attempt crashed, timed out or failed: the provider may have it
        since = db.session.scalar(select(func.min(NotificationEvent.at)).where(
            NotificationEvent.notification_id == notification.id,
            NotificationEvent.to_status == Status.SENDING))
    notification.attempts += 1
    # While the lease lasts a duplicate message waits; once it runs out, the attempt is
    # presumed dead and the next try asks the provider before sending (_find_sent).
    notification.claimed_until = now + timedelta(seconds=current_app.config["SEND_LEASE_SECONDS"])
    appointment, patient = notification.appointment, notification.patient
    rendered = render(notification.kind, notification.channel,
                      context_for(appointment, patient, appointment.location, notification),
                      patient.language)
    address = patient.phone if notification.channel == "sms" else patient.email
    db.session.commit()
    return Claim(notification.channel, address, rendered,
                 since - CLOCK_SKEW if since is not None else None)


def status_callback_url(notification_id: int) -> str:
    """Twilio signs the whole URL, so the id in it is as trustworthy as the receipt."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}/api/v1/twilio/status?notification={notification_id}"


def _send(claim: Claim, notification_id: int) -> tuple[str, str]:
    adapter = adapter_for(claim.channel)  # the next provider while the first is failing
    rendered = claim.rendered
    if claim.channel == "sms":
        return adapter.provider, adapter.send_sms(
            claim.address, rendered.body, status_callback=status_callback_url(notification_id))
    return adapter.provider, adapter.send_email(claim.address, rendered.subject, rendered.body,
                                                rendered.html, notification_id=notification_id)


def _find_sent(claim: Claim) -> tuple[str, str, str] | None:
    """(provider, message id, provider status) of the earlier attempt's message, if the
    provider can be asked and has it. SMTP cannot be asked: at most one duplicate there."""
    adapter = channels_for(current_app)[claim.channel]
    if claim.since is None or not hasattr(adapter, "find_sent"):
        return None
    found = adapter.find_sent(claim.address, claim.rendered.body, claim.since)
    return (adapter.provider, *found) if found else None


def _adopt(notification_id: int, claim: Claim, found: tuple[str, str, str]) -> None:
    provider, message_id, provider_status = found
    notification = _locked(notification_id)
    notification.claimed_until = None
    accepted(notification, provider=provider, message_id=message_id, source="reconcile",
             segments=claim.rendered.segments)
    if provider_status in FINAL:
        transition(notification, FINAL[provider_status], source="reconcile",
                   reason=f"provider reported {provider_status}")
    db.session.commit()
    log.info("earlier attempt found at the provider; not sent again",
             extra={"notification_id": notification_id, "provider": provider})


def _retry_later(notification_id: int, error: RetryableError) -> None:
    """Record a retryable failure and raise the Retry, or fail it if the deadline is near."""
    notification = _locked(notification_id)
    if notification.status != Status.SENDING:
        # A receipt arrived while the answer did not: the message went; nothing to retry.
        notification.claimed_until = None
        db.session.commit()
        return
    notification.claimed_until = None
    notification.error_code = error.code
    delay = next_delay_ms()
    if notification.deadline_at is not None and next_try_at(delay) >= notification.deadline_at:
        transition(notification, "failed", source="send", error_code=error.code,
                   reason="provider unavailable until the deadline")
        db.session.commit()
        return
    db.session.commit()
    log.warning("send will be retried", extra={"notification_id": notification_id,
                                               "error_code": error.code, "retry_in_ms": delay})
    raise dramatiq.Retry(f"provider error {error.code}", delay=delay)


def deliver(notification_id: int) -> None:
    try:
        _deliver(notification_id)
    except AttemptInProgress as busy:
        db.session.rollback()
        wait = max(1000, int((busy.until - utcnow()).total_seconds() * 1000))
        log.warning("another attempt holds the lease; will look again",
                    extra={"notification_id": notification_id, "retry_in_ms": wait})
        raise waiting_retry(wait) from None
    except Exception as error:
        if not database_unavailable(error):
            raise
        _forget_session()
        log.warning("database unavailable; send will be retried",
                    extra={"notification_id": notification_id})
        raise outage_retry("send") from None


def _forget_session() -> None:
    try:
        db.session.rollback()
    except SQLAlchemyError:  # the connection is gone; the pool replaces it (pre-ping)
        db.session.invalidate()


def _deliver(notification_id: int) -> None:
    claim = _claim(notification_id)
    if claim is None:
        return
    try:
        found = _find_sent(claim)
        if found is not None:
            _adopt(notification_id, claim, found)
            return
        provider, message_id = _send(claim, notification_id)
    except RetryableError as error:
        _retry_later(notification_id, error)
        return
    except PermanentError as error:
        notification = _locked(notification_id)
        notification.claimed_until = None
        transition(notification, "failed", source="send", error_code=error.code,
                   reason=error.reason)
        if isinstance(error, ConsentError):
            record_consent(notification.patient, claim.channel, opted_out=True,
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
    # False when the receipt came first (matched by the id in its URL) and recorded it.
    accepted(notification, provider=provider, message_id=message_id, source="send",
             segments=claim.rendered.segments)
    db.session.commit()
    log.info("sent", extra={"notification_id": notification_id, "channel": claim.channel,
                            "provider": provider})


def mark_retries_exhausted(message_data: dict, retry_info: dict) -> None:
    """Dramatiq gave up on a message: the notification failed technically; on-call hears."""
    notification_id = message_data["args"][0]
    if not isinstance(notification_id, int):  # a malformed message: nothing to mark
        log.error("send retries exhausted for a message without a notification id")
        return
    try:
        _mark_failed(notification_id)
    except Exception as error:
        if not database_unavailable(error):
            raise
        _forget_session()
        log.warning("database unavailable; will mark later",
                    extra={"notification_id": notification_id})
        raise outage_retry("retries exhausted") from None
    log.error("send retries exhausted", extra={"notification_id": notification_id})


def _mark_failed(notification_id: int) -> None:
    notification = _locked(notification_id)
    if notification is not None:
        notification.claimed_until = None
        transition(notification, "failed", source="retries-exhausted",
                   error_code=notification.error_code, reason="retries exhausted")
        db.session.commit()


retries_exhausted = actor(mark_retries_exhausted, actor_name="send_retries_exhausted",
                          queue_name="priority", max_retries=3)

_SEND_OPTIONS = {"time_limit": TIME_LIMIT_MS, "on_retry_exhausted": "send_retries_exhausted"}
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
