"""The only way a notification's status changes: forward, guarded, and written down."""
import logging

from db.base import db, utcnow
from db.notifications import Notification, NotificationEvent

log = logging.getLogger(__name__)

ALLOWED = {
    "planned": {"queued", "cancelled", "expired", "suppressed", "skipped", "failed"},
    "queued": {"sending", "cancelled", "expired", "suppressed", "failed"},
    "sending": {"sent", "failed", "cancelled", "expired", "suppressed"},
    # Providers report the fate of a message after we handed it over.
    "sent": {"delivered", "undelivered", "failed"},
}
TERMINAL = {"delivered", "undelivered", "failed", "cancelled", "expired", "suppressed", "skipped"}
TIMESTAMPS = {"queued": "queued_at", "sent": "sent_at", "delivered": "delivered_at"}


#: The one way back from a terminal status: ops replaying a dead letter re-opens a send
#: that failed only because Dramatiq ran out of retries (never a provider's verdict).
REOPENABLE_REASONS = {"retries exhausted"}


def reopen_for_replay(notification: Notification, *, source: str) -> bool:
    """failed ("retries exhausted") -> queued, recorded like any transition; else False."""
    if notification.status != "failed" or notification.reason not in REOPENABLE_REASONS:
        return False
    now = utcnow()
    db.session.add(NotificationEvent(notification=notification, from_status="failed",
                                     to_status="queued", at=now, source=source,
                                     detail="dead letter replayed by ops"))
    notification.status, notification.queued_at = "queued", now
    notification.reason, notification.claimed_until = None, None
    return True


def can_move(current: str, to: str) -> bool:
    return to in ALLOWED.get(current, ())


def transition(notification: Notification, to: str, *, source: str,
               error_code: str | None = None, reason: str | None = None,
               detail: str | None = None) -> bool:
    """Move ``notification`` to ``to`` if that is a step forward; record it in the history.

    Returns False and changes nothing otherwise: duplicated and out-of-order provider
    callbacks, redelivered messages and doubled ticks all land here and are harmless.
    The caller holds the row lock and commits.
    """
    current = notification.status
    if not can_move(current, to):
        log.info("transition refused", extra={"notification_id": notification.id,
                                               "from_status": current, "to_status": to})
        return False
    now = utcnow()
    notification.status = to
    if to in TIMESTAMPS:
        setattr(notification, TIMESTAMPS[to], now)
    if error_code is not None:
        notification.error_code = error_code
    if reason is not None:
        notification.reason = reason
    db.session.add(NotificationEvent(notification=notification, from_status=current,
                                     to_status=to, at=now, source=source,
                                     error_code=error_code, detail=detail or reason))
    return True
