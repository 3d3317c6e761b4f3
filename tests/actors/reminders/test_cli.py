"""``flask --app web reminders plan|status``: by hand, dry run, and bad input exiting 2."""
from datetime import time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from db import Notification, db, utcnow
from tests.actors.reminders.support import booking, clinic, midday_zone, patient


def _clinic_day(app):
    now = utcnow()
    zone = midday_zone(now)
    loc = clinic("L-9", zone)
    today = now.astimezone(ZoneInfo(zone)).date()
    booking(loc, patient("both"), today + timedelta(days=3), time(15, 0))
    booking(loc, patient("sms", phone=None), today + timedelta(days=3))
    db.session.commit()
    return today


def _count():
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Notification))


def test_dry_run_lists_and_writes_nothing(make_app):
    app = make_app(REMINDER_WINDOW="10:00-14:00")
    with app.app_context():
        _clinic_day(app)
        result = app.test_cli_runner().invoke(args=["reminders", "plan", "--dry-run"])
        assert result.exit_code == 0, result.output
        assert result.output.count("status=planned") == 2
        assert "reason='no mobile number'" in result.output
        assert _count() == 0


def test_plan_then_status(make_app):
    app = make_app(REMINDER_WINDOW="10:00-14:00")
    with app.app_context():
        today = _clinic_day(app)
        runner = app.test_cli_runner()
        result = runner.invoke(args=["reminders", "plan", "--location", "L-9",
                                     "--date", today.isoformat()])
        assert result.exit_code == 0, result.output
        assert _count() == 3
        assert result.stderr.startswith("reminders plan: 1/1 time zones (Etc/GMT")
        again = runner.invoke(args=["reminders", "plan", "--date", today.isoformat()])
        assert again.exit_code == 0 and _count() == 3
        status = runner.invoke(args=["reminders", "status", "--date", today.isoformat()])
        assert status.exit_code == 0, status.output
        lines = {tuple(line.split()[:2]): line.split()[2:] for line in status.output.splitlines()}
        assert lines[("L-9", "sms")][:1] == ["1"]           # planned
        assert lines[("L-9", "sms")][7] == "1"              # suppressed
        assert lines[("L-9", "email")][:1] == ["1"]


def test_planning_a_future_day_waits_for_its_window(make_app):
    app = make_app(REMINDER_WINDOW="10:00-14:00")
    with app.app_context():
        today = _clinic_day(app)
        booking(_location(), patient("sms"),
                today + timedelta(days=5))
        db.session.commit()
        day = today + timedelta(days=2)
        result = app.test_cli_runner().invoke(args=["reminders", "plan", "--date", day.isoformat()])
        assert result.exit_code == 0, result.output
        (row,) = db.session.execute(select(Notification)).scalars()
        assert row.status == "planned" and row.due_at > utcnow() + timedelta(days=1)


def _location():
    from db import Location
    return db.session.execute(select(Location)).scalar_one()


def test_bad_input_exits_2(make_app):
    app = make_app()
    with app.app_context():
        runner = app.test_cli_runner()
        for args in (["reminders", "plan", "--date", "01/12/2026"],
                     ["reminders", "plan", "--location", "L-404"],
                     ["reminders", "plan", "--date", "2020-01-01"],
                     ["reminders", "status", "--date", "tomorrow"]):
            result = runner.invoke(args=args)
            assert result.exit_code == 2, (args, result.output)
            assert "Error" in result.output
