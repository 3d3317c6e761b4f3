"""A plan is one history line per clinic and day: every reader still sees a planned
reminder's "created → planned" first, and a rollback of 0012 gives each reminder that line
back as an event, so the audit trail loses nothing."""
from datetime import UTC, date, datetime

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from actors.reminders.plan import plan
from db import Notification, PlanRun, db, notification_history, transition
from tests.actors.reminders.support import booking, clinic, patient
from tests.db.seed import CONFIG, seed
from tests.services import create_database, drop_database, unique_name
from web import create_app

NOW = datetime(2026, 10, 29, 13, 30, tzinfo=UTC)  # 09:30 in New York: its window is open


def _lines(notification_ids) -> dict:
    found = {}
    for line in notification_history(notification_ids):
        found.setdefault(line.notification_id, []).append(
            (line.from_status, line.to_status, line.at, line.source, line.detail))
    return found


def _event_lines() -> dict:
    """notification_events alone, as the code before 0012 reads them."""
    found = {}
    for row in db.session.execute(text(
            "SELECT notification_id, from_status, to_status, at, source, detail "
            "FROM notification_events ORDER BY notification_id, from_status IS NOT NULL, id")):
        found.setdefault(row[0], []).append(tuple(row[1:]))
    return found


def test_a_planned_reminder_shows_planned_first_then_its_moves(app):
    ny = clinic("L-NY", "America/New_York")
    booking(ny, patient("sms"), date(2026, 11, 1))
    booking(ny, patient("sms", sms_opted_out=True), date(2026, 11, 1))
    db.session.commit()
    plan(NOW)
    db.session.commit()
    planned, suppressed = db.session.scalars(select(Notification).order_by(Notification.id))
    assert transition(planned, "queued", source="dispatch")
    db.session.commit()

    lines = _lines([planned.id, suppressed.id])
    assert [(f, t, s) for f, t, _, s, _ in lines[planned.id]] == [
        (None, "planned", "plan"), ("planned", "queued", "dispatch")]
    assert lines[planned.id][0][2] == NOW  # the run's time
    assert lines[suppressed.id] == [(None, "suppressed", NOW, "plan", "patient opted out of SMS")]
    db.session.expire_all()
    assert [e.to_status for e in db.session.get(Notification, planned.id).events] == \
        ["planned", "queued"]
    run = db.session.get(PlanRun, planned.plan_run_id)
    assert (run.location_id, run.local_date, run.count, run.source) == \
        (ny.id, date(2026, 11, 1), 1, "plan")


@pytest.fixture
def migrated_app():
    name = unique_name("pn_plans")
    app = create_app({**CONFIG, "DATABASE_URL": create_database(name)})
    try:
        with app.app_context():
            upgrade(revision="heads")
            yield app
            db.session.remove()
            db.engine.dispose()
    finally:
        drop_database(name)


def test_a_rollback_of_0012_turns_plan_runs_back_into_history_rows(migrated_app):
    seed(migrated_app)
    ids = db.session.scalars(select(Notification.id)).all()
    runs = db.session.scalars(select(Notification.id).where(
        Notification.plan_run_id.is_not(None))).all()
    assert runs, "the seed planned a reminder"
    before = _lines(ids)
    assert all(before[i][0][:2] == (None, "planned") for i in runs)
    db.session.remove()

    downgrade(revision="0011")
    assert _event_lines() == before  # every line, the plan's among them, now an event
    db.session.remove()

    upgrade(revision="heads")
    assert _lines(ids) == before
    assert db.session.scalar(text("SELECT count(*) FROM plan_runs")) == 0


def test_an_appointment_or_patient_with_notifications_cannot_be_deleted(app):
    """What the foreign keys on notifications guarded, without their per-row lock."""
    ny = clinic("L-NY", "America/New_York")
    reminded = booking(ny, patient("sms"), date(2026, 11, 1))
    alone = booking(ny, patient("sms"), date(2026, 11, 2))  # its day is not planned yet
    db.session.commit()
    plan(NOW)
    db.session.commit()
    for statement in (f"DELETE FROM appointments WHERE id = {reminded.id}",
                      f"DELETE FROM patients WHERE id = {reminded.patient_id}",
                      f"UPDATE appointments SET id = id + 1000 WHERE id = {reminded.id}"):
        with pytest.raises(IntegrityError, match="still has notifications"):
            db.session.execute(text(statement))
        db.session.rollback()
    db.session.execute(text(f"UPDATE appointments SET revision = 1 WHERE id = {reminded.id}"))
    db.session.execute(text(f"DELETE FROM appointments WHERE id = {alone.id}"))
    db.session.commit()
    assert db.session.get(Notification, db.session.scalars(select(Notification.id)).one()) \
        .appointment.id == reminded.id
