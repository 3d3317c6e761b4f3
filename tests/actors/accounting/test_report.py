"""flask --app web report delivery: the documented columns, one row per slice, exit 2 on bad input."""
import csv
import io
from datetime import timedelta

import pytest

from tests.actors.accounting.support import add, local_today, mixed_day, zone_at
from tests.actors.reminders.support import booking, clinic, patient
from web.cli_report import HEADER

COLUMNS = ("date,location,channel,kind,due,delivered,accepted,unconfirmed,failed,undelivered,"
           "expired,never_planned,pending,rate")


def run(app, *args):
    return app.test_cli_runner().invoke(args=["report", *args])


def test_csv_has_the_documented_columns_and_one_row_per_slice(app):
    mixed = mixed_day()
    other = clinic("L-OTHER", zone_at(15))
    today = local_today(mixed)
    seen = booking(other, patient("both"), today + timedelta(days=9))
    add(seen, status="delivered", provider="twilio")
    add(seen, status="failed", channel="email", provider="ses")
    from db import db
    db.session.commit()

    result = run(app, "delivery", "--from", (today - timedelta(days=2)).isoformat(),
                 "--to", today.isoformat(), "--format", "csv")
    assert result.exit_code == 0, result.output
    assert ",".join(HEADER) == COLUMNS and result.stdout.splitlines()[0] == COLUMNS
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    slices = [(r["date"], r["location"], r["channel"], r["kind"]) for r in rows]
    assert len(slices) == len(set(slices))
    assert {(r["location"], r["channel"], r["kind"]) for r in rows} == {
        ("L-MIX", "sms", "change"), ("L-MIX", "sms", "reminder"), ("L-MIX", "email", "change"),
        ("L-OTHER", "sms", "change"), ("L-OTHER", "email", "change")}
    other_email = next(r for r in rows if r["location"] == "L-OTHER" and r["channel"] == "email")
    assert (other_email["due"], other_email["failed"], other_email["rate"]) == ("1", "1", "0.0000")

    table = run(app, "delivery", "--from", today.isoformat(), "--to", today.isoformat())
    assert table.exit_code == 0 and table.stdout.split()[:len(HEADER)] == list(HEADER)


@pytest.mark.parametrize("args, message", [
    (["--from", "2026-13-01", "--to", "2026-12-02"], "is not a date"),
    (["--from", "2026-12-02", "--to", "2026-12-01"], "--to is before --from"),
    (["--from", "2024-01-01", "--to", "2026-12-01"], "at most"),
    (["--from", "2026-12-01", "--to", "2026-12-01", "--location", "L-NOWHERE"],
     "no location with id 'L-NOWHERE'"),
])
def test_bad_input_exits_2_with_a_message(app, args, message):
    result = run(app, "delivery", *args)
    assert result.exit_code == 2 and message in result.output


def test_closed_days_come_from_the_ledger_and_survive_pruning(app):
    from sqlalchemy import delete, text

    from actors.accounting.ledger import rebuild
    from db import Notification, NotificationEvent, db
    location = mixed_day()
    day = local_today(location) - timedelta(days=1)
    db.session.execute(text("UPDATE notifications SET due_at = due_at - interval '1 day'"))
    db.session.commit()
    before = run(app, "delivery", "--from", day.isoformat(), "--to", day.isoformat(),
                 "--format", "csv").stdout
    rebuild(day, day)
    db.session.commit()
    # Old notifications pruned (as a retention job would): the closed day still reads the same.
    db.session.execute(delete(NotificationEvent))
    db.session.execute(delete(Notification))
    db.session.commit()
    after = run(app, "delivery", "--from", day.isoformat(), "--to", day.isoformat(),
                "--format", "csv").stdout
    assert after == before and "L-MIX" in after
