"""The appointment page's history shows a planned reminder's "created → planned" line first,
though a plan writes one plan run per clinic and day rather than one event per reminder."""
import re
from datetime import UTC, date, datetime

from sqlalchemy import select

from actors.reminders.plan import plan
from db import Notification, db, transition
from tests.actors.reminders.support import booking, clinic, patient
from tests.web.admin.conftest import PASSWORD, login
from web.admin.cli import seed_demo_account

NOW = datetime(2026, 10, 29, 13, 30, tzinfo=UTC)  # 09:30 in New York: its window is open


def test_the_timeline_shows_planned_first_then_the_moves(app):
    ny = clinic("L-1", "America/New_York")
    booked = booking(ny, patient("sms"), date(2026, 11, 1))
    db.session.commit()
    plan(NOW)
    db.session.commit()
    reminder = db.session.scalars(select(Notification)).one()
    assert reminder.plan_run_id is not None  # no event of its own for the plan
    assert transition(reminder, "queued", source="dispatch")
    db.session.commit()
    seed_demo_account("frontdesk@clinic.example", PASSWORD, role="staff", locations=["L-1"])
    client = app.test_client()
    login(client, "frontdesk@clinic.example")

    page = client.get(f"/admin/appointment/timeline/{booked.id}").get_data(as_text=True)
    timeline = re.search(r'<ol class="list-unstyled" id="timeline">(.*?)</ol>', page,
                         re.DOTALL).group(1)
    lines = [re.sub(r"<[^>]+>", "", line).strip()
             for line in re.findall(r"<li>(.*?)</li>", timeline, re.DOTALL)]
    reminder_lines = [line for line in lines if "Reminder by SMS" in line]
    assert len(reminder_lines) == 2, lines
    assert "created → planned" in reminder_lines[0]
    assert "planned → queued (the reminder schedule)" in reminder_lines[1]
