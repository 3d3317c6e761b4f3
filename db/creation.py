"""The one way a notification comes into being: its row and its first history line together.

Every source goes through here: planning (hundreds of thousands of rows from one
``INSERT … SELECT``), change notices from the webhook and the ETL, the e-mail fallback of a
refused SMS, and staff resends. One statement inserts the rows (skipping any whose
``dedupe_key`` exists: the key is what makes a doubled tick, a redelivered webhook or a
double-clicked button harmless) and writes the history line of exactly the rows it inserted.
"""
from datetime import datetime

from sqlalchemy import func, insert, literal, null, select
from sqlalchemy.dialects import postgresql

from db.base import UTCDateTime, db
from db.notifications import Notification, NotificationEvent

#: What creation returns of each new row.
RETURNED = ("id", "appointment_id", "kind", "channel", "status", "reason", "due_at")


def _create(statement, *, source: str, now: datetime, detail: str | None, summary: bool):
    table = Notification.__table__
    inserted = (statement.on_conflict_do_nothing(index_elements=["dedupe_key"])
                .returning(*(table.c[name] for name in RETURNED)).cte("inserted"))
    history = insert(NotificationEvent).from_select(
        ["notification_id", "from_status", "to_status", "at", "source", "detail"],
        select(inserted.c.id, null(), inserted.c.status, literal(now, UTCDateTime),
               literal(source), literal(detail) if detail is not None else inserted.c.reason)
    ).cte("history")
    if summary:
        query = (select(inserted.c.channel, inserted.c.status, func.count(),
                        func.max(inserted.c.due_at))
                 .group_by(inserted.c.channel, inserted.c.status))
    else:
        query = select(*(inserted.c[name] for name in RETURNED)).order_by(inserted.c.id)
    return db.session.execute(query.add_cte(history)).all()


def create_notifications(rows: list[dict], *, source: str, now: datetime,
                         detail: str | None = None) -> list:
    """Insert ``rows`` (column values of ``notifications``) unless their key exists.

    Returns the rows inserted (``RETURNED`` columns), in id order; the history line of each
    says ``source`` and ``detail`` (default: the row's reason). The caller commits, and
    enqueues the queued ones after that commit.
    """
    if not rows:
        return []
    stamped = [{"attempts": 0, "created_at": now, "updated_at": now, **row} for row in rows]
    return _create(postgresql.insert(Notification).values(stamped), source=source, now=now,
                   detail=detail, summary=False)


def create_notifications_from(columns: list[str], rows, *, source: str, now: datetime) -> list:
    """Set-based creation: ``rows`` is a SELECT giving ``columns``; nothing passes Python.

    Returns a summary per (channel, status): count and the latest ``due_at``.
    """
    statement = postgresql.insert(Notification).from_select(columns, rows)
    return _create(statement, source=source, now=now, detail=None, summary=True)
