"""A day's first plan writes its reminders without looking each up, and stays exact."""
from datetime import UTC, date, datetime

from sqlalchemy import func, select, update

from actors.reminders.plan import plan
from db import Appointment, Notification, PlanRun, db
from db.creation import DEDUPE_KEY
from tests.actors.reminders.support import booking, clinic, engine_events, patient

LONDON = "Europe/London"
TODAY, TARGET = date(2026, 10, 29), date(2026, 11, 1)
NOW = datetime(2026, 10, 29, 10, 0, tzinfo=UTC)  # 10:00 in London, its window open


def _failed_statements(work) -> list[str]:
    """The statements PostgreSQL refused while ``work()`` ran (each one an error in its log)."""
    return [str(context.original_exception)
            for context, in engine_events("handle_error", work)]


def _reminders():
    return db.session.execute(
        select(Notification.appointment_id, Notification.channel, Notification.status)
        .where(Notification.kind == "reminder").order_by(Notification.id)).all()


def test_an_appointment_moved_in_from_a_clinic_planned_before_keeps_its_one_reminder(app):
    first, second = clinic("L-1", LONDON), clinic("L-2", LONDON)
    moving = booking(first, patient("sms"), TARGET)
    staying = booking(second, patient("sms"), TARGET)
    db.session.commit()
    plan(NOW, location_ids=[first.id])
    db.session.commit()
    db.session.execute(update(Appointment).where(Appointment.id == moving.id)
                       .values(location_id=second.id))
    db.session.commit()

    # The second clinic's day has no plan yet, but one of its appointments has a reminder:
    # the first write meets its key and the day is written again, looking reminders up.
    failed = _failed_statements(lambda: plan(NOW, location_ids=[second.id]))
    db.session.commit()
    assert len(failed) == 1 and DEDUPE_KEY in failed[0]
    assert _reminders() == [(moving.id, "sms", "planned"), (staying.id, "sms", "planned")]
    runs = db.session.execute(select(PlanRun.location_id, PlanRun.count)
                              .order_by(PlanRun.id)).all()
    assert runs == [(first.id, 1), (second.id, 1)]


def test_a_first_plan_that_planned_nothing_is_on_record_and_the_next_finds_its_rows(app):
    loc = clinic("L-1", LONDON)
    cancelled = booking(loc, patient("sms"), TARGET, status="cancelled")
    opted_out = booking(loc, patient("sms", sms_opted_out=True), TARGET)
    db.session.commit()
    assert _failed_statements(lambda: plan(NOW)) == []
    db.session.commit()
    assert _reminders() == [(cancelled.id, "sms", "cancelled"), (opted_out.id, "sms", "suppressed")]
    runs = db.session.execute(select(PlanRun.location_id, PlanRun.local_date, PlanRun.count)).all()
    assert runs == [(loc.id, TARGET, 0)]

    # Every later tick of the window knows the day was planned: no statement fails first.
    booked = booking(loc, patient("sms"), TARGET)
    db.session.commit()
    for minute in (1, 2):
        assert _failed_statements(lambda m=minute: plan(NOW.replace(minute=m))) == []
        db.session.commit()
    assert _reminders()[-1] == (booked.id, "sms", "planned")
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 3
    assert db.session.scalars(select(PlanRun.count).order_by(PlanRun.id)).all() == [0, 1]
