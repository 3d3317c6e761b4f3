"""The send actors: one notification, one provider call, idempotent under redelivery.

A message carries only a notification id (docs/architecture.md, rule 3). The actor loads
and locks the row, acts only from the state it expects, re-checks everything that may have
changed since the notification was created, and records every outcome as a guarded
transition. A try after an attempt whose outcome is unknown asks the provider first
(actors.receipts); retries are ``dramatiq.Retry`` (actors.retries): docs/architecture.md,
"Crashes and outages".
"""
import logging
import threading
from datetime import timedelta

import dramatiq
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from actors.bookkeeping import claim as claim_for_sending
from actors.bookkeeping import record_sent, record_sent_later, recorded
from actors.broker import actor
from actors.channels import ConsentError, PermanentError, RetryableError
from actors.channels.failover import adapter_for, find_earlier
from actors.claims import AttemptInProgress, Claim
from actors.enqueue import enqueue_after_commit
from actors.group_commit import Pending
from actors.receipts import FINAL, accepted
from actors.reminders.fallback import email_fallback
from actors.retries import (
    database_unavailable,
    next_delay_ms,
    next_try_at,
    outage_retry,
    waiting_retry,
)
from db import Notification, Status, db, record_consent, transition, utcnow
from db.statuses import PROVIDERS_WITH_RECEIPTS

log = logging.getLogger(__name__)

TIME_LIMIT_MS = 60_000
#: Per process and provider: a provider that can neither be asked nor sends receipts (SMTP)
#: has one message at a time between its answer and the commit that records it, so a crash
#: sends at most one message twice.
_ONE_AT_A_TIME: dict[str, threading.Lock] = {}


