"""Planning across time zones: exactly the right appointments, once per chosen channel."""
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select, text

from actors.reminders.candidates import candidates, keys_sort_by_bytes, late_bookings
from actors.reminders.plan import SKIP_REASON, plan
from actors.reminders.tuning import tune_transaction
from db import Alert, Notification, NotificationEvent, PlanRun, db
from db.creation import DEDUPE_KEY
from tests.actors.reminders.support import booking, clinic, patient

NY, LONDON, KOLKATA = "America/New_York", "Europe/London", "Asia/Kolkata"
# Thursday 29 October 2026: London is back on GMT (25 Oct), New York still on EDT until
# Sunday 1 November, the day its reminders are for. Kolkata runs at +05:30 all year.
TODAY = date(2026, 10, 29)
TARGET = date(2026, 11, 1)


def reminders():
    return {(n.appointment_id, n.channel): n for n in db.session.execute(
        select(Notification).where(Notification.kind == "reminder")).scalars()}


def _world():
    """Each clinic gets the same cast of patients and appointments."""
    world = {}
    for tz in (NY, LONDON, KOLKATA):
        loc = clinic(f"L-{tz}", tz)
        cast = {
            "sms": booking(loc, patient("sms"), TARGET),
            "email": booking(loc, patient("email"), TARGET, time(9, 0)),
            "both": booking(loc, patient("both", language="es"), TARGET, time(16, 45)),
            "opted_out": booking(loc, patient("sms", sms_opted_out=True), TARGET),
            "no_phone": booking(loc, patient("sms", phone=None), TARGET),
            "no_email": booking(loc, patient("email", email=None), TARGET),
            "cancelled": booking(loc, patient("sms"), TARGET, status="cancelled"),
            "later": booking(loc, patient("sms"), TARGET + timedelta(days=1)),
            # Booked upstream after its reminder day's window closed, and first seen here
            # after it too: nobody missed it, so it is skipped, not counted as missed.
            "late_booking": booking(loc, patient("sms"), TARGET - timedelta(days=1),
                                    booked_at=datetime(2026, 10, 29, tzinfo=UTC)),
        }
        world[tz] = (loc, cast)
    db.session.commit()
    return world


def test_only_open_windows_plan_and_each_channel_once(app):
    world = _world()
    # 05:00 UTC: Kolkata 10:30 (open); London 05:00 and New York 01:00 (closed).
    result = plan(datetime(2026, 10, 29, 5, 0, tzinfo=UTC))
    db.session.commit()
    assert set(result.windows) == {KOLKATA}
    rows = reminders()
    assert {n.appointment.location.timezone for n in rows.values()} == {KOLKATA}

    # 11:30 UTC is 11:30 GMT in London (open) but would be 12:30 had BST been kept.
    plan(datetime(2026, 10, 29, 11, 30, tzinfo=UTC))
    # 13:30 UTC is 09:30 EDT in New York (open); on EST it would still be 08:30.
    plan(datetime(2026, 10, 29, 13, 30, tzinfo=UTC))
    db.session.commit()
    rows = reminders()
    for _, cast in world.values():
        def status(name, channel, cast=cast):
            row = rows.get((cast[name].id, channel))
            return row and (row.status, row.reason)

        assert status("sms", "sms") == ("planned", None)
        assert status("sms", "email") is None
        assert status("email", "email") == ("planned", None)
        assert status("both", "sms") == ("planned", None)
        assert status("both", "email") == ("planned", None)
        assert status("opted_out", "sms") == ("suppressed", "patient opted out of SMS")
        assert status("no_phone", "sms") == ("suppressed", "no mobile number")
        assert status("no_email", "email") == ("suppressed", "no e-mail address")
        assert status("cancelled", "sms") == ("cancelled", "appointment cancelled")
        assert status("later", "sms") is None                      # its day comes tomorrow
        assert status("late_booking", "sms") == ("skipped", SKIP_REASON)
        late = cast["late_booking"]
        assert rows[(late.id, "sms")].dedupe_key == \
            f"reminder:{late.id}:{TARGET - timedelta(days=1)}:sms"  # its own day's key
        planned = rows[(cast["sms"].id, "sms")]
        assert planned.dedupe_key == f"reminder:{cast['sms'].id}:{TARGET}:sms"
    # Exactly: 9 appointments' channels per clinic x 3 clinics, no more.
    assert len(rows) == 3 * 9

    # Deadlines are each clinic's local noon on the sending day, in UTC.
    deadline = {tz: rows[(cast["sms"].id, "sms")].deadline_at for tz, (_, cast) in world.items()}
    assert deadline == {KOLKATA: datetime(2026, 10, 29, 6, 30, tzinfo=UTC),
                        LONDON: datetime(2026, 10, 29, 12, 0, tzinfo=UTC),
                        NY: datetime(2026, 10, 29, 16, 0, tzinfo=UTC)}
    # Every row's history starts with its creation: a planned reminder's line is its plan
    # run's, the others (suppressed, cancelled, skipped, each with its reason) an event.
    for n in rows.values():
        first = n.events[0]
        assert (first.from_status, first.to_status, first.source) == (None, n.status, "plan")
        assert first.detail == n.reason
        assert len(n.events) == 1
    planned = [n for n in rows.values() if n.status == "planned"]
    assert db.session.scalar(select(func.count()).select_from(NotificationEvent)) == \
        len(rows) - len(planned)
    # One plan run per clinic and local day, counting the reminders it planned.
    runs = db.session.execute(select(PlanRun.location_id, PlanRun.local_date, PlanRun.count,
                                     PlanRun.source)).all()
    assert sorted(runs) == sorted((loc.id, TARGET, 4, "plan") for loc, _ in world.values())
    assert all(n.plan_run_id is not None for n in planned)


