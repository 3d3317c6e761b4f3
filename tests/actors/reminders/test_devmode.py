"""The tick with dev mode's console channels on the StubBroker: the same rows and history as
production, the messages printed as blocks, and the console's refused number showing a
permanent failure and the SMS -> e-mail fallback."""
from datetime import time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from actors.channels.console import REFUSED_SMS_NUMBERS
from actors.reminders.tick import run_tick
from db import Notification, db, utcnow
from tests.actors.reminders.support import booking, clinic, midday_zone, patient
from tests.conftest import drain

REFUSED = next(iter(REFUSED_SMS_NUMBERS))


def test_tick_plans_dispatches_and_sends_on_the_console(make_app, capsys):
    app = make_app(SMS_CHANNEL="console", EMAIL_CHANNEL="console",
                   REMINDER_WINDOW="10:00-14:00")
    with app.app_context():
        now = utcnow()
        zone = midday_zone(now)
        loc = clinic("L-1", zone)
        day = now.astimezone(ZoneInfo(zone)).date()
        booking(loc, patient("both"), day + timedelta(days=3), time(15, 0))
        booking(loc, patient("sms", sms_opted_out=True), day + timedelta(days=3))
        booking(loc, patient("sms", phone=REFUSED, email=None), day + timedelta(days=3))
        booking(loc, patient("sms", phone=REFUSED), day + timedelta(days=3), time(11, 0))
        db.session.commit()
        first = run_tick(now)
        second = run_tick(now + timedelta(minutes=1))
        assert first["planned"] == 4 and second["planned"] == 0
        assert first["dispatched"] + second["dispatched"] == 4
        drain(app)
        statuses = sorted((n.channel, n.status, n.fallback_of_id is not None) for n in
                          db.session.execute(select(Notification)).scalars())
        assert statuses == [("email", "sent", False), ("email", "sent", True),
                            ("sms", "failed", False), ("sms", "failed", False),
                            ("sms", "sent", False), ("sms", "suppressed", False)]
        printed = capsys.readouterr().out
        assert printed.count("--- SMS to") == 3 and printed.count("--- E-mail to") == 2
        assert printed.count(f"--- SMS to {REFUSED} REFUSED: 21614") == 2
        assert "\n| Hi Ada, reminder:" in printed  # the text itself, framed, not a log line
