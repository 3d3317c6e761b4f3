"""The one way a notification comes into being: its row and its first history line together.

Every source goes through here: planning (hundreds of thousands of rows from one
``INSERT … SELECT``), change notices from the webhook and the ETL, the e-mail fallback of a
refused SMS, and staff resends. One statement inserts the rows (skipping any whose
``dedupe_key`` its appointment holds already: the key is what makes a doubled tick, a
redelivered webhook or a double-clicked button harmless) and writes the history line of
exactly the rows it inserted.

A plan is one event: the reminders a plan creates ``planned`` point at their plan run
(``db.plans``: one row per clinic and local day, with its count, written by the same
statement) instead of getting a history row each; what it records with a reason
(suppressed, cancelled, skipped) gets its own line as before. ``db.plans.HistoryLine``
reads both as one history.
"""
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Date, Integer, case, func, insert, literal, null, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from db.base import UTCDateTime, db
from db.notifications import Notification, NotificationEvent
from db.plans import PlanRun

#: The unique constraint that makes creation idempotent: the key per appointment (every key
#: names its appointment, db.notifications).
DEDUPE_KEY = "uq_notifications_appointment_dedupe_key"
#: What creation returns of each new row.
RETURNED = ("id", "appointment_id", "kind", "channel", "status", "reason", "due_at",
            "plan_run_id")


@dataclass(frozen=True)
class PlanRuns:
    """The run ids of one plan of some clinics' local day, drawn before its statement."""

    local_date: date
    ids: dict  # location id -> plan run id

    def run_of(self, location_id):
        """The SQL expression naming the run of a row's ``location_id``."""
        return case(self.ids, value=location_id)


def new_plan_runs(location_ids, local_date: date) -> PlanRuns:
    """Draw one plan run id per location; only runs that create something are written."""
    location_ids = list(location_ids)
    ids = db.session.scalars(text("SELECT nextval('plan_runs_id_seq') FROM generate_series(1, :n)"),
                             {"n": len(location_ids)}).all()
    return PlanRuns(local_date, dict(zip(location_ids, ids, strict=True)))


def mark_planned(location_ids, local_date: date, *, source: str, now: datetime) -> None:
    """Plan runs that planned nothing: a first plan of these clinics' day that created rows
    with a reason only (suppressed, cancelled) is on record all the same, so that the next
    plan of the day knows it is not the first (``actors.reminders.plan``)."""
    db.session.execute(insert(PlanRun), [
        {"at": now, "source": source, "location_id": location_id, "local_date": local_date,
         "count": 0} for location_id in location_ids])


def key_taken(error: IntegrityError) -> bool:
    """Whether ``error`` is a notification's ``dedupe_key`` held already."""
    return getattr(getattr(error.orig, "diag", None), "constraint_name", None) == DEDUPE_KEY


def _runs(inserted, runs: PlanRuns, *, source: str, now: datetime):
    """The plan_runs rows of the runs that inserted something, with their counts."""
    counted = (select(inserted.c.plan_run_id, func.count().label("count"))
               .where(inserted.c.plan_run_id.is_not(None))
               .group_by(inserted.c.plan_run_id).subquery("counted"))
    location = case({run: location for location, run in runs.ids.items()},
                    value=counted.c.plan_run_id)
    return insert(PlanRun).from_select(
        ["id", "at", "source", "location_id", "local_date", "count"],
        select(counted.c.plan_run_id, literal(now, UTCDateTime), literal(source),
               location.cast(Integer), literal(runs.local_date, Date), counted.c.count)
    ).cte("runs")


def _create(statement, *, source: str, now: datetime, detail: str | None, summary: bool,
            runs: PlanRuns | None = None, keys_held: bool = False):
    table = Notification.__table__
    if not keys_held:
        statement = statement.on_conflict_do_nothing(
            index_elements=["appointment_id", "dedupe_key"])
    inserted = statement.returning(*(table.c[name] for name in RETURNED)).cte("inserted")
    history = insert(NotificationEvent).from_select(
        ["notification_id", "from_status", "to_status", "at", "source", "detail"],
        select(inserted.c.id, null(), inserted.c.status, literal(now, UTCDateTime),
               literal(source), literal(detail) if detail is not None else inserted.c.reason)
        .where(inserted.c.plan_run_id.is_(None))  # a planned reminder's line is its run's
    ).cte("history")
    if summary:
        query = (select(inserted.c.channel, inserted.c.status, func.count(),
                        func.max(inserted.c.due_at))
                 .group_by(inserted.c.channel, inserted.c.status))
    else:
        query = select(*(inserted.c[name] for name in RETURNED)).order_by(inserted.c.id)
    query = query.add_cte(history)
    if runs is not None:
        query = query.add_cte(_runs(inserted, runs, source=source, now=now))
    return db.session.execute(query).all()


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


def create_notifications_from(columns: list[str], rows, *, source: str, now: datetime,
                              runs: PlanRuns | None = None, keys_held: bool = False) -> list:
    """Set-based creation: ``rows`` is a SELECT giving ``columns``; nothing passes Python.

    With ``runs`` (a plan), ``columns`` include ``plan_run_id``, set (``runs.run_of``) on the
    rows created planned: those runs are written with their counts, and those rows get no
    history row of their own. Returns a summary per (channel, status): count and the
    latest ``due_at``.

    ``keys_held``: ``rows`` select only keys nobody holds, and nobody else can write them
    until the caller commits (planning holds its clinics' lock, ``actors.reminders.plan``):
    a plain INSERT. ON CONFLICT's speculative insertion (a second descent of the unique
    index and a confirmation per row) was a tenth of a plan; a key taken anyway (a
    planner that does not take the lock) fails the statement instead of being skipped.
    """
    statement = postgresql.insert(Notification).from_select(columns, rows)
    return _create(statement, source=source, now=now, detail=None, summary=True, runs=runs,
                   keys_held=keys_held)
