"""One pull of the upstream API over a window of days, streamed page by page.

Each page is applied in its own transaction through the same update function as the
webhook, as one batch (a few statements per page, not several per record; first sight
notifies nobody; a change the webhook already brought is "stale"), so a page is either
stored whole or not at all, and memory holds one page at a time.
Every pull is recorded in sync_runs, complete or not. Only a complete pull may flag
appointments that upstream no longer returns, and it flags them: it never cancels.
"""
import logging
import random
import time
from collections import Counter
from datetime import date

from flask import current_app
from sqlalchemy import delete, exists, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import OperationalError

from actors.appointments import apply_appointment_updates
from actors.etl.client import Page, RetryPolicy, UpstreamClient, UpstreamError
from actors.etl.freshness import check_freshness, check_incomplete_streak
from actors.etl.missing import reopen_returned, suppress_missing
from actors.etl.records import (
    PageInspector,
    external_id,
    quarantine,
    resolve_quarantined,
)
from db import Appointment, SyncRun, SyncSeen, db, utcnow

log = logging.getLogger(__name__)

#: A page whose transaction hits a deadlock (a webhook touching the same rows) is re-applied.
PAGE_APPLY_ATTEMPTS = 3


class NotConfigured(RuntimeError):
    """UPSTREAM_API_URL is not set."""


def client_from_config(config, *, rng: random.Random | None = None) -> UpstreamClient:
    if not config["UPSTREAM_API_URL"]:
        raise NotConfigured("UPSTREAM_API_URL is not set")
    policy = RetryPolicy(retries=config["UPSTREAM_PAGE_RETRIES"],
                         base_seconds=config["UPSTREAM_BACKOFF_BASE_SECONDS"],
                         max_seconds=config["UPSTREAM_BACKOFF_MAX_SECONDS"],
                         retry_after_max_seconds=config["UPSTREAM_RETRY_AFTER_MAX_SECONDS"])
    return UpstreamClient(config["UPSTREAM_API_URL"], config["UPSTREAM_API_TOKEN"],
                          connect_timeout=config["UPSTREAM_CONNECT_TIMEOUT_SECONDS"],
                          read_timeout=config["UPSTREAM_TIMEOUT_SECONDS"], policy=policy, rng=rng)


def _describe(failures: Counter) -> str:
    return ", ".join(f"{kind} x{count}" for kind, count in sorted(failures.items())) or "none"


#: On the table, not the ORM: one cached statement, its rows sent as one multi-row INSERT.
_SEEN = postgresql.insert(SyncSeen.__table__).on_conflict_do_nothing()


def _mark_seen(run_id: int, external_ids: set[str]) -> None:
    if external_ids:
        db.session.execute(_SEEN, [{"run_id": run_id, "external_id": e}
                                   for e in sorted(external_ids)])


def _apply_page(run_id: int, page: Page, inspector: PageInspector) -> None:
    """Store one page in one transaction: every record applied or quarantined, or none."""
    for attempt in range(PAGE_APPLY_ATTEMPTS):
        try:
            outcomes = Counter(
                "unchanged" if result.outcome == "stale" else result.outcome
                for result in apply_appointment_updates(inspector.valid, source="etl"))
            for raw, why in inspector.invalid:
                quarantine(run_id, raw, why)
            valid_ids = [data["id"] for data in inspector.valid]
            resolve_quarantined(valid_ids)
            _mark_seen(run_id, set(valid_ids) | {external_id(raw) for raw, _ in inspector.invalid
                                                 if external_id(raw)})
            run = db.session.get(SyncRun, run_id, with_for_update=True, populate_existing=True)
            run.pages += 1
            run.records += len(page.records)
            run.created += outcomes["created"]
            run.changed += outcomes["changed"]
            run.unchanged += outcomes["unchanged"]
            run.quarantined += len(inspector.invalid)
            run.retries += page.retries
            db.session.commit()  # the page's notifications are enqueued on this commit
            return
        except OperationalError:
            db.session.rollback()
            if attempt + 1 == PAGE_APPLY_ATTEMPTS:
                raise
            log.warning("page transaction failed; applying it again",
                        extra={"run_id": run_id, "attempt": attempt + 1})


