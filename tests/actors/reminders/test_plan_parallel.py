"""Groups planned on parallel connections: the same rows, send times, plan runs and alerts
as one group after the other; a crash between groups leaves whole groups, and the next
plan plans only the rest; a dry run, or a caller that wrote something, stays serial."""
from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import select, text

from actors.reminders import candidates
from actors.reminders import plan as planning
from actors.reminders.plan import plan
from db import Alert, ClinicSettings, Notification, PlanRun, db
from tests import services
from tests.actors.reminders.support import booking, clinic, engine_events, patient

# Three zones on the same UTC offset: their windows open at the same instant, so each
# group's sends must start after the ones the groups before it planned (the shared rate).
ZONES = ("America/Detroit", "America/New_York", "America/Toronto")
DAY = date(2026, 12, 1)       # the sending day, planned by hand
TARGET = date(2026, 12, 4)    # its appointments
NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # before every window


@pytest.fixture
def app(make_app):
    # 12 s of SMS per group at 1/s, 30 s usable in the window: the last group overflows.
    app = make_app(SMS_RATE_PER_SECOND=1.0, EMAIL_RATE_PER_SECOND=2.0,
                   REMINDER_WINDOW="09:00-09:01", RETRY_HEADROOM=0.5, REMINDER_DAYS_BEFORE=3)
    with app.app_context():
        yield app


def _world():
    for n, zone in enumerate(ZONES):
        for suffix in ("a", "b"):
            loc = clinic(f"L-{n}{suffix}", zone)
            for minute in range(5):
                booking(loc, patient("sms"), TARGET, time(10, minute))
            booking(loc, patient("both"), TARGET, time(11, 0))
            booking(loc, patient("email"), TARGET, time(9, 0))
            booking(loc, patient("sms", sms_opted_out=True), TARGET)
            booking(loc, patient("sms"), TARGET, status="cancelled")
    # A clinic with its own window is a group of its own in a zone already planned.
    own = clinic("L-own", ZONES[0])
    db.session.add(ClinicSettings(location_id=own.id, reminder_window="09:00-09:02"))
    for minute in range(3):
        booking(own, patient("both"), TARGET, time(13, minute))
    db.session.commit()


def _outcome():
    db.session.expire_all()
    rows = db.session.execute(select(
        Notification.appointment_id, Notification.channel, Notification.status,
        Notification.reason, Notification.dedupe_key, Notification.due_at,
        Notification.deadline_at, PlanRun.location_id, PlanRun.local_date, PlanRun.count,
        PlanRun.source).outerjoin(PlanRun, PlanRun.id == Notification.plan_run_id)).all()
    alerts = db.session.execute(select(Alert.key, Alert.count, Alert.summary)).all()
    runs = db.session.execute(select(PlanRun.location_id, PlanRun.local_date, PlanRun.count)).all()
    return sorted(rows), sorted(alerts), sorted(runs)


def _forget_the_plan():
    # TRUNCATE: the history tables refuse DELETE row by row (they are append-only).
    db.session.execute(text("TRUNCATE notifications, notification_events, plan_runs, alerts CASCADE"))
    db.session.commit()


def test_parallel_plan_gives_what_a_serial_plan_gives(app):
    _world()
    serial = plan(NOW, day=DAY, connections=1)
    db.session.commit()
    expected = _outcome()
    _forget_the_plan()
    parallel = plan(NOW, day=DAY, connections=2)
    # Each group committed on its own connection: the caller's rollback undoes nothing.
    db.session.rollback()
    assert _outcome() == expected
    assert dict(parallel.counts) == dict(serial.counts)
    assert sorted(parallel.overflows) == sorted(serial.overflows)
    rows, alerts, runs = expected
    # What the comparison is worth: groups chained on the shared rate, alerts raised.
    assert len(runs) == 7 and [key for key, _, _ in alerts] == [
        f"reminder-overflow:{DAY}:{ZONES[2]}:sms"]  # the last group's sends run too late
    sms = [row.due_at for row in rows if (row.channel, row.status) == ("sms", "planned")]
    assert len(sms) == 3 * 2 * 6 + 3 and len(set(sms)) == len(sms)  # a slot each, shared


def test_the_first_groups_count_is_as_of_before_its_own_write_however_late_it_runs(
        app, monkeypatch):
    # The first group is written while it is counted. A count that only runs once that
    # write has committed must still count what the write planned: the next group's sends
    # follow it (found counting nothing, they shared the first group's send slots).
    _world()
    serial = plan(NOW, day=DAY, connections=1)
    db.session.commit()
    expected = _outcome()
    _forget_the_plan()
    real, first = candidates.candidate_counts, []

    def after_the_write(location_ids, *args, **kwargs):
        if not first:
            first.append(location_ids)
            watcher = services.pg_connect(app.config["DATABASE_URL"])
            watcher.autocommit = True
            with watcher.cursor() as cursor:
                def written():
                    cursor.execute("SELECT count(*) FROM plan_runs WHERE location_id = ANY(%s)",
                                   (list(location_ids),))
                    return cursor.fetchone()[0]
                services.wait_until(written, timeout=30, what="the first group's write")
            watcher.close()
        return real(location_ids, *args, **kwargs)

    monkeypatch.setattr(candidates, "candidate_counts", after_the_write)
    parallel = plan(NOW, day=DAY, connections=2)
    db.session.rollback()
    assert first and _outcome() == expected
    assert dict(parallel.counts) == dict(serial.counts)


