"""How current the local copy is, and the conditions on-call must hear about.

Reminders are planned from the local copy, so what matters is the day whose reminders go
out next: appointments REMINDER_DAYS_BEFORE days ahead (and the day after, for clinics
already past their window or ahead of UTC). Data is fresh when a *complete* pull covering
those days started within ETL_STALE_AFTER_MINUTES (before any pull has ever completed, the
clock runs from the first pull's start).
"""
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from db import SyncRun, db, raise_condition, resolve_condition, utcnow

STALE_KEY = "etl-stale"
INCOMPLETE_KEY = "etl-incomplete"


def _today() -> date:
    return utcnow().date()


def reminder_days(today: date | None = None) -> tuple[date, date]:
    """The appointment days whose reminders go out next (UTC today, both ends included)."""
    first = (today or _today()) + timedelta(days=current_app.config["REMINDER_DAYS_BEFORE"])
    return first, first + timedelta(days=1)


def horizon(today: date | None = None) -> tuple[date, date]:
    """The rolling window a scheduled pull covers: today through the next reminder days."""
    today = today or _today()
    ahead = max(current_app.config["ETL_HORIZON_DAYS"], (reminder_days(today)[1] - today).days)
    return today, today + timedelta(days=ahead)


def last_fresh_at(today: date | None = None) -> datetime | None:
    """Start of the last complete pull that covered the next reminder days."""
    first, last = reminder_days(today)
    return db.session.execute(
        select(func.max(SyncRun.started_at)).where(
            SyncRun.complete.is_(True), SyncRun.window_from <= first, SyncRun.window_to >= last)
    ).scalar_one()


def check_freshness() -> bool:
    """Raise or resolve the etl-stale condition; True when the data is fresh.

    Runs in the caller's transaction (the caller commits).
    """
    limit = timedelta(minutes=current_app.config["ETL_STALE_AFTER_MINUTES"])
    fresh_at, now = last_fresh_at(), utcnow()
    # Never fresh: judged from the first pull's start, so a new install is not stale the
    # minute it starts, yet one whose pulls never complete is.
    since_when = fresh_at or db.session.execute(select(func.min(SyncRun.started_at))).scalar_one()
    if since_when is None or now - since_when <= limit:
        resolve_condition(STALE_KEY)
        return True
    first, _ = reminder_days()
    since = (f"since {fresh_at:%Y-%m-%dT%H:%MZ} ({int((now - fresh_at).total_seconds() // 60)} min)"
             if fresh_at else "ever")
    raise_condition(STALE_KEY, STALE_KEY,
                    f"No complete upstream pull covering {first.isoformat()} {since}; "
                    f"limit {current_app.config['ETL_STALE_AFTER_MINUTES']} min. Reminders are "
                    f"planned from data that may be out of date.")
    return False


def check_incomplete_streak(run: SyncRun) -> None:
    """After a pull: N incomplete pulls in a row raise etl-incomplete; a complete one ends it."""
    if run.complete:
        resolve_condition(INCOMPLETE_KEY)
        return
    needed = current_app.config["ETL_INCOMPLETE_ALERT_AFTER"]
    recent = db.session.execute(
        select(SyncRun.id, SyncRun.complete).where(SyncRun.finished_at.is_not(None))
        .order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(needed)).all()
    if len(recent) == needed and not any(complete for _, complete in recent):
        raise_condition(INCOMPLETE_KEY, INCOMPLETE_KEY,
                        f"The last {needed} upstream pulls were incomplete; latest run "
                        f"{run.id}: {run.error_summary or 'no detail'}",
                        sample_ids=[run_id for run_id, _ in recent])
