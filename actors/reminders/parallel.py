"""Planning zone groups on parallel connections: one INSERT runs on one PostgreSQL core.

A plan of several groups (the US zones of a million appointments, about five statements of
200,000 rows) runs them ``CONNECTIONS`` at a time, each group in a transaction of its own
on its own connection, then returns; the caller's own transaction writes nothing.

The send times are the ones a plan one group after the other gives. The rate is shared by
every clinic (``plan._SendClock``): a group's first send slot follows the last one the
earlier groups planned. So the groups' planned rows are counted first (the selection
without its sort, written nothing: ~10% of a group's statement), in parallel too, and every
group's first slot is computed from those counts before any group is written. A group
counted with nothing to write (a repeated tick) skips its statement. An appointment booked
between a group's count and its statement gets a slot past the counted ones, which the next
group's first send may share: a moment over the rate, nothing lost.

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
from concurrent.futures import ThreadPoolExecutor

from flask import current_app
from sqlalchemy import text

from db import db

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
    from actors.reminders.plan import tune_transaction
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


def plan_groups(groups, now, clock, *, source: str, byte_order: bool, connections: int):
    """Plan ``groups`` in parallel; their results (``plan.PlanResult``) in group order."""
    from actors.reminders.candidates import candidate_counts
    from actors.reminders.plan import plan_group
    app = current_app._get_current_object()
    with ThreadPoolExecutor(max_workers=connections) as pool:
        # The last group's count places no group after it, but a group with nothing to
        # write (a repeated tick) skips its statement.
        counts = list(pool.map(lambda g: _on_own_connection(app, lambda: candidate_counts(
            list(g.ids), g.target, now, byte_order=byte_order), commit=False), groups))
        bases = []
        for group, counted in zip(groups, counts):
            bases.append(clock.bases(group.window, now))
            clock.will_plan(bases[-1], counted)
        futures = [pool.submit(_on_own_connection, app, lambda g=group, b=base, n=counted:
                               plan_group(g, now, b, dry_run=False, source=source,
                                          byte_order=byte_order, counted=n), commit=True)
                   for group, base, counted in zip(groups, bases, counts)]
        failures = [f.exception() for f in futures if f.exception() is not None]
    if failures:
        raise failures[0]
    return [f.result() for f in futures]
