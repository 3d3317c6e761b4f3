"""An upstream that stays down: an honest, incomplete pull and a stale-data alert."""
from datetime import timedelta

from sqlalchemy import select

from actors.etl import etl_tick, pull_now
from actors.etl.freshness import last_fresh_at
from db import Alert, Appointment, SyncRun, db, utcnow
from tests.actors.etl.support import horizon_days, stored_count
from tests.conftest import drain


def _alert(key):
    return db.session.execute(select(Alert).where(Alert.key == key)).scalar_one_or_none()


def _age_runs(minutes):
    """Move every recorded pull back in time, as if the clock had run on."""
    for run in db.session.execute(select(SyncRun)).scalars():
        run.started_at -= timedelta(minutes=minutes)
    db.session.commit()


def test_upstream_down_past_the_budget_ends_incomplete_and_keeps_everything(etl_app, upstream):
    start, days = horizon_days()
    upstream.seed(150, start=start, days=days)
    assert pull_now(trigger="cli").complete
    assert _alert("etl-stale").status == "resolved" if _alert("etl-stale") else True
    _age_runs(etl_app.config["ETL_STALE_AFTER_MINUTES"] + 5)  # the last good pull is old now
    upstream.down()
    etl_app.config.update(ETL_PULL_BUDGET_SECONDS=0.5, UPSTREAM_PAGE_RETRIES=10_000)

    result = etl_app.test_cli_runner().invoke(args=["etl", "pull"])

    assert result.exit_code == 1, result.output
    assert "INCOMPLETE" in result.output and "time budget spent at page 1" in result.output
    run = db.session.execute(select(SyncRun).order_by(SyncRun.id.desc())).scalars().first()
    assert not run.complete and run.finished_at is not None and run.retries > 0
    assert run.pages == 0 and "http-503" in run.error_summary
    stored = db.session.execute(select(Appointment)).scalars().all()
    assert len(stored) == 150  # nothing deleted
    assert all(a.status == "booked" and a.missing_from_source_at is None for a in stored)
    stale = _alert("etl-stale")
    assert stale is not None and stale.status == "open" and stale.kind == "etl-stale"

    upstream.down(False)  # back up: the next pull makes the data fresh again
    etl_app.config.update(ETL_PULL_BUDGET_SECONDS=120.0)
    assert pull_now(trigger="cli").complete
    assert _alert("etl-stale").status == "resolved" and stored_count() == 150


def test_incomplete_pulls_in_a_row_raise_etl_incomplete_and_a_complete_one_resolves_it(
        etl_app, upstream):
    start, days = horizon_days()
    upstream.seed(20, start=start, days=days)
    upstream.down()
    etl_app.config.update(ETL_INCOMPLETE_ALERT_AFTER=3, UPSTREAM_PAGE_RETRIES=1)
    for _ in range(2):
        assert not pull_now(trigger="cli").complete
    assert _alert("etl-incomplete") is None
    assert not pull_now(trigger="cli").complete
    assert _alert("etl-incomplete").status == "open"

    upstream.down(False)
    assert pull_now(trigger="cli").complete
    assert _alert("etl-incomplete").status == "resolved"


def test_the_tick_starts_a_pull_when_one_is_due_and_the_pull_covers_the_reminder_day(
        etl_app, upstream):
    start, days = horizon_days()
    upstream.seed(40, start=start, days=days)
    broker = etl_app.extensions["dramatiq"]

    etl_tick()  # no pull yet: one is due (and a new install is not stale yet)

    assert _alert("etl-stale") is None
    assert broker.queues["default"].qsize() == 1
    drain(etl_app)
    run = db.session.execute(select(SyncRun)).scalar_one()
    assert run.complete and run.trigger == "schedule" and stored_count() == 40
    assert last_fresh_at() == run.started_at

    etl_tick()  # a pull started less than ETL_INTERVAL_MINUTES ago: nothing to do
    assert broker.queues["default"].qsize() == 0

    _age_runs(etl_app.config["ETL_INTERVAL_MINUTES"])
    etl_tick()
    assert broker.queues["default"].qsize() == 1


def test_a_pull_the_worker_never_finished_is_closed_as_incomplete(etl_app, upstream):
    abandoned = SyncRun(window_from=utcnow().date(), window_to=utcnow().date(),
                        started_at=utcnow() - timedelta(hours=1))
    db.session.add(abandoned)
    db.session.commit()

    assert pull_now(trigger="cli").complete

    db.session.refresh(abandoned)
    assert abandoned.finished_at is not None and not abandoned.complete
    assert "stopped without finishing" in abandoned.error_summary


def test_pulls_that_never_complete_make_the_data_stale(etl_app, upstream):
    upstream.down()
    etl_app.config.update(UPSTREAM_PAGE_RETRIES=1)
    assert not pull_now(trigger="cli").complete
    assert _alert("etl-stale") is None  # the first pull just started: too early to judge

    _age_runs(etl_app.config["ETL_STALE_AFTER_MINUTES"] + 1)
    etl_tick()

    assert _alert("etl-stale").status == "open"
    assert "ever" in _alert("etl-stale").summary
