"""Recording that a provider accepted a message: ``sending`` -> ``sent``, for a batch at once.

The threads of a worker process that got a provider's answer at about the same time share one
transaction (actors.group_commit): one UPDATE for every row of the batch and one INSERT of
their history lines. A row a receipt already moved on (the receipt can come before the
answer) keeps its status and gets only what the answer adds; a thread returns once its row is
committed, so its message is acknowledged only then. A crash before that commit leaves the
row ``sending`` with its lease, and the next try asks the provider (actors.receipts).
"""
from typing import NamedTuple

from flask import current_app
from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    case,
    cast,
    column,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy import values as sql_values

from actors.group_commit import per_app
from db import Notification, NotificationEvent, Status, db, utcnow
from db.base import UTCDateTime


class Accepted(NamedTuple):
    notification_id: int
    provider: str
    message_id: str
    segments: int | None


def record_sent(notification_id: int, *, provider: str, message_id: str,
                segments: int | None) -> bool:
    """Record the provider's acceptance; True if it moved the row to ``sent`` (False when a
    receipt had already done so, or the row is no longer being sent)."""
    app = current_app._get_current_object()
    return per_app(app, "sent", _record_batch).submit(
        Accepted(notification_id, provider, message_id, segments))


def _record_batch(batch: list[Accepted]) -> list[bool]:
    now = utcnow()
    answers = sql_values(column("id", BigInteger), column("provider", String),
                         column("message_id", String), column("segments", Integer),
                         name="answers").data([tuple(item) for item in batch])
    # Locked first, so that ``before.status`` is the row as this statement changes it.
    before = (select(Notification.id, Notification.status).join(
        answers, answers.c.id == Notification.id).order_by(Notification.id)
        .with_for_update(of=Notification).subquery("before"))
    moving = before.c.status == Status.SENDING
    changed = (update(Notification)
               .where(Notification.id == answers.c.id, Notification.id == before.c.id)
               .values(status=case((moving, Status.SENT), else_=Notification.status),
                       sent_at=case((moving, now), else_=Notification.sent_at),
                       provider=case((Notification.provider_message_id.is_(None),
                                      answers.c.provider), else_=Notification.provider),
                       provider_message_id=func.coalesce(Notification.provider_message_id,
                                                         answers.c.message_id),
                       segments=func.coalesce(cast(answers.c.segments, Integer), Notification.segments),
                       claimed_until=None, updated_at=now)
               .returning(Notification.id, before.c.status.label("from_status"))
               .cte("changed"))
    history = insert(NotificationEvent).from_select(
        ["notification_id", "from_status", "to_status", "at", "source"],
        select(changed.c.id, changed.c.from_status, literal(Status.SENT),
               literal(now, UTCDateTime), literal("send"))
        .where(changed.c.from_status == Status.SENDING))
    moved = {row.id for row in db.session.execute(
        select(changed.c.id, changed.c.from_status).add_cte(history.cte("history")))
        if row.from_status == Status.SENDING}
    db.session.commit()
    return [item.notification_id in moved for item in batch]