def test_doubled_and_repeated_ticks_change_nothing(app):
    _world()
    for minute in (30, 30, 31, 59):
        plan(datetime(2026, 10, 29, 13, minute, tzinfo=UTC))
        db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 9
    # The first tick planned New York's day: one run; the others found nothing new to plan.
    assert db.session.execute(select(PlanRun.count)).scalars().all() == [4]
    # A scheduler restarted late in the window still plans the day it missed.
    plan(datetime(2026, 10, 29, 15, 40, tzinfo=UTC))  # 11:40 in New York
    plan(datetime(2026, 10, 29, 16, 0, tzinfo=UTC))   # the window has closed
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 9


def test_late_start_plans_from_now_and_sends_are_spread_at_the_rate(make_app):
    app = make_app(SMS_RATE_PER_SECOND=2.0, EMAIL_RATE_PER_SECOND=1.0)
    with app.app_context():
        loc = clinic("L-1", LONDON)
        for _ in range(5):
            booking(loc, patient("both"), TARGET)
        db.session.commit()
        now = datetime(2026, 10, 29, 10, 40, 0, tzinfo=UTC)
        plan(now)
        db.session.commit()
        due = {}
        for n in reminders().values():
            due.setdefault(n.channel, []).append((n.due_at - now).total_seconds())
        assert sorted(due["sms"]) == [0, 0.5, 1.0, 1.5, 2.0]
        assert sorted(due["email"]) == [0, 1, 2, 3, 4]


def test_send_slots_follow_appointment_time_and_only_planned_rows_take_one(make_app):
    # Booked out of time order, with rows that are not planned in between: an SMS opt-out,
    # a cancelled appointment, a patient with no e-mail. Each channel's planned reminders
    # are spaced at its rate in the order of their appointments, without gaps.
    app = make_app(SMS_RATE_PER_SECOND=1.0, EMAIL_RATE_PER_SECOND=1.0)
    with app.app_context():
        loc = clinic("L-1", LONDON)
        cast = [(time(15, 0), patient("both")), (time(9, 0), patient("sms", sms_opted_out=True)),
                (time(11, 0), patient("both", email=None)), (time(8, 0), patient("email")),
                (time(10, 0), patient("sms")), (time(12, 0), patient("both"))]
        booked = {at: booking(loc, person, TARGET, at) for at, person in cast}
        booking(loc, patient("both"), TARGET, time(9, 30), status="cancelled")
        db.session.commit()
        now = datetime(2026, 10, 29, 10, 0, tzinfo=UTC)
        plan(now)
        db.session.commit()
        rows = reminders()
        order = {channel: [at for at, appointment in sorted(booked.items())
                           if rows.get((appointment.id, channel)) is not None
                           and rows[(appointment.id, channel)].status == "planned"]
                 for channel in ("sms", "email")}
        assert order == {"sms": [time(10, 0), time(11, 0), time(12, 0), time(15, 0)],
                         "email": [time(8, 0), time(12, 0), time(15, 0)]}
        for channel, times in order.items():
            sends = [(rows[(booked[at].id, channel)].due_at - now).total_seconds()
                     for at in times]
            assert sends == list(range(len(times)))


def test_a_batch_that_cannot_fit_alerts_when_planned(make_app):
    # 40 SMS at 1/s need 40 s; a 1-minute window keeping half for retries leaves 30 s.
    app = make_app(SMS_RATE_PER_SECOND=1.0, REMINDER_WINDOW="09:00-09:01", RETRY_HEADROOM=0.5)
    with app.app_context():
        loc = clinic("L-1", LONDON)
        for _ in range(40):
            booking(loc, patient("sms"), TARGET)
        db.session.commit()
        result = plan(datetime(2026, 10, 29, 9, 0, tzinfo=UTC))
        db.session.commit()
        alert = db.session.execute(select(Alert)).scalar_one()
        assert alert.key == f"reminder-overflow:{TODAY}:{LONDON}:sms"
        assert result.overflows == [alert.key]
        assert "40 sms reminders" in alert.summary


