"""``flask --app web broadcast create``: a dry run stores and sends nothing; a real one queues
each booked patient's message once, is audited, and shows in ``report delivery``."""
import csv
import io
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from db import AuditEntry, Broadcast, Notification, db, utcnow
from tests.actors.test_broadcasts import NY, _book, _location
from tests.conftest import drain


def _run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def _count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def test_dry_run_then_create(app, fake_providers):
    twilio, _ = fake_providers
    # Tomorrow: today's broadcast ends at New York's midnight, which a run may reach.
    day = utcnow().astimezone(ZoneInfo(NY)).date() + timedelta(days=1)
    clinic = _location("L-1", NY)
    patients = [_book(clinic, day, 1), _book(clinic, day, 2, email=False)]
    db.session.commit()
    args = ["broadcast", "create", "--location", "L-1", "--date", day.isoformat(),
            "--text", "Closed tomorrow: burst pipe.", "--channel", "sms"]
    dry = _run(app, *args, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "sms: 2 booked, 2 reachable" in dry.output and "1 segment(s)" in dry.output
    assert _count(Broadcast) == 0 and _count(Notification) == 0

    done = _run(app, *args)
    assert done.exit_code == 0 and "2 notifications queued" in done.output, done.output
    drain(app)
    assert [len(twilio.sent_to(p.phone)) for p in patients] == [1, 1]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "broadcast"))
    assert entry.account == "cli" and entry.detail.endswith("2 notifications")

    # Reported by the day the sends were due (today), whichever side of midnight it is now.
    report = _run(app, "report", "delivery", "--from", (day - timedelta(days=1)).isoformat(),
                  "--to", day.isoformat(), "--format", "csv")
    rows = [r for r in csv.DictReader(io.StringIO(report.stdout)) if r["kind"] == "broadcast"]
    assert [(r["location"], r["channel"], r["due"]) for r in rows] == [("L-1", "sms", "2")]


def test_bad_input_is_refused(app):
    _location("L-1", NY)
    db.session.commit()
    assert _run(app, "broadcast", "create", "--location", "L-9", "--date", "2026-12-04",
                "--template", "closure").exit_code != 0
    both = _run(app, "broadcast", "create", "--location", "L-1", "--date", "2026-12-04",
                "--template", "closure", "--text", "hi")
    assert both.exit_code == 2 and "not both" in both.output
