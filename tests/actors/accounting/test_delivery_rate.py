"""One delivery rate: the Today page, /metrics, the alert and the report agree on a mixed day."""
import csv
import io
import re

from sqlalchemy import select

from actors.alerts.checks import run_checks
from db import Alert, db, utcnow
from tests.actors.accounting.support import local_today, mixed_day
from tests.web.admin.conftest import FAST_HASH, PASSWORD, login
from web.admin.cli import seed_demo_account

SMS = {"due": 7, "delivered": 3, "accepted": 0, "unconfirmed": 1, "failed": 1,
       "undelivered": 0, "expired": 1, "never_planned": 1, "pending": 1}
EMAIL = {"due": 2, "delivered": 0, "accepted": 2, "unconfirmed": 0, "failed": 0,
         "undelivered": 0, "expired": 0, "never_planned": 0, "pending": 0}


def _csv_totals(app, location, day) -> dict:
    result = app.test_cli_runner().invoke(args=[
        "report", "delivery", "--from", day.isoformat(), "--to", day.isoformat(),
        "--location", location.external_id, "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    totals = {}
    for row in rows:
        assert row["date"] == day.isoformat() and row["location"] == location.external_id
        channel = totals.setdefault(row["channel"], dict.fromkeys(SMS, 0))
        for name in SMS:
            channel[name] += int(row[name])
    return totals, rows


def _metrics(client, location) -> dict:
    text = client.get("/metrics").get_data(as_text=True)
    found = {}
    for channel, outcome, value in re.findall(
            r'patient_notifier_delivery_today\{channel="(\w+)",location="'
            + location.external_id + r'",outcome="(\w+)"\} ([0-9.]+)', text):
        found.setdefault(channel, {})[outcome] = int(float(value))
    rates = dict(re.findall(r'patient_notifier_delivery_rate_today\{channel="(\w+)",location="'
                            + location.external_id + r'"\} ([0-9.e-]+)', text))
    return found, {channel: float(rate) for channel, rate in rates.items()}


def test_every_reader_of_the_rate_gives_the_same_numbers(make_app):
    app = make_app(DELIVERY_RATE_MIN_VOLUME=1, **FAST_HASH)
    with app.app_context():
        location = mixed_day()
        day = local_today(location)
        client = app.test_client()
        seed_demo_account("viewer@clinic.example", PASSWORD, role="viewer",
                          locations=[location.external_id])  # a viewer sees their clinic
        login(client, "viewer@clinic.example")

        totals, rows = _csv_totals(app, location, day)
        assert totals == {"sms": SMS, "email": EMAIL}
        sms_rows = [r for r in rows if r["channel"] == "sms"]
        assert {r["kind"] for r in sms_rows} == {"change", "reminder"}

        counts, rates = _metrics(client, location)
        assert counts == {"sms": SMS, "email": EMAIL}
        assert rates["sms"] == 3 / 7 and rates["email"] == 1.0

        fields = client.get("/admin/today.json").get_json()["fields"]
        loc = location.id
        for channel, expected in (("sms", SMS), ("email", EMAIL)):
            assert {name: fields[f"loc-{loc}-{channel}-{name}"] for name in SMS} == expected
        assert fields[f"loc-{loc}-sms-rate"] == fields["rate-sms"] == "42.9%"
        assert fields[f"loc-{loc}-email-rate"] == "100.0%"
        assert fields["reached-sms"] == 3 and fields["judged-sms"] == 7

        run_checks(utcnow())
        alerts = {a.key: a for a in db.session.scalars(select(Alert))}
        rate_alert = alerts[f"delivery-rate:{location.external_id}:sms"]
        assert "42.9% (3 of 7)" in rate_alert.summary
        assert f"delivery-rate:{location.external_id}:email" not in alerts
