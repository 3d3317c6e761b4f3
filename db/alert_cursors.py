"""Where each periodic alert check left off, so every failure is counted exactly once.

A check locks its row (skipping when another worker holds it), reads what happened since
``position`` and moves it forward in the same transaction as the alerts it raises.
"""
from sqlalchemy import JSON, BigInteger, String, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from db.base import UTCDateTime, db, utcnow


class AlertCursor(db.Model):
    __tablename__ = "alert_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The id of the last notification event the check has read.
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    # Small rolling state of the check (per-run send counts), counts only.
    state = mapped_column(JSON, nullable=False, default=dict)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


def lock_cursor(name: str, *, start_at: int = 0) -> AlertCursor | None:
    """The cursor ``name`` locked for this transaction; None while another check holds it.

    A new cursor starts at ``start_at`` so that a first run does not replay all history.
    """
    db.session.execute(postgresql.insert(AlertCursor).values(
        name=name, position=start_at, state={}, updated_at=utcnow()
    ).on_conflict_do_nothing(index_elements=["name"]))
    query = select(AlertCursor).where(AlertCursor.name == name).execution_options(
        populate_existing=True)
    return db.session.execute(query.with_for_update(skip_locked=True)).scalar_one_or_none()


#: The rows of the minute ticks: their ``updated_at`` is the last completed run (``mark_tick``).
REMINDER_TICK = "reminder-tick"
ALERT_TICK = "alert-tick"


def mark_tick(name: str, now) -> None:
    """Record that the periodic job ``name`` completed a run as of ``now``, in the caller's
    transaction.

    The row's ``updated_at`` is what ``/metrics`` exports, so that Prometheus, outside the
    app, notices a stopped tick: the app's own alerts come from a tick too.
    """
    statement = postgresql.insert(AlertCursor).values(
        name=name, position=0, state={}, updated_at=now)
    db.session.execute(statement.on_conflict_do_update(
        index_elements=["name"], set_={"updated_at": statement.excluded.updated_at}))


def tick_marked_at(name: str):
    """When ``mark_tick(name, …)`` last ran (its ``now``), or None if it never did."""
    return db.session.execute(select(AlertCursor.updated_at)
                              .where(AlertCursor.name == name)).scalar_one_or_none()
