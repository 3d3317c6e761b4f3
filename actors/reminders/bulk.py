"""Set-based status changes and creations, with the same guard and history as ``transition``.

``db.transitions.transition`` moves one loaded row; the tick moves thousands at a time
(100,000 reminders dispatched in one window). These do the same thing in a few statements:
only moves ``db.transitions.can_move`` allows, the status checked again in the UPDATE, and
one history row per moved notification.
"""
from datetime import datetime

from sqlalchemy import insert, literal, select, update

from db import Notification, NotificationEvent, UTCDateTime, db
from db.transitions import TIMESTAMPS, can_move

CHUNK = 5000


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def move_many(candidates, *, to: str, source: str, now: datetime,
              reason: str | None = None) -> list:
    """Move the notifications ``candidates`` selects (columns ``id``, ``status``) to ``to``.

    Rows are locked with SKIP LOCKED, so a row another transaction holds (a worker sending
    it, a concurrent tick) is left for later. Returns rows (id, channel, from_status).
    The caller commits.
    """
    values = {"status": to, "updated_at": now}
    if to in TIMESTAMPS:
        values[TIMESTAMPS[to]] = now
    if reason is not None:
        values["reason"] = reason
    if _dialect() == "postgresql":
        return _move_postgresql(candidates, values, to=to, source=source, now=now, reason=reason)
    return _move_portable(candidates, values, to=to, source=source, now=now, reason=reason)


def _move_postgresql(candidates, values, *, to, source, now, reason) -> list:
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
    statement = (select(moved.c.id, moved.c.channel, moved.c.from_status)
                 .add_cte(history.cte("history")))
    rows = db.session.execute(statement).all()
    bad = {row.from_status for row in rows if not can_move(row.from_status, to)}
    if bad:  # the candidates query allowed a status the state machine does not
        raise ValueError(f"refused move from {sorted(bad)} to {to}")
    return rows


def _move_portable(candidates, values, *, to, source, now, reason) -> list:
    """SQLite (dev mode): one writer at a time, so no row locks; same result."""
    found = [(row.id, row.status) for row in db.session.execute(candidates)
             if can_move(row.status, to)]
    rows = []
    for status in {status for _, status in found}:
        ids = [id_ for id_, s in found if s == status]
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            result = db.session.execute(
                update(Notification).where(Notification.id.in_(chunk),
                                           Notification.status == status)
                .values(values).returning(Notification.id, Notification.channel))
            rows.extend((row.id, row.channel, status) for row in result)
    record_history([(id_, from_status, to, reason) for id_, _, from_status in rows],
                   source=source, now=now)
    return [_Row(*row) for row in rows]


class _Row(tuple):
    id = property(lambda self: self[0])
    channel = property(lambda self: self[1])
    from_status = property(lambda self: self[2])

    def __new__(cls, *values):
        return tuple.__new__(cls, values)


def record_history(moves, *, source: str, now: datetime) -> None:
    """History rows for ``moves`` = [(id, from status or None, to status, detail)], batched."""
    rows = [{"notification_id": id_, "from_status": from_status, "to_status": to, "at": now,
             "source": source, "detail": detail} for id_, from_status, to, detail in moves]
    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(NotificationEvent), rows[start:start + CHUNK])
