"""The outgoing webhook: patients' answers to the appointment system, from the outbox.

``POST APPOINTMENT_SYSTEM_WEBHOOK_URL``, signed per Standard Webhooks with
``APPOINTMENT_SYSTEM_WEBHOOK_SECRET`` by the ``standardwebhooks`` library (the one our
intake verifies with), one ``webhook-id`` per event on every attempt. Any 2xx is success.
Anything else is recorded as an attempt and tried again after a backoff with full jitter;
the wait is kept in PostgreSQL, not in the broker (docs/architecture.md, rule 1): the minute
tick enqueues what is due. An event still unanswered ``OUTBOUND_WEBHOOK_MAX_HOURS`` after it
was written is failed and on-call hears; ops retry it with ``flask --app web outbox retry``.
"""
import logging
import random
import time
from datetime import datetime, timedelta

import requests
from flask import current_app
from periodiq import cron
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from actors.broker import actor
from actors.enqueue import enqueue_after_commit
from actors.retries import database_unavailable
from db import OutboundAttempt, OutboundWebhook, db, raise_condition, utcnow

log = logging.getLogger(__name__)

ALERT_KIND = "outbound-webhook-failed"
#: Due events handed to the queue per tick; the rest wait for the next minute.
TICK_BATCH = 500


def backoff(attempts: int, config) -> timedelta:
    """Full jitter over a doubling ceiling: many events failing together do not come back
    together when the appointment system returns."""
    ceiling = min(config["OUTBOUND_WEBHOOK_MAX_BACKOFF_SECONDS"],
                  config["OUTBOUND_WEBHOOK_MIN_BACKOFF_SECONDS"] * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=random.uniform(config["OUTBOUND_WEBHOOK_MIN_BACKOFF_SECONDS"] / 2,
                                            ceiling))


def signed_headers(secret: str, webhook_id: str, body: str, at: datetime) -> dict:
    return {"webhook-id": webhook_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(secret).sign(webhook_id, at, body),
            "Content-Type": "application/json"}


def give_up_time(now: datetime) -> datetime:
    return now + timedelta(hours=current_app.config["OUTBOUND_WEBHOOK_MAX_HOURS"])


def enqueue_delivery(outbox_id: int) -> None:
    """Deliver the event once the session that wrote it commits (rule 2)."""
    enqueue_after_commit(db.session, deliver_event, outbox_id)


def _post(event: OutboundWebhook, config) -> tuple[int | None, str | None]:
    headers = signed_headers(config["APPOINTMENT_SYSTEM_WEBHOOK_SECRET"], event.webhook_id,
                             event.body, utcnow())
    timeout = config["OUTBOUND_WEBHOOK_TIMEOUT_SECONDS"]
    try:
        answer = requests.post(config["APPOINTMENT_SYSTEM_WEBHOOK_URL"], data=event.body.encode(),
                               headers=headers, timeout=(timeout, timeout),
                               allow_redirects=False)
    except requests.RequestException as error:
        return None, type(error).__name__
    return answer.status_code, None if 200 <= answer.status_code < 300 else (
        f"HTTP {answer.status_code}")


def _fail(event: OutboundWebhook, now: datetime) -> None:
    event.status, event.failed_at = "failed", now
    failed = db.session.scalar(select(func.count()).select_from(OutboundWebhook)
                               .where(OutboundWebhook.status == "failed"))
    raise_condition(ALERT_KIND, ALERT_KIND,
                    f"{failed} event(s) for the appointment system failed after "
                    f"{current_app.config['OUTBOUND_WEBHOOK_MAX_HOURS']} h of retries "
                    f"(last: outbox {event.id}, {event.last_error})", sample_ids=[event.id])
    log.error("outbound webhook failed for good", extra={"outbox_id": event.id,
                                                         "attempts": event.attempts})


def attempt(outbox_id: int, now: datetime | None = None) -> str | None:
    """One try of one event, if it is due; returns its status after, None if not tried."""
    config = current_app.config
    if not (config["APPOINTMENT_SYSTEM_WEBHOOK_URL"] and
            config["APPOINTMENT_SYSTEM_WEBHOOK_SECRET"]):
        return None  # kept pending; delivered once the deployment names the receiver
    now = now or utcnow()
    # SKIP LOCKED: a duplicate message (the tick and the first enqueue) leaves the event to
    # whoever holds it, so two workers never post it at the same time.
    event = db.session.execute(select(OutboundWebhook).where(OutboundWebhook.id == outbox_id)
                               .with_for_update(skip_locked=True)).scalar_one_or_none()
    if event is None or event.status != "pending" or event.next_attempt_at > now:
        db.session.rollback()
        return None
    started = time.monotonic()
    status_code, error = _post(event, config)
    event.attempts += 1
    db.session.add(OutboundAttempt(outbox_id=event.id, at=now, status_code=status_code,
                                   error=error,
                                   duration_ms=int((time.monotonic() - started) * 1000)))
    if error is None:
        event.status, event.delivered_at, event.last_error = "delivered", utcnow(), None
    else:
        event.last_error = error
        if now >= event.give_up_at:
            _fail(event, now)
        else:
            # The last try lands on the limit itself, not a backoff past it.
            event.next_attempt_at = min(now + backoff(event.attempts, config), event.give_up_at)
    db.session.commit()
    log.log(logging.INFO if error is None else logging.WARNING, "outbound webhook attempt",
            extra={"outbox_id": outbox_id, "status_code": status_code, "error": error,
                   "attempts": event.attempts, "outbox_status": event.status})
    return event.status


@actor(queue_name="default", max_retries=0, time_limit=60_000)
def deliver_event(outbox_id: int):
    """Ids only in the message (rule 3); a failed try is rescheduled in the outbox."""
    try:
        attempt(outbox_id)
    except Exception as error:
        if not database_unavailable(error):
            raise
        db.session.rollback()
        log.warning("database unavailable; the outbox tick retries the event",
                    extra={"outbox_id": outbox_id})


def due_events(now: datetime, limit: int = TICK_BATCH) -> list[int]:
    return list(db.session.scalars(
        select(OutboundWebhook.id).where(OutboundWebhook.status == "pending",
                                         OutboundWebhook.next_attempt_at <= now)
        .order_by(OutboundWebhook.next_attempt_at).limit(limit)))


@actor(queue_name="default", periodic=cron("* * * * *"), max_retries=0, time_limit=50_000)
def outbox_tick():
    """Hand the events whose retry is due to the queue; a missed minute only delays them."""
    if not current_app.config["APPOINTMENT_SYSTEM_WEBHOOK_URL"]:
        return
    try:
        ids = due_events(utcnow())
        db.session.rollback()
    except Exception as error:
        if not database_unavailable(error):
            raise
        log.warning("outbox tick skipped: database unavailable")
        return
    for outbox_id in ids:
        deliver_event.send(outbox_id)


def retry_failed(outbox_id: int | None = None, now: datetime | None = None) -> list[int]:
    """Ops: put failed events (or one) back to pending, with a fresh time limit."""
    now = now or utcnow()
    query = select(OutboundWebhook).where(OutboundWebhook.status == "failed")
    if outbox_id is not None:
        query = query.where(OutboundWebhook.id == outbox_id)
    events = db.session.scalars(query.with_for_update()).all()
    for event in events:
        event.status, event.failed_at, event.next_attempt_at = "pending", None, now
        event.give_up_at = give_up_time(now)  # the full window again
        enqueue_delivery(event.id)
    return [event.id for event in events]
