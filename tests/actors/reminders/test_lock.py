"""Two planners of the same clinics at once: the second waits for the first's commit, then
finds every key taken and writes nothing, without an error; planners of other clinics do
not wait."""
import threading
from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import func, select, text

from actors.reminders.plan import plan
from db import Notification, PlanRun, db
from tests import services
from tests.actors.reminders.support import booking, clinic, patient

DAY = date(2026, 12, 1)       # the sending day, planned by hand
TARGET = date(2026, 12, 4)    # its appointments
NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


@pytest.fixture
def app(make_app):
    app = make_app(REMINDER_DAYS_BEFORE=3)
    with app.app_context():
        yield app


def _clinic_with_bookings(name: str) -> int:
    location = clinic(name, "America/New_York")
    for minute in range(4):
        booking(location, patient("both"), TARGET, time(10, minute))
    db.session.commit()
    return location.id


def _waiting_on_a_planning_lock() -> int:
    with db.engine.connect() as connection:
        return connection.scalar(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"))


def _plan_in_thread(app, location_ids, outcome: dict) -> threading.Thread:
    def work():
        with app.app_context():
            try:
                outcome["result"] = plan(NOW, day=DAY, location_ids=location_ids)
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - the assertion reports it
                outcome["error"] = error
            finally:
                db.session.remove()
    thread = threading.Thread(target=work)
    thread.start()
    return thread


def test_a_second_planner_of_the_same_clinic_waits_then_writes_nothing(app):
    location = _clinic_with_bookings("L-1")
    first = plan(NOW, day=DAY, location_ids=[location])   # not committed yet: holds the lock
    assert first.total() == 8
    second: dict = {}
    thread = _plan_in_thread(app, [location], second)
    try:
        services.wait_until(lambda: _waiting_on_a_planning_lock() == 1, timeout=10,
                            interval=0.02, what="the second planner to wait for the first")
    finally:
        db.session.commit()
        thread.join(timeout=30)
    assert "error" not in second, second.get("error")
    assert second["result"].total() == 0
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 8
    assert db.session.scalars(select(PlanRun.count)).all() == [8]


def test_planners_of_different_clinics_do_not_wait_for_each_other(app):
    mine, theirs = _clinic_with_bookings("L-1"), _clinic_with_bookings("L-2")
    plan(NOW, day=DAY, location_ids=[mine])                 # holds L-1's lock only
    other: dict = {}
    thread = _plan_in_thread(app, [theirs], other)
    thread.join(timeout=30)
    assert not thread.is_alive(), "a planner of another clinic waited"
    assert "error" not in other, other.get("error")
    assert other["result"].total() == 8
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 16