def test_a_crash_between_groups_leaves_whole_groups_and_the_next_plan_plans_the_rest(
        app, monkeypatch):
    _world()
    plan(NOW, day=DAY, connections=1)
    db.session.commit()
    everything = _outcome()[0]
    _forget_the_plan()

    real = planning.plan_group

    def dies_in_toronto(group, *args, **kwargs):
        outcome = real(group, *args, **kwargs)  # written, then the process dies uncommitted
        if group.zone == ZONES[2]:
            raise RuntimeError("killed")
        return outcome

    monkeypatch.setattr(planning, "plan_group", dies_in_toronto)
    with pytest.raises(RuntimeError):
        plan(NOW, day=DAY, connections=2)
    db.session.rollback()
    rows, _, runs = _outcome()
    toronto = {loc for loc, in db.session.execute(
        text("SELECT id FROM locations WHERE timezone = :z"), {"z": ZONES[2]})}
    assert runs and {loc for loc, _, _ in runs}.isdisjoint(toronto)
    before = {row[:5]: row for row in rows}

    monkeypatch.setattr(planning, "plan_group", real)
    again = plan(NOW, day=DAY, connections=2)
    db.session.commit()
    rows, alerts, runs = _outcome()
    # Every row once, the committed groups' rows untouched, one run per clinic and day.
    assert [row[:5] for row in rows] == [row[:5] for row in everything]
    assert all(before[row[:5]] == row for row in rows if row[:5] in before)
    assert len(runs) == len({(loc, day) for loc, day, _ in runs}) == 7
    # Only Toronto was planned again, and its overflow alert still fires.
    assert {tz for tz, _, _ in again.counts} == {ZONES[2]}
    assert any(key.endswith(f":{ZONES[2]}:sms") for key, _, _ in alerts)


def test_a_dry_run_over_several_groups_writes_nothing(app):
    _world()
    result = plan(NOW, day=DAY, dry_run=True)
    db.session.rollback()
    assert db.session.scalar(select(Notification.id).limit(1)) is None
    assert db.session.scalar(select(PlanRun.id).limit(1)) is None
    assert len({row["location_id"] for row in result.rows}) == 7


def test_a_caller_that_wrote_something_plans_in_its_own_transaction(app):
    _world()
    loc = clinic("L-new", ZONES[1])  # flushed, not committed: other connections cannot see it
    booking(loc, patient("sms"), TARGET)
    db.session.flush()
    result = plan(NOW, day=DAY)
    assert result.counts[(ZONES[1], "sms", "planned")] == 2 * 6 + 1
    db.session.rollback()
    assert db.session.scalar(select(Notification.id).limit(1)) is None


def test_a_pool_without_spare_connections_plans_serially(make_app):
    # Pool of 1 and no overflow: the caller's session holds the only connection.
    app = make_app(DATABASE_POOL_SIZE=1, DATABASE_MAX_OVERFLOW=0, REMINDER_DAYS_BEFORE=3)
    with app.app_context():
        _world()
        result = plan(NOW, day=DAY)
        db.session.rollback()  # a serial plan is the caller's: it rolls back with it
        assert result.total() > 0
        assert db.session.scalar(select(Notification.id).limit(1)) is None


def _statements_of(work) -> list[str]:
    return [statement for _, _, statement, *_ in engine_events("before_cursor_execute", work)]


def _counts(statements) -> list[str]:
    """A group's candidates counted (not its day's bookings counted per clinic, for parts)."""
    return [s for s in statements
            if "count(*)" in s and "channels" in s and "INSERT" not in s]


def test_a_days_first_parallel_plan_counts_every_group_but_the_last(app):
    # A count only places the groups after it (and skips a group planned before): the last
    # group of a day's first plan is written without one, its send times as a serial
    # plan gives them (test_parallel_plan_gives_what_a_serial_plan_gives).
    _world()
    statements = _statements_of(lambda: plan(NOW, day=DAY, connections=2))
    assert len(_counts(statements)) == len(ZONES)  # four groups: L-own is one of its own
    assert len([s for s in statements if "INSERT INTO plan_runs" in s]) == len(ZONES) + 1


def test_a_repeated_parallel_plan_runs_no_group_statement(app):
    # Every minute of the window ticks again: each group is counted, finds nothing new,
    # and is skipped, the first one too (its day has plan runs, so it is counted first).
    _world()
    plan(NOW, day=DAY, connections=2)
    results = []
    statements = _statements_of(lambda: results.append(plan(NOW, day=DAY, connections=2)))
    assert results[0].total() == 0
    # A group's statement is the one that writes plan runs (the days already passed are
    # looked at for late bookings either way: their statements write no run).
    assert not [s for s in statements if "INSERT INTO plan_runs" in s]
    assert len(_counts(statements)) == len(ZONES) + 1  # one per group, the last one too
