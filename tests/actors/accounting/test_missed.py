"""reminders-missed: a window that closed with nothing running, and the early warning."""
from datetime import timedelta

from sqlalchemy import select

from db import Alert, db
from tests.actors.accounting.support import local_today, zone_at
from tests.actors.alerts.support import ONCALL, alert_mails, evaluate
from tests.actors.reminders.support import booking, clinic, patient


def _alerts() -> dict:
    db.session.expire_all()
    return {a.key: a for a in db.session.scalars(select(Alert))}


def test_a_window_closed_with_no_tick_raises_once_and_the_early_warning_fires(make_app,
                                                                            fake_providers):
    _, smtp = fake_providers
    app = make_app(ALERT_EMAIL_TO=ONCALL, DELIVERY_RATE_MIN_VOLUME=100_000)
    with app.app_context():
        closed = clinic("L-CLOSED", zone_at(15))     # its window closed three hours ago
        day = local_today(closed)
        for preferred in ("sms", "sms", "both"):      # 4 reminders due, none ever planned
            booking(closed, patient(preferred), day + timedelta(days=3))
        booking(closed, patient("sms", phone=None), day + timedelta(days=3))  # cannot receive
        clinic("L-EMPTY", zone_at(15))                # nothing due there
        opened = clinic("L-OPEN", zone_at(10))        # an hour into its window, nothing planned
        booking(opened, patient("email"), local_today(opened) + timedelta(days=3))
        clinic("L-OPEN-EMPTY", zone_at(10))
        db.session.commit()

        evaluate(app)

        alerts = _alerts()
        missed = alerts[f"reminders-missed:L-CLOSED:{day}"]
        assert missed.kind == "reminders-missed" and missed.count == 4
        assert "Clinic L-CLOSED (L-CLOSED): 4 reminders" in missed.summary
        assert f"due on {day}" in missed.summary and "4 never planned" in missed.summary
        early = alerts[f"reminders-missed:early:L-OPEN:{local_today(opened)}"]
        assert early.count == 1 and "nothing planned" in early.summary
        assert not any("L-EMPTY" in key or "L-OPEN-EMPTY" in key for key in alerts)
        mails = alert_mails(smtp)
        assert len([m for m in mails if "L-CLOSED" in m.as_string()]) == 1

        evaluate(app)   # the next minutes judge nothing twice and e-mail nothing again
        evaluate(app)
        assert _alerts()[f"reminders-missed:L-CLOSED:{day}"].count == 4
        assert len([m for m in alert_mails(smtp) if "L-CLOSED" in m.as_string()]) == 1
