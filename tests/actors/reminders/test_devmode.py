"""The tick on dev mode's SQLite and StubBroker: same rows, same history, console channels."""
from datetime import time, timedelta
from zoneinfo import ZoneInfo

from flask_migrate import upgrade
from sqlalchemy import select

from actors.reminders.tick import run_tick
from db import Notification, db, utcnow
from tests.actors.reminders.support import booking, clinic, midday_zone, patient
from tests.conftest import drain
from web import create_app


def test_tick_plans_dispatches_and_sends_on_sqlite(tmp_path, capsys):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/dev.sqlite", "BROKER_URL": None,
                      "REMINDER_WINDOW": "10:00-14:00"})
    with app.app_context():
        upgrade(revision="heads")
        now = utcnow()
        zone = midday_zone(now)
        loc = clinic("L-1", zone)
        day = now.astimezone(ZoneInfo(zone)).date()
        booking(loc, patient("both"), day + timedelta(days=3), time(15, 0))
        booking(loc, patient("sms", sms_opted_out=True), day + timedelta(days=3))
        booking(loc, patient("sms"), day + timedelta(days=1), time(15, 0))  # booked too late
        db.session.commit()
        first = run_tick(now)
        second = run_tick(now + timedelta(minutes=1))
        assert first["planned"] == 2 and second["planned"] == 0
        assert first["dispatched"] + second["dispatched"] == 2
        drain(app)
        statuses = sorted((n.channel, n.status) for n in
                          db.session.execute(select(Notification)).scalars())
        assert statuses == [("email", "sent"), ("sms", "sent"), ("sms", "skipped"),
                            ("sms", "suppressed")]
        printed = capsys.readouterr().out
        assert "--- SMS to" in printed and "--- E-mail to" in printed
        db.session.remove()
        db.engine.dispose()
