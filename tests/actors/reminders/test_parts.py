"""A big day's group in parts when too few groups are big: one part per connection, whole
clinics of about equal size, so that a single zone plans in parallel, with the send times
and the one overflow alert a serial plan gives."""
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select, text

from actors.reminders import parts
from actors.reminders.plan import Group, plan
from actors.reminders.window import window_on
from db import Alert, Notification, PlanRun, db
from tests.actors.reminders.support import booking, clinic, patient

ZONE = "America/Chicago"      # a single-zone service: every clinic is one group
DAY = date(2026, 12, 1)       # the sending day, planned by hand
TARGET = date(2026, 12, 4)    # its appointments
NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # before the window


@pytest.fixture
def app(make_app, monkeypatch):
    # A group of more than 10 appointments is big; 30 s of SMS at 1/s fit in the window.
    monkeypatch.setattr(parts, "APPOINTMENTS", 10)
    app = make_app(SMS_RATE_PER_SECOND=1.0, EMAIL_RATE_PER_SECOND=2.0,
                   REMINDER_WINDOW="09:00-09:01", RETRY_HEADROOM=0.5, REMINDER_DAYS_BEFORE=3)
    with app.app_context():
        yield app


def _clinics(*booked: int, prefix: str = "L") -> list[int]:
    ids = []
    for n, count in enumerate(booked):
        loc = clinic(f"{prefix}-{n}", ZONE)
        for minute in range(count):
            booking(loc, patient("sms"), TARGET, time(10, minute))
        ids.append(loc.id)
    db.session.commit()
    return ids


def _group(ids):
    return Group(ZONE, ZONE, "09:00-09:01", timedelta(days=3), tuple(ids),
                 window_on(DAY, ZONE, "09:00-09:01"))


def test_a_big_group_alone_is_split_in_one_part_per_connection_by_whole_clinics(app):
    small = _clinics(4, 6)
    assert parts.in_parts([_group(small)], 2) == [_group(small)]  # 10: not big
    db.session.execute(text("TRUNCATE appointments, patients, locations CASCADE"))
    db.session.commit()
    # 25 appointments: two parts of about 12, in clinic order, never a clinic cut in two;
    # a clinic with nothing booked past the last part's end joins it.
    ids = _clinics(3, 3, 3, 3, 3, 3, 3, 4, 0)
    split = parts.in_parts([_group(ids)], 2)
    assert [clinic for part in split for clinic in part.ids] == ids
    assert [len(part.ids) for part in split] == [4, 5]
    assert [part.part for part in split] == ["1 of 2", "2 of 2"]
    assert parts.in_parts([_group(ids)], 1) == [_group(ids)]  # one connection: no use


def test_enough_big_groups_for_the_connections_are_not_split(app):
    east, west = _clinics(12, 0, prefix="E"), _clinics(0, 12, prefix="W")
    groups = [_group(east), replace(_group(west), tz="America/Denver", zone="America/Denver")]
    assert parts.in_parts(groups, 2) == groups


def _outcome():
    db.session.expire_all()
    rows = db.session.execute(select(
        Notification.appointment_id, Notification.channel, Notification.status,
        Notification.due_at, PlanRun.location_id, PlanRun.count)
        .outerjoin(PlanRun, PlanRun.id == Notification.plan_run_id)).all()
    alerts = db.session.execute(select(Alert.key, Alert.count)).all()
    return sorted(rows), sorted(alerts)


def test_a_single_zone_in_parts_plans_in_parallel_as_a_serial_plan_would(app):
    _clinics(8, 8, 8, 8, 8)  # 40 SMS at 1/s in two parts: 30 fit, the second overflows
    serial = plan(NOW, day=DAY, connections=1)
    db.session.commit()
    expected = _outcome()
    db.session.execute(text("TRUNCATE notifications, notification_events, plan_runs, alerts "
                            "CASCADE"))
    db.session.commit()

    parallel = plan(NOW, day=DAY, connections=2)
    db.session.rollback()  # every part committed on its own connection: nothing undone
    assert _outcome() == expected
    assert dict(parallel.counts) == dict(serial.counts) == {(ZONE, "sms", "planned"): 40}
    rows, alerts = expected
    # The planned send slots (what the plan wrote, not a duration measured): slot n of the
    # 1/s rate is n seconds after the window's start, and the second part's follow the first's.
    start = window_on(DAY, ZONE, "09:00-09:01").start
    slots = sorted((row.due_at - start) / timedelta(seconds=1) for row in rows)
    assert slots == list(range(40))
    # One alert for the zone, counted by every part that overflows, raised once per plan.
    assert [key for key, _ in alerts] == [f"reminder-overflow:{DAY}:{ZONE}:sms"]
    assert parallel.overflows == serial.overflows == [alerts[0][0]]
    assert db.session.scalar(select(func.count()).select_from(PlanRun)) == 5
