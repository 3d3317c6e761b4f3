"""Sweep: nothing stays stuck, and nothing goes out after its window closed.

Re-enqueues notifications left ``queued`` or ``sending`` past ``SWEEP_STUCK_AFTER_SECONDS``
(a lost message, a crashed worker; the send actor's lease and guards make the duplicate
harmless), and marks reminders whose deadline passed unsent ``expired``, telling on-call.
"""
import logging
from datetime import datetime, timedelta

from dramatiq.errors import BrokerError
from flask import current_app
from sqlalchemy import or_, select, update

from actors.reminders.dispatch import publish
from db import Notification, db, move_many, raise_condition

log = logging.getLogger(__name__)

EXPIRED_REASON = "reminder window closed before it could be sent"


def _expire(now: datetime) -> list[int]:
    n = Notification
    overdue = (select(n.id, n.status)
               .where(n.kind == "reminder", n.deadline_at <= now,
                      or_(n.status.in_(("planned", "queued")),
                          # an attempt whose lease ran out crashed or waits for a retry
                          (n.status == "sending")
                          & or_(n.claimed_until.is_(None), n.claimed_until <= now))))
    rows = move_many(overdue, to="expired", source="sweep", now=now, reason=EXPIRED_REASON)
    ids = sorted(row.id for row in rows)
    if ids:
        raise_condition(f"reminders-expired:{now.date().isoformat()}", "reminder-expired",
                        f"{len(ids)} reminders expired unsent (window closed) in this sweep; "
                        "see notifications with status 'expired'",
                        sample_ids=ids[:10], count=len(ids))
    return ids


def _stuck(now: datetime, limit: int) -> list[tuple[int, str]]:
    n = Notification
    config = current_app.config
    before = now - timedelta(seconds=config["SWEEP_STUCK_AFTER_SECONDS"])
    # A change notice is picked up within a second, never behind a backlog of reminders:
    # one still queued after a couple of minutes lost its message (its enqueue after commit
    # failed while RabbitMQ was away) and must not wait the reminders' ten minutes.
    priority_before = now - timedelta(seconds=config["SWEEP_PRIORITY_STUCK_AFTER_SECONDS"])
    stuck = db.session.execute(
        select(n.id, n.kind, n.channel).where(
            n.status.in_(("queued", "sending")),
            or_(n.claimed_until.is_(None), n.claimed_until <= now),
            or_(n.queued_at <= before, (n.kind != "reminder") & (n.queued_at <= priority_before)),
            or_(n.deadline_at.is_(None), n.deadline_at > now))
        .order_by(n.queued_at).limit(limit)
        .with_for_update(skip_locked=True)).all()
    if stuck:
        # queued_at is when the row was last handed to the broker: the next sweep waits again.
        db.session.execute(update(n).where(n.id.in_([row.id for row in stuck]))
                           .values(queued_at=now, updated_at=now))
    return [(row.id, row.channel if row.kind == "reminder" else "priority") for row in stuck]


def owed_again(now: datetime, ids: list[int] | None = None) -> None:
    """Rows queued at ``now`` whose messages may not have reached RabbitMQ (it was away):
    dated back so that the next sweep hands them over again. The caller's session is clean.
    """
    n = Notification
    before = now - timedelta(seconds=current_app.config["SWEEP_STUCK_AFTER_SECONDS"])
    match = n.id.in_(ids) if ids is not None else n.queued_at == now
    db.session.execute(update(n).where(match, n.status.in_(("queued", "sending")))
                       .values(queued_at=before))
    db.session.commit()


def sweep(now: datetime, *, limit: int | None = None) -> dict:
    """Expire what missed its window, then re-enqueue what is stuck; returns the counts."""
    app = current_app._get_current_object()
    expired = _expire(now)
    db.session.commit()
    requeued = _stuck(now, limit or app.config["DISPATCH_BATCH_SIZE"])
    db.session.commit()
    if requeued:
        try:
            publish(app, requeued)
        except BrokerError:
            owed_again(now, [row[0] for row in requeued])
            raise
        log.warning("stuck notifications re-enqueued", extra={"count": len(requeued)})
    return {"expired": len(expired), "requeued": len(requeued)}