def _flag_missing(run: SyncRun) -> int:
    """Appointments in the window a complete pull did not return: flagged, not cancelled.

    Rows touched locally since the pull began (a webhook booking mid-pull) are left alone:
    upstream may have listed them on a page already read.
    """
    seen = exists().where(SyncSeen.run_id == run.id,
                          SyncSeen.external_id == Appointment.external_id)
    return db.session.execute(
        update(Appointment).where(Appointment.local_date >= run.window_from,
                                  Appointment.local_date <= run.window_to,
                                  Appointment.missing_from_source_at.is_(None),
                                  Appointment.updated_at < run.started_at, ~seen)
        .values(missing_from_source_at=utcnow()).execution_options(synchronize_session=False)
    ).rowcount


def _unflag_returned(run: SyncRun) -> None:
    """A flagged appointment upstream lists again (unchanged) is no longer missing."""
    seen = exists().where(SyncSeen.run_id == run.id,
                          SyncSeen.external_id == Appointment.external_id)
    db.session.execute(update(Appointment).where(Appointment.missing_from_source_at.is_not(None),
                                                 seen)
                       .values(missing_from_source_at=None)
                       .execution_options(synchronize_session=False))


def _close_abandoned_runs(current_id: int) -> None:
    """Runs left unfinished by a crashed worker: recorded as incomplete, their ids dropped."""
    db.session.execute(update(SyncRun).where(SyncRun.finished_at.is_(None),
                                             SyncRun.id != current_id)
                       .values(finished_at=utcnow(), complete=False,
                               error_summary="stopped without finishing (worker stopped)"))
    db.session.execute(delete(SyncSeen).where(SyncSeen.run_id != current_id))


def _finish(run_id: int, complete: bool, error_summary: str | None) -> SyncRun:
    run = db.session.get(SyncRun, run_id, with_for_update=True, populate_existing=True)
    _unflag_returned(run)
    if complete:
        run.missing = _flag_missing(run)
        suppress_missing(utcnow(), newly_flagged=run.missing)
    reopen_returned(utcnow())
    db.session.execute(delete(SyncSeen).where(SyncSeen.run_id == run.id))
    run.complete, run.error_summary, run.finished_at = complete, error_summary, utcnow()
    check_incomplete_streak(run)
    check_freshness()
    db.session.commit()
    return run


def run_pull(window_from: date, window_to: date, *, trigger: str = "schedule",
             client: UpstreamClient | None = None) -> SyncRun:
    """Pull every page of the window. The caller holds the pull lock (actors.etl.lock)."""
    config = current_app.config
    client = client or client_from_config(config)  # unconfigured: no run row at all
    run = SyncRun(window_from=window_from, window_to=window_to, trigger=trigger, started_at=utcnow())
    db.session.add(run)
    db.session.flush()
    _close_abandoned_runs(run.id)
    db.session.commit()
    run_id = run.id
    log.info("etl pull started", extra={"run_id": run_id, "from": window_from.isoformat(),
                                        "to": window_to.isoformat(), "trigger": trigger})
    deadline = time.monotonic() + config["ETL_PULL_BUDGET_SECONDS"]
    failures, token, error = Counter(), None, None
    try:
        while True:
            inspector = PageInspector()
            page = client.read_page(window_from, window_to, token, deadline=deadline,
                                    inspect=inspector)
            failures.update(page.failures)
            _apply_page(run_id, page, inspector)
            token = page.next_token
            if token is None:
                break
    except UpstreamError as stop:
        failures.update(stop.failures)
        run = db.session.get(SyncRun, run_id, populate_existing=True)
        run.retries += stop.retries
        error = f"{stop} at page {run.pages + 1}"
    except Exception as unexpected:
        # Record the pull as incomplete before the error goes on to the worker and Sentry.
        db.session.rollback()
        _finish(run_id, complete=False, error_summary=f"retried: {_describe(failures)}; "
                f"stopped: internal error {type(unexpected).__name__}")
        raise
    finally:
        client.close()
    summary = f"retried: {_describe(failures)}" + (f"; stopped: {error}" if error else "")
    run = _finish(run_id, complete=error is None, error_summary=summary)
    log.log(logging.INFO if run.complete else logging.ERROR, "etl pull finished",
            extra={"run_id": run_id, "complete": run.complete, "counts": run.summary()})
    return run
