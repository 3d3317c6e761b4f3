"""``flask --app web etl pull``: a summary, exit 1 when incomplete, exit 2 on bad input."""
from datetime import datetime

from sqlalchemy import func, select

from db import SyncRun, db
from tests.actors.etl.support import horizon_days


def test_pull_prints_the_summary(etl_app, upstream):
    start, days = horizon_days()
    upstream.seed(70, start=start, days=days)

    one_day = etl_app.test_cli_runner().invoke(args=[
        "etl", "pull", "--from", start.isoformat(), "--to", start.isoformat()])
    full = etl_app.test_cli_runner().invoke(args=["etl", "pull"])

    on_start = sum(1 for i in upstream.ids()
                   if datetime.fromisoformat(upstream.appointment(i)["starts_at"]).date() == start)
    assert one_day.exit_code == 0 and f"records     {on_start}\n" in one_day.output, one_day.output
    assert full.exit_code == 0, full.output
    for name in ("pages", "records", "created", "changed", "unchanged", "quarantined",
                 "retries"):
        assert name in full.output
    assert "records     70" in full.output and "complete" in full.output
    # Not a terminal: the progress is one plain line on stderr, out of the summary's way.
    assert full.stderr.startswith("etl pull ") and ": done, 2 pages (70 records) in " in full.stderr
    assert "etl pull" not in full.stdout


def test_bad_dates_exit_2_with_a_message(etl_app):
    runner = etl_app.test_cli_runner()
    bad = runner.invoke(args=["etl", "pull", "--from", "2026-13-01"])
    assert bad.exit_code == 2 and "--from" in bad.output
    backwards = runner.invoke(args=["etl", "pull", "--from", "2026-12-05", "--to", "2026-12-01"])
    assert backwards.exit_code == 2 and "is after" in backwards.output


def test_status_says_when_data_was_last_complete(etl_app, upstream):
    result = etl_app.test_cli_runner().invoke(args=["etl", "status"])
    assert result.exit_code == 0 and "never" in result.output


def test_pull_without_an_upstream_says_so_and_records_nothing(make_app):
    app = make_app()
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["etl", "pull"])
        assert result.exit_code == 2 and "UPSTREAM_API_URL is not set" in result.output
        assert db.session.execute(select(func.count()).select_from(SyncRun)).scalar_one() == 0
