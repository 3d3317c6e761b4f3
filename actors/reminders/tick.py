"""The per-minute tick: plan, dispatch, sweep, once at a time across every process.

periodiq enqueues ``reminder_tick`` every minute on the ``default`` queue. Whichever worker
runs it takes ``pg_try_advisory_xact_lock`` on a connection of its own, held for the whole
tick; a second tick running at the same moment (a doubled message, two schedulers by
mistake) finds the lock taken and returns. A missed tick is harmless: planning depends on
the clock and the rows, not on which minute fired.
"""
import logging
from contextlib import contextmanager
from datetime import datetime

from dramatiq.errors import BrokerError
from periodiq import cron
from sqlalchemy import func, select

from actors.broker import actor
from actors.reminders.dispatch import dispatch
from actors.reminders.plan import plan
from actors.reminders.sweep import owed_again, sweep
from actors.retries import database_unavailable
from db import db, utcnow
from db.alert_cursors import REMINDER_TICK, mark_tick

log = logging.getLogger(__name__)

#: Arbitrary, fixed: the advisory lock id of the tick ("remindr" in ASCII).
TICK_LOCK_ID = 0x72656D696E6472


@contextmanager
def exclusive_tick():
    """Yield True when this process may tick now."""
    with db.engine.connect() as connection, connection.begin():
        got = connection.execute(select(func.pg_try_advisory_xact_lock(TICK_LOCK_ID))
                                 ).scalar()
        yield bool(got)


def run_tick(now: datetime | None = None, **dispatch_options) -> dict | None:
    """One tick as of ``now``; None when another tick holds the lock."""
    now = now or utcnow()
    with exclusive_tick() as mine:
        if not mine:
            log.info("another tick is running; skipped")
            return None
        planned = plan(now)
        db.session.commit()
        try:
            dispatched = dispatch(now, **dispatch_options)
        except BrokerError:
            # RabbitMQ is away: what this tick queued stays ``queued``; the next sweep
            # hands it over again rather than waiting out SWEEP_STUCK_AFTER_SECONDS.
            db.session.rollback()
            owed_again(now)
            raise
        swept = sweep(now)
        mark_tick(REMINDER_TICK, now)  # what /metrics exports: Prometheus watches the tick
        db.session.commit()
    return {"planned": planned.total(), "dispatched": dispatched, **swept}


@actor(queue_name="default", periodic=cron("* * * * *"), max_retries=0, time_limit=300_000)
def reminder_tick():
    """The scheduler's minute: a failed tick is simply replaced by the next one, so an
    outage is one WARNING line a minute, not an error with a traceback."""
    try:
        outcome = run_tick()
    except BrokerError as error:
        log.warning("reminder tick stopped: RabbitMQ unavailable; the next tick resumes",
                    extra={"error": type(error).__name__})
        return
    except Exception as error:
        if not database_unavailable(error):
            raise
        db.session.rollback()
        log.warning("reminder tick skipped: database unavailable",
                    extra={"error": type(error).__name__})
        return
    if outcome:
        log.info("reminder tick", extra=outcome)