def _locked(notification_id: int) -> Notification | None:
    return db.session.execute(
        select(Notification).where(Notification.id == notification_id)
        .with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()


def status_callback_url(notification_id: int) -> str:
    """Twilio signs the whole URL, so the id in it is as trustworthy as the receipt."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}/api/v1/twilio/status?notification={notification_id}"


def _send(adapter, claim: Claim, notification_id: int) -> str:
    rendered = claim.rendered
    if claim.channel == "sms":
        return adapter.send_sms(claim.address, rendered.body,
                                status_callback=status_callback_url(notification_id))
    return adapter.send_email(claim.address, rendered.subject, rendered.body, rendered.html,
                              notification_id=notification_id)


def _find_sent(claim: Claim) -> tuple[str, str, str] | None:
    """(provider, message id, provider status) of the earlier attempt's message, asked of
    every provider of the channel that can be asked (actors.channels.failover). SMTP and
    SNS cannot be asked: at most one duplicate there."""
    if claim.since is None:
        return None
    return find_earlier(current_app, claim.channel, claim.address, claim.rendered.body,
                        claim.since)


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


def _retry_later(notification_id: int, provider: str, error: RetryableError) -> None:
    """Record a retryable failure and raise the Retry, or fail it if the deadline is near."""
    notification = _locked(notification_id)
    if notification.status != Status.SENDING:
        # A receipt arrived while the answer did not: the message went; nothing to retry.
        notification.claimed_until = None
        db.session.commit()
        return
    notification.claimed_until = None
    notification.error_code = error.code
    if notification.provider_message_id is None:  # which provider failed (the circuit's)
        notification.provider = provider
    delay = next_delay_ms()
    if notification.deadline_at is not None and next_try_at(delay) >= notification.deadline_at:
        transition(notification, "failed", source="send", error_code=error.code,
                   reason="provider unavailable until the deadline")
        db.session.commit()
        return
    db.session.commit()
    log.warning("send will be retried", extra={"notification_id": notification_id,
                                               "provider": provider,
                                               "error_code": error.code, "retry_in_ms": delay})
    raise dramatiq.Retry(f"provider error {error.code}", delay=delay)


def _failed(notification_id: int, claim: Claim, provider: str, error: PermanentError) -> None:
    notification = _locked(notification_id)
    notification.claimed_until = None
    if notification.provider_message_id is None:
        notification.provider = provider
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


def deliver(notification_id: int) -> None:
    _handled(notification_id, _deliver, notification_id)


def deliver_claimed(notification_id: int, claimed) -> tuple[Pending, str] | None:
    """``deliver`` for one reminder of a batch message, claimed with the others of its batch
    (``claimed``: what ``bookkeeping.claim_all`` gave for it). A provider's acceptance is
    recorded with the process's next batch: returned are that record, to be waited for
    (``wait_recorded``) before the message is acknowledged, and the provider (the batch
    logs its sends, one line per provider)."""
    return _handled(notification_id, _deliver, notification_id, claimed, later=True)


def wait_recorded(notification_id: int, pending: Pending) -> bool:
    """True once the answer is committed (a receipt may have recorded it first)."""
    _handled(notification_id, recorded, pending)
    return True


def _handled(notification_id: int, step, *args, **kwargs):
    """``step``, with a held lease or an unavailable database turned into this reminder's
    retry (without using up a retry for the lease)."""
    try:
        return step(*args, **kwargs)
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


def _cannot_be_asked(adapter) -> bool:
    return not hasattr(adapter, "find_sent") and adapter.provider not in PROVIDERS_WITH_RECEIPTS


#: ``_deliver`` claims the notification itself unless its batch already did.
_CLAIM_NOW = object()


def _deliver(notification_id: int, claimed=_CLAIM_NOW, *, later: bool = False):
    if not isinstance(notification_id, int):  # a malformed message: nothing to look up
        raise TypeError("a send message carries one notification id")
    fresh = claimed is _CLAIM_NOW
    claim = claim_for_sending(notification_id) if fresh else claimed
    if isinstance(claim, Exception):  # its claim's outcome, taken with its batch's
        raise claim
    if claim is None:
        return None
    adapter = adapter_for(claim.channel)  # the next provider while the first is failing
    if _cannot_be_asked(adapter):
        with _ONE_AT_A_TIME.setdefault(adapter.provider, threading.Lock()):
            _lease_left(claim)  # the others may have kept it waiting
            # Recorded before the next one is sent: at most one message sent twice.
            return _attempt(notification_id, claim, adapter, later=False)
    if not fresh:
        _lease_left(claim)  # behind the earlier reminders of its batch
    return _attempt(notification_id, claim, adapter, later=later)


def _lease_left(claim: Claim) -> None:
    """So long has passed since the claim that the lease may run out mid-send, and another
    attempt would then send it too: try again after the lease. A send may take two provider
    timeouts (connect, read); a claim past half its lease is not sent on either, so that a
    lease set short (tests) still lets a batch's first reminders go."""
    config = current_app.config
    margin = min(2 * config["PROVIDER_TIMEOUT_SECONDS"], config["SEND_LEASE_SECONDS"] / 2)
    if utcnow() + timedelta(seconds=margin) >= claim.until:
        raise AttemptInProgress(claim.until)


def _attempt(notification_id: int, claim: Claim, adapter, *,
             later: bool) -> tuple[Pending, str] | None:
    try:
        found = _find_sent(claim)
        if found is not None:
            _adopt(notification_id, claim, found)
            return None
        message_id = _send(adapter, claim, notification_id)
    except RetryableError as error:
        _retry_later(notification_id, adapter.provider, error)
        return None
    except PermanentError as error:
        _failed(notification_id, claim, adapter.provider, error)
        return None
    # A receipt may come first (matched by the id in its URL) and record it: either is fine.
    answer = {"provider": adapter.provider, "message_id": message_id,
              "segments": claim.rendered.segments}
    if later:
        return record_sent_later(notification_id, **answer), adapter.provider
    record_sent(notification_id, **answer)
    log.info("sent", extra={"notification_id": notification_id, "channel": claim.channel,
                            "provider": adapter.provider})
    return None


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
