"""The ETL actors: a pull on the default queue, and the minute tick that schedules it.

The tick is a periodiq actor so that scheduling is a function of state (when did the last
pull start?) rather than of a cron line firing: a missed or doubled tick changes nothing.
"""
import logging
from datetime import date, timedelta

from flask import current_app
from periodiq import cron
from sqlalchemy import func, select

from actors.broker import actor
from actors.etl.freshness import check_freshness, horizon
from actors.etl.lock import pull_lock
from actors.etl.pull import NotConfigured, run_pull
from db import SyncRun, db, utcnow

log = logging.getLogger(__name__)

#: Dramatiq's own limit on one pull; the pull's own budget (ETL_PULL_BUDGET_SECONDS) is
#: meant to end it well before this.
PULL_TIME_LIMIT_MS = 60 * 60 * 1000


def pull_is_due() -> bool:
    last_start = db.session.execute(select(func.max(SyncRun.started_at))).scalar_one()
    interval = timedelta(minutes=current_app.config["ETL_INTERVAL_MINUTES"])
    return last_start is None or utcnow() - last_start >= interval


def pull_now(window_from: date | None = None, window_to: date | None = None, *,
             trigger: str, only_if_due: bool = False, client=None) -> SyncRun | None:
    """Pull the window (the rolling horizon by default); None when another pull is running
    or, with ``only_if_due``, when a pull started less than ETL_INTERVAL_MINUTES ago.
    ``client`` replaces the configured one (the CLI's reports each page it reads)."""
    default_from, default_to = horizon()
    with pull_lock() as acquired:
        if not acquired:
            log.info("etl pull skipped: another pull is running")
            return None
        if only_if_due and not pull_is_due():
            db.session.rollback()
            return None
        return run_pull(window_from or default_from, window_to or default_to, trigger=trigger,
                        client=client)


@actor(queue_name="default", max_retries=0, time_limit=PULL_TIME_LIMIT_MS)
def etl_pull(window_from: str | None = None, window_to: str | None = None,
             trigger: str = "schedule") -> None:
    """Arguments are ISO dates (JSON-safe); no retry here: the tick schedules the next pull."""
    try:
        pull_now(date.fromisoformat(window_from) if window_from else None,
                 date.fromisoformat(window_to) if window_to else None,
                 trigger=trigger, only_if_due=trigger == "schedule")
    except NotConfigured:
        log.error("etl pull skipped: UPSTREAM_API_URL is not set")


@actor(queue_name="default", max_retries=0, periodic=cron("* * * * *"))
def etl_tick() -> None:
    """Every minute: record whether data is stale, and start a pull when one is due."""
    check_freshness()
    due = pull_is_due()
    db.session.commit()
    if due and current_app.config["UPSTREAM_API_URL"]:
        etl_pull.send()
