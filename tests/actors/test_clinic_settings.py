"""A clinic's own window and days before: planned inside it, judged by it (never planned, the
missed-window check), across a DST change, in two time zones, beside a clinic on the global
settings; quiet hours hold a change notice that is not urgent until they end."""
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from actors.accounting.counting import count_never_planned
from actors.accounting.missed import check_windows
from actors.appointments import apply_appointment_update
from actors.clinic_settings import quiet_until, rules_for
from actors.reminders.dispatch import dispatch
from actors.reminders.plan import plan
from actors.schemas import AppointmentSchema
from db import Notification, db
from db.clinic_settings import ClinicSettings
from tests.actors.reminders.support import booking, clinic, patient
from tests.factories import appointment as appointment_data

NY, LA = "America/New_York", "America/Los_Angeles"
DST_ENDS = date(2026, 11, 1)  # 02:00 EDT becomes 01:00 EST in both zones


@pytest.fixture
def app(make_app):
    app = make_app(REMINDER_WINDOW="09:00-12:00", REMINDER_DAYS_BEFORE=3)
    with app.app_context():
        yield app


@pytest.fixture
def two_clinics(app):
    early, late = clinic("L-EARLY", NY), clinic("L-LATE", LA)
    db.session.add(ClinicSettings(location_id=early.id, reminder_window="07:00-10:00",
                                  reminder_days_before=2))
    for day in (DST_ENDS - timedelta(days=1), DST_ENDS):
        booking(early, patient("sms"), day + timedelta(days=2))
        booking(late, patient("sms"), day + timedelta(days=3))
    db.session.commit()
    return early, late


def _at(hour: int, minute: int = 0, day: date = DST_ENDS) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)


def _reminders(location):
    return db.session.scalars(select(Notification).join(Notification.appointment).where(
        Notification.kind == "reminder", Notification.appointment.has(location_id=location.id))
        .order_by(Notification.due_at)).all()


def test_each_clinic_is_planned_inside_its_own_window_across_the_dst_change(two_clinics):
    early, late = two_clinics
    assert rules_for(early.id).reminder_window == "07:00-10:00"
    assert rules_for(late.id).reminder_window == "09:00-12:00"  # the global one
    # The day before: 07:00 EDT is 11:00 UTC. After the change 07:00 EST is 12:00 UTC.
    assert plan(_at(11, 5, DST_ENDS - timedelta(days=1))).total() == 1
    db.session.commit()
    assert plan(_at(11, 30)).total() == 0  # 06:30 EST: not open yet (it was, in EDT)
    assert plan(_at(12, 5)).total() == 1   # 07:05 EST at the early clinic; 04:05 in LA
    db.session.commit()
    days = [n.due_at for n in _reminders(early)]
    deadlines = [n.deadline_at for n in _reminders(early)]
    assert deadlines == [_at(14, 0, DST_ENDS - timedelta(days=1)), _at(15, 0)]  # 10:00 local
    assert all(due < deadline for due, deadline in zip(days, deadlines))
    assert _reminders(late) == []
    assert plan(_at(16, 30)).total() == 0  # 08:30 PST in LA; the early clinic has closed
    assert plan(_at(17, 5)).total() == 1   # 09:05 PST
    db.session.commit()
    (late_reminder,) = _reminders(late)
    assert late_reminder.appointment.local_date == DST_ENDS + timedelta(days=3)
    assert late_reminder.deadline_at == _at(20, 0)  # 12:00 PST


def test_never_planned_and_the_missed_check_use_each_clinics_window(two_clinics):
    early, late = two_clinics
    just_after = _at(15, 1)  # the early clinic's window closed at 15:00 UTC; LA's is to come
    never = count_never_planned(DST_ENDS, DST_ENDS, just_after)
    assert never == {(DST_ENDS, early.id, "sms", "reminder"): 1}
    raised = check_windows(just_after)
    assert f"reminders-missed:L-EARLY:{DST_ENDS.isoformat()}" in raised
    assert not any("L-LATE" in key and DST_ENDS.isoformat() in key and "early:" not in key
                   for key in raised)
    later = count_never_planned(DST_ENDS, DST_ENDS, _at(20, 1))
    assert later[(DST_ENDS, late.id, "sms", "reminder")] == 1


