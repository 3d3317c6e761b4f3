"""Planning zone groups on parallel connections: one INSERT runs on one PostgreSQL core.

A plan of several groups (the US zones of a million appointments: five statements of about
200,000 rows; a single zone's big day in parts, ``actors.reminders.parts``, each planned as
a group) runs them ``CONNECTIONS`` at a time, each group in a transaction of its own on its
own connection, then returns; the caller's own transaction writes nothing.

The send times are the ones a plan one group after the other gives. The rate is shared by
every clinic (``send_clock.SendClock``): a group's first send slot follows the last one the
earlier groups planned. So the groups' planned rows are counted (the selection without its
sort, written nothing: ~10% of a group's statement), in parallel too, and a group is
written once the counts of the groups before it are known; the first, which follows only
what is already planned, is written while the others are counted on its day's first plan,
and the last, which no group follows, is counted only when its day was planned before. A
group counted with nothing to write (a repeated tick) skips its statement. An appointment
booked between a group's count and its statement gets a slot past the counted ones, which
the next group's first send may share: a moment over the rate, nothing lost. On a group's
first plan of its day, its count, like its write (``plan._first_plan``), does not look each
candidate's reminder up: none can exist but one moved in from a clinic planned before,
whose slot then stays empty (a moment under the rate).

A group in its own transaction is safe because planning is idempotent: a process killed
after some groups committed leaves whole groups, each with its rows, plan runs, history
and overflow alert, and nothing of the others; the next tick (or plan) finds the committed
groups' keys taken and plans only the rest, from the latest send planned by then. Each
group raises its own overflow alert in its own transaction, as a plan one after the other
does. A group that fails is raised after the others finished; what they committed stays.

Not in parallel: a dry run (it must roll back with its caller), one group, a caller whose
transaction has written something (the other connections could not see it), and a pool
with no connection to spare. Under gevent (psycopg2 made cooperative) the threads are
greenlets and the statements still run at once, on the server.
"""
import threading
from concurrent.futures import ThreadPoolExecutor

from flask import current_app
from sqlalchemy import exists, select, text

from actors.reminders.tuning import tune_transaction
from db import PlanRun, db

#: Connections a plan uses at once: the 2-core machine the goal was set on (1M appointments
#: planned within 10 s) gains nothing from more, and each costs a pooled connection.
CONNECTIONS = 2


def usable(groups, wanted: int) -> int:
    """How many connections to plan ``groups`` on (1: serially, in the caller's transaction):
    more than one group, nothing written yet in the caller's transaction, and connections
    the pool can still give (the caller holds some: waiting for more could wait forever)."""
    if wanted < 2 or len(groups) < 2:
        return 1
    written = db.session.scalar(text("SELECT pg_current_xact_id_if_assigned()"))
    if written is not None or db.session.new or db.session.dirty or db.session.deleted:
        return 1
    pool = db.engine.pool
    overflow = getattr(pool, "_max_overflow", 0)
    if overflow < 0:  # no bound
        return min(wanted, len(groups))
    spare = pool.size() + overflow - pool.checkedout() if hasattr(pool, "size") else 0
    return max(1, min(wanted, len(groups), spare))


def _on_own_connection(app, work, *, commit: bool):
    """``work()`` in a transaction of its own (an app context: its own session)."""
    with app.app_context():
        try:
            tune_transaction()
            outcome = work()
            if commit:
                db.session.commit()
            return outcome
        finally:
            db.session.rollback()
            db.session.remove()


def planned_before(group) -> bool:
    """Whether a plan of ``group``'s day created something already (a plan run exists)."""
    return db.session.scalar(select(exists().where(
        PlanRun.location_id.in_(group.ids), PlanRun.local_date == group.target)))


def plan_groups(groups, now, clock, *, source: str, byte_order: bool, connections: int):
    """Plan ``groups`` in parallel; their results (``plan.PlanResult``) in group order.

    The first group's first slot needs no count: on its day's first plan it is written as
    soon as its own count has its snapshot (the next group's slots follow that count), while
    it and the others are counted (planned before, it is counted first: a repeated
    tick writes nothing, and its statement would select what its count selects); each
    later group is handed over as soon as the counts before it and its own are known.
    Only this thread submits, after what a group waits for is done, so no connection is
    ever held waiting for another.
    """
    from actors.reminders.candidates import candidate_counts
    from actors.reminders.plan import plan_group
    app = current_app._get_current_object()

    def write(group, bases, counted):
        return _on_own_connection(app, lambda: plan_group(
            group, now, bases, dry_run=False, source=source, byte_order=byte_order,
            counted=counted), commit=True)

    def count(group, snapshot_taken=None):
        def counted():
            if snapshot_taken is not None:
                # Counted as the database was before the group's own write began: a count
                # that started after that write committed found its rows planned already,
                # counted nothing, and the next group's sends then shared its send slots.
                db.session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
                db.session.execute(text("SELECT 1"))  # the snapshot is taken here
                snapshot_taken.set()
            return candidate_counts(list(group.ids), group.target, now, byte_order=byte_order,
                                    existing=planned_before(group))
        return _on_own_connection(app, counted, commit=False)

    with ThreadPoolExecutor(max_workers=connections) as pool:
        bases = clock.bases(groups[0].window, now)
        fresh = not planned_before(groups[0])
        if fresh:
            snapshot = threading.Event()
            counts = [pool.submit(count, groups[0], snapshot)]
            while not snapshot.wait(0.01) and not counts[0].done():
                pass  # a count that failed before its snapshot is raised below
            written = [pool.submit(write, groups[0], bases, None)]
        else:
            counts, written = [pool.submit(count, groups[0])], []
        counts += [pool.submit(count, group) for group in groups[1:-1]]
        # The last group's count places no group after it: it is counted only when its day
        # was planned before, to skip its statement if nothing is new (a repeated tick,
        # every minute of the window). On a day's first plan that count was the last thing
        # one connection did before its first write (~7% of a million-row plan).
        last = groups[-1]
        counts.append(pool.submit(count, last) if planned_before(last) else None)
        try:
            if not fresh:
                written.append(pool.submit(write, groups[0], bases, counts[0].result()))
            for index, group in enumerate(groups[1:], start=1):
                clock.will_plan(bases, counts[index - 1].result())
                bases = clock.bases(group.window, now)
                counted = counts[index].result() if counts[index] is not None else None
                written.append(pool.submit(write, group, bases, counted))
        finally:
            failures = [f.exception() for f in written if f.exception() is not None]
    if failures:
        raise failures[0]
    return [f.result() for f in written]
