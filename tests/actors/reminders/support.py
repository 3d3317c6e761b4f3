"""Clinics, patients and appointments for the reminder tests, written straight to the rows."""
from datetime import UTC, date, datetime, time, timedelta
from itertools import count
from zoneinfo import ZoneInfo

from sqlalchemy import event, select

from db import Appointment, Location, Notification, Patient, db, utcnow

_numbers = count(1)


def clinic(external_id: str, tz: str) -> Location:
    location = Location(external_id=external_id, name=f"Clinic {external_id}",
                        address="1 Main St, Springfield", phone="+13125550123", timezone=tz)
    db.session.add(location)
    db.session.flush()
    return location


def patient(preferred: str = "sms", *, phone: str | None = "auto", email: str | None = "auto",
            language: str = "en", **flags) -> Patient:
    n = next(_numbers)
    person = Patient(external_id=f"P-{n}", given_name="Ada", family_name="Lovelace",
                     phone=f"+1312555{n % 10000:04d}" if phone == "auto" else phone,
                     email=f"patient{n}@example.org" if email == "auto" else email,
                     preferred_channel=preferred, language=language, **flags)
    db.session.add(person)
    db.session.flush()
    return person


def booking(location: Location, person: Patient, day: date, at: time = time(10, 30),
            status: str = "booked", booked_at: datetime | None = None) -> Appointment:
    """An appointment; ``booked_at`` is when upstream last touched it (default: January)."""
    local = datetime.combine(day, at, tzinfo=ZoneInfo(location.timezone))
    appointment = Appointment(external_id=f"A-{next(_numbers)}", patient_id=person.id,
                              location_id=location.id, status=status,
                              starts_at=local.astimezone(UTC), local_date=day,
                              source_updated_at=booked_at or datetime(2026, 1, 1, tzinfo=UTC),
                              revision=0)
    db.session.add(appointment)
    db.session.flush()
    return appointment


def midday_zone(now: datetime) -> str:
    """A fixed-offset zone where ``now`` is within half an hour of noon: real sends need a real
    open window. Rounded, not truncated: a module that takes ``now`` at collection runs its
    tests minutes later, and 12:59 there had become 13:00, the end of a 10:00-14:00 window's
    sending time once the retry headroom is kept (a reminder-overflow alert nobody planned)."""
    utc = now.astimezone(UTC)
    offset = round(12 - utc.hour - utc.minute / 60)  # -12 (Etc/GMT+12) to +12, all real zones
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc signs are inverted


def open_window_config(now: datetime) -> dict:
    """Settings whose window is open at ``now`` (10:00-14:00 around the midday zone)."""
    return {"REMINDER_WINDOW": "10:00-14:00"}


def today_in(tz: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(tz)).date()


def days(n: int) -> timedelta:
    return timedelta(days=n)


def planned_due_now(count: int, channel: str) -> list[int]:
    """``count`` reminders on ``channel`` planned in an open window and due now (one clinic
    in the midday zone, one patient each); their ids in due order. Needs
    ``open_window_config`` and a send rate that fits them in a minute."""
    from actors.reminders.plan import plan  # the tests' support, not the planner's
    now = utcnow()
    zone = midday_zone(now)
    location = clinic("L-1", zone)
    day = today_in(zone, now) + days(3)
    for n in range(count):
        booking(location, patient(channel), day, time(9 + n % 8, (n * 7) % 60))
    db.session.commit()
    plan(now - timedelta(minutes=1))
    db.session.commit()
    return list(db.session.scalars(select(Notification.id)
                                   .order_by(Notification.due_at, Notification.id)))


def engine_events(name: str, work) -> list:
    """What the engine's ``name`` event saw while ``work()`` ran: each call's arguments."""
    seen = []

    def record(*args):
        seen.append(args)

    event.listen(db.engine, name, record)
    try:
        work()
    finally:
        event.remove(db.engine, name, record)
    return seen