def test_quiet_hours_run_across_midnight():
    night = "22:00-07:00"
    assert quiet_until(datetime(2026, 12, 2, 7, 0, tzinfo=UTC), NY, night) == datetime(
        2026, 12, 2, 12, 0, tzinfo=UTC)  # 02:00 EST -> 07:00 EST
    assert quiet_until(datetime(2026, 12, 2, 3, 30, tzinfo=UTC), NY, night) == datetime(
        2026, 12, 2, 12, 0, tzinfo=UTC)  # 22:30 EST the evening before
    assert quiet_until(datetime(2026, 12, 2, 15, 0, tzinfo=UTC), NY, night) is None
    assert quiet_until(datetime(2026, 12, 2, 7, 0, tzinfo=UTC), NY, None) is None


def _change(starts_at: datetime, now: datetime, monkeypatch, *, id: str):
    monkeypatch.setattr("actors.appointments.utcnow", lambda: now)
    data = appointment_data(id=id, starts_at=starts_at, updated_at=now - timedelta(hours=2),
                            location={"id": "L-1", "timezone": NY})
    apply_appointment_update(AppointmentSchema().load(data), source="webhook")
    db.session.commit()
    moved = {**data, "starts_at": (starts_at + timedelta(hours=1)).isoformat(),
             "updated_at": (now - timedelta(minutes=1)).isoformat()}
    apply_appointment_update(AppointmentSchema().load(moved), source="webhook")
    db.session.commit()
    return db.session.scalars(select(Notification).where(
        Notification.kind == "change", Notification.appointment.has(external_id=id))).all()


def test_quiet_hours_hold_a_change_for_next_week_but_not_for_this_morning(app, monkeypatch):
    from db import Location
    two_am = datetime(2026, 12, 8, 7, 0, tzinfo=UTC)  # 02:00 EST
    first = _change(two_am + timedelta(days=7), two_am, monkeypatch, id="A-WEEK-0")
    assert [n.status for n in first] == ["queued"]  # quiet hours are off by default
    location = db.session.scalar(select(Location).where(Location.external_id == "L-1"))
    db.session.add(ClinicSettings(location_id=location.id, quiet_hours="21:00-08:00"))
    db.session.commit()
    (held,) = _change(two_am + timedelta(days=7), two_am, monkeypatch, id="A-WEEK")
    assert (held.status, held.due_at) == ("planned", datetime(2026, 12, 8, 13, 0, tzinfo=UTC))
    (urgent,) = _change(two_am + timedelta(hours=7), two_am, monkeypatch, id="A-MORNING")
    assert urgent.status == "queued" and urgent.due_at == two_am
    dispatch(datetime(2026, 12, 8, 12, 59, tzinfo=UTC))
    db.session.refresh(held)
    assert held.status == "planned"
    dispatch(datetime(2026, 12, 8, 13, 0, tzinfo=UTC))  # 08:00 EST: the quiet hours end
    db.session.refresh(held)
    assert held.status == "queued"
    broker = app.extensions["dramatiq"]
    assert broker.queues["priority"].qsize() >= 2


def test_each_clinic_is_sent_inside_its_own_window_across_the_dst_change(two_clinics, app,
                                                                         fake_providers,
                                                                         monkeypatch):
    """The send itself, on a clock the test moves: the early clinic's reminders leave at
    07:00 local on both sides of the change (11:00 UTC in EDT, 12:00 UTC in EST), the other
    clinic's at 09:00 Pacific; nothing leaves before its clinic's window opens."""
    from tests.conftest import drain
    twilio, _ = fake_providers
    early, late = two_clinics
    clock = {"now": _at(11, 5, DST_ENDS - timedelta(days=1))}
    monkeypatch.setattr("actors.claims.utcnow", lambda: clock["now"])

    def tick(now: datetime) -> int:
        clock["now"] = now
        plan(now)
        db.session.commit()
        sent = dispatch(now)
        drain(app)
        db.session.expire_all()
        return sent

    assert tick(_at(11, 5, DST_ENDS - timedelta(days=1))) == 1  # 07:05 EDT
    assert tick(_at(11, 30)) == 0  # 06:30 EST, the next day: not open yet
    assert tick(_at(12, 5)) == 1   # 07:05 EST
    assert tick(_at(16, 30)) == 0  # 08:30 PST: the global window opens at 09:00
    assert tick(_at(17, 5)) == 1   # 09:05 PST
    for location, opens in ((early, time(7)), (late, time(9))):
        for reminder in _reminders(location):
            assert reminder.status == "sent"
            local = reminder.due_at.astimezone(ZoneInfo(location.timezone)).time()
            assert opens <= local < time(opens.hour + 3)
    assert len(twilio.messages) == 3
