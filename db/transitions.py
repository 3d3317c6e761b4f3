"""How a notification's status changes: forward, guarded, and written down.

``transition`` moves one loaded row; ``move_many`` moves a set of rows in a few statements
(the tick dispatches and expires thousands at a time). Both allow only the moves in
``ALLOWED`` and write one history line per move; nothing else changes a status. ``REOPEN``
lists the only ways back from a terminal status, each tied to one reason. Notifications
are created (with their first history line) in ``db.creation``.
"""
import logging
from datetime import datetime

from sqlalchemy import insert, literal, select, update

from db.base import UTCDateTime, db, utcnow
from db.notifications import Notification, NotificationEvent
from db.statuses import STATUSES, Status

log = logging.getLogger(__name__)

S = Status
ALLOWED = {
    S.PLANNED: {S.QUEUED, S.CANCELLED, S.EXPIRED, S.SUPPRESSED, S.SKIPPED, S.FAILED},
    S.QUEUED: {S.SENDING, S.CANCELLED, S.EXPIRED, S.SUPPRESSED, S.FAILED},
    S.SENDING: {S.SENT, S.FAILED, S.CANCELLED, S.EXPIRED, S.SUPPRESSED},
    # Providers report the fate of a message after we handed it over.
    S.SENT: {S.DELIVERED, S.UNDELIVERED, S.FAILED},
}
TERMINAL = frozenset(STATUSES) - {S.PLANNED, S.QUEUED, S.SENDING, S.SENT}
TIMESTAMPS = {S.QUEUED: "queued_at", S.SENT: "sent_at", S.DELIVERED: "delivered_at"}

RETRIES_EXHAUSTED = "retries exhausted"
MISSING_FROM_SOURCE = "missing from source"
#: The only ways back from a terminal status, each for one reason: ops replaying a dead
#: letter re-open a send that failed only because Dramatiq ran out of retries (never a
#: provider's verdict); a reminder suppressed because a complete pull no longer listed its
#: appointment is planned again when upstream lists it again.
REOPEN = {(S.FAILED, RETRIES_EXHAUSTED): S.QUEUED, (S.SUPPRESSED, MISSING_FROM_SOURCE): S.PLANNED}


def reopen_for_replay(notification: Notification, *, source: str) -> bool:
    """failed ("retries exhausted") -> queued, recorded like any transition; else False."""
    if not transition(notification, S.QUEUED, source=source, reopening=RETRIES_EXHAUSTED,
                      detail="dead letter replayed by ops"):
        return False
    notification.claimed_until = None
    return True


def can_move(current: str, to: str) -> bool:
    return to in ALLOWED.get(current, ())


def transition(notification: Notification, to: str, *, source: str,
               error_code: str | None = None, reason: str | None = None,
               detail: str | None = None, reopening: str | None = None) -> bool:
    """Move ``notification`` to ``to`` if that is a step forward; record it in the history.

    ``reopening`` allows the way back in ``REOPEN`` for that reason (and clears it).

    Returns False and changes nothing otherwise: duplicated and out-of-order provider
    callbacks, redelivered messages and doubled ticks all land here and are harmless.
    The caller holds the row lock and commits.
    """
    current = notification.status
    back = reopening is not None and notification.reason == reopening and \
        REOPEN.get((current, reopening)) == to
    if back:
        notification.reason = None
    elif not can_move(current, to):
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


def move_many(candidates, *, to: str, source: str, now: datetime,
              reason: str | None = None, reopening: str | None = None) -> list:
    """Move the notifications ``candidates`` selects (columns ``id``, ``status``) to ``to``.

    Rows are locked with SKIP LOCKED, so a row another transaction holds (a worker sending
    it, a concurrent tick) is left for later; the UPDATE checks the status again. Returns
    rows (id, channel, from_status). The caller commits.

    ``reopening`` names the reason of a way back in ``REOPEN`` (the candidates must select
    only rows with that reason); the reason is cleared.
    """
    values = {"status": to, "updated_at": now}
    if to in TIMESTAMPS:
        values[TIMESTAMPS[to]] = now
    if reason is not None or reopening is not None:
        values["reason"] = reason
    due = candidates.with_for_update(skip_locked=True, of=Notification).cte("due")
    moved = (update(Notification).where(Notification.id == due.c.id,
                                        Notification.status == due.c.status)
             .values(values)
             .returning(Notification.id, Notification.channel, due.c.status.label("from_status"))
             .cte("moved"))
    history = insert(NotificationEvent).from_select(
        ["notification_id", "from_status", "to_status", "at", "source", "detail"],
        select(moved.c.id, moved.c.from_status, literal(to), literal(now, UTCDateTime),
               literal(source), literal(reason)))
    rows = db.session.execute(select(moved.c.id, moved.c.channel, moved.c.from_status)
                              .add_cte(history.cte("history"))).all()
    bad = {row.from_status for row in rows if not can_move(row.from_status, to)
           and REOPEN.get((row.from_status, reopening)) != to}
    if bad:  # the candidates query allowed a status the state machine does not
        raise ValueError(f"refused move from {sorted(bad)} to {to}")
    return rows