def test_a_batch_that_fits_raises_nothing(make_app):
    app = make_app(SMS_RATE_PER_SECOND=1.0, REMINDER_WINDOW="09:00-09:01", RETRY_HEADROOM=0.5)
    with app.app_context():
        loc = clinic("L-1", LONDON)
        for _ in range(30):
            booking(loc, patient("sms"), TARGET)
        db.session.commit()
        plan(datetime(2026, 10, 29, 9, 0, tzinfo=UTC))
        db.session.commit()
        assert db.session.execute(select(Alert)).first() is None


def test_dry_run_lists_and_writes_nothing(app):
    world = _world()
    result = plan(datetime(2026, 10, 29, 13, 30, tzinfo=UTC), dry_run=True)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0
    assert len(result.rows) == 9
    assert {row["location_id"] for row in result.rows} == {world[NY][0].id}


def test_the_check_for_an_existing_reminder_is_an_index_lookup_even_when_none_exist(app):
    # A new deployment's first day: statistics say `notifications` is empty, and the planner
    # would scan it per candidate; while another connection fills it, that is minutes.
    world = _world()
    db.session.commit()
    db.session.execute(text("ANALYZE notifications"))
    tune_transaction()
    explained = _explain_candidates([loc.id for loc, _ in world.values()], TARGET)
    assert DEDUPE_KEY in explained
    assert "Seq Scan on notifications" not in explained
    # Nor the whole index read again for every candidate, its keys compared in a join
    # filter: the probe names the candidate's appointment.
    lines = explained.splitlines()
    probe = next(n for n, line in enumerate(lines) if DEDUPE_KEY in line)
    assert "Index Cond: ((appointment_id = appointments.id)" in lines[probe + 1], explained


def test_the_bookings_too_late_for_their_day_are_looked_up_not_read_from_the_whole_day(app):
    # Every plan looks at each day between today and the day it plans for the bookings
    # first seen after that day's reminder window closed. Those are few; the day's other
    # appointments (here 5,000, seen a month ago) must not be read to find them.
    loc = clinic("L-busy", NY)
    db.session.commit()
    _sms_patients(5000)
    db.session.execute(text("""
        INSERT INTO appointments (external_id, patient_id, location_id, status, starts_at,
                                  local_date, source_updated_at, revision, created_at,
                                  updated_at)
        SELECT 'A-' || p.id, p.id, :loc, 'booked', :day + time '10:00', :day,
               :seen, 0, :seen, :seen
        FROM patients p"""), {"loc": loc.id, "day": TODAY, "seen": TODAY - timedelta(days=30)})
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    tune_transaction()
    # Today's and the next two days' reminder windows, closed three to one days ago.
    closed = {TODAY + timedelta(days=n): datetime(2026, 10, 26 + n, 16, 0, tzinfo=UTC)
              for n in range(3)}
    explained = _explain(late_bookings([loc.id], closed, datetime.now(UTC),
                                       byte_order=keys_sort_by_bytes()))
    conditions = [line for line in explained.splitlines() if "Index Cond" in line
                  and "location_id" in line]
    assert len(conditions) == 3, explained  # one statement, each day its own index range
    assert all("created_at >=" in line for line in conditions), explained


def _sms_patients(count: int) -> None:
    """``count`` SMS patients, ids 1..count, written by one statement."""
    db.session.execute(text("""
        INSERT INTO patients (external_id, given_name, family_name, phone, email,
                              preferred_channel, language, sms_opted_out, email_opted_out,
                              email_undeliverable, created_at, updated_at)
        SELECT 'P-' || i, 'Pat', 'Ient', '+1312' || (2000000 + i), 'p' || i || '@example.org',
               'sms', 'en', false, false, false, now(), now()
        FROM generate_series(1, :count) AS i"""), {"count": count})


def _explain_candidates(location_ids, day) -> str:
    return _explain(candidates(location_ids, day, datetime.now(UTC),
                               byte_order=keys_sort_by_bytes()))


def _explain(query) -> str:
    compiled = query.compile(dialect=db.engine.dialect,
                             compile_kwargs={"render_postcompile": True})
    return "\n".join(row[0] for row in db.session.connection().exec_driver_sql(
        "EXPLAIN " + str(compiled), compiled.params))


def test_a_day_reads_its_patients_by_key_not_the_whole_patient_list(app):
    # 20,000 patients, a quarter of them booked on the day: the planner would read every
    # patient and hash the day against them, a cost that grows with the patient list.
    loc = clinic("L-big", NY)
    db.session.commit()
    _sms_patients(20000)
    db.session.execute(text("""
        INSERT INTO appointments (external_id, patient_id, location_id, status, starts_at,
                                  local_date, source_updated_at, revision, created_at,
                                  updated_at)
        SELECT 'A-' || p.id, p.id, :loc, 'booked', now(), :day, now(), 0, now(), now()
        FROM patients p WHERE p.id % 4 = 0"""), {"loc": loc.id, "day": TARGET})
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    tune_transaction()
    explained = _explain_candidates([loc.id], TARGET)
    assert "Index Scan using pk_patients on patients" in explained
    assert "Hash Join" not in explained and "Merge Join" not in explained
