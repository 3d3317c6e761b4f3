"""Plan runs, and a notification's history as every reader sees it.

A plan is one event: the tick decides a clinic day's reminders at once, so the decision is
written down once, as a ``plan_runs`` row (when, by whom, which clinic and local day, how
many reminders), and each reminder it planned points at it (``notifications.plan_run_id``)
instead of carrying a history row of its own (that row, its index entries and its foreign
key check were about a sixth of each planning statement).

``HistoryLine`` is the one way to read a notification's history: the events of
``notification_events`` and, for a planned reminder, the "created → planned" line of its
plan run, in one UNION ALL. ``Notification.events`` loads it, so the admin's timeline, the
tests and anything else that reads a history never has to know where a line came from.
Plan runs are append-only like the events (migration 0012): they are the audit trail of the
first line of most notifications.
"""
from typing import ClassVar

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Integer,
    String,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import BigId, UTCDateTime, db
from db.notifications import Notification, NotificationEvent
from db.statuses import Status


class PlanRun(db.Model):
    """One plan of one clinic's local day: the first history line of every reminder in it."""

    __tablename__ = "plan_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at = mapped_column(UTCDateTime, nullable=False)
    source: Mapped[str] = mapped_column(String(32))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    # The clinic-local date of the appointments the run planned reminders for.
    local_date = mapped_column(Date, nullable=False)
    # How many reminders the run created planned (each points at this row); 0 for a day's
    # first plan that created rows with a reason only (db.creation.mark_planned).
    count: Mapped[int] = mapped_column(Integer)


def _lines():
    events, runs = NotificationEvent.__table__, PlanRun.__table__
    notifications = Notification.__table__
    recorded = select(events.c.id, events.c.notification_id, events.c.from_status,
                      events.c.to_status, events.c.at, events.c.source, events.c.error_code,
                      events.c.detail)
    planned = (select(literal(0, BigInteger).label("id"), notifications.c.id.label("notification_id"),
                      null().label("from_status"), literal(Status.PLANNED.value, String).label("to_status"),
                      runs.c.at, runs.c.source, null().label("error_code"),
                      null().label("detail"))
               .select_from(notifications.join(runs, runs.c.id == notifications.c.plan_run_id)))
    return union_all(recorded, planned).subquery("notification_history")


HISTORY = _lines()


class HistoryLine(db.Model):
    """One line of a notification's history (read-only): an event, or its plan run's line."""

    __table__ = HISTORY
    __mapper_args__: ClassVar[dict] = {"primary_key": [HISTORY.c.notification_id, HISTORY.c.id]}


#: The creation line first (a plan run's, or the event with no "from"), then the events in
#: the order they were written. Not by time: a tick stamps its moves with its own clock, and
#: the line a downgrade of 0012 gives back to the events has a later id than what followed.
HISTORY_ORDER = (HistoryLine.from_status.is_not(None), HistoryLine.id)


def notification_history(notification_ids) -> list[HistoryLine]:
    """The history lines of ``notification_ids``, each notification's oldest first."""
    return list(db.session.scalars(
        select(HistoryLine).where(HistoryLine.notification_id.in_(list(notification_ids)))
        .order_by(HistoryLine.notification_id, *HISTORY_ORDER)))
