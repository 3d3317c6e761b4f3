"""Live counts from the notifications themselves, per clinic-local day, location, channel, kind.

Everything is set-based in PostgreSQL: the clinic-local date of each notification's
``due_at`` is computed in its location's time zone, and the rows come back already grouped
by everything ``tally.classify`` needs, so a month of 8,000 reminders a day is a few
thousand groups, not a quarter of a million rows.
"""
from collections import defaultdict
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import Date, and_, cast, func, not_, or_, select

from actors.accounting.tally import Tally, classify
from actors.clinic_settings import days_before_sql, window_end_minutes_sql
from actors.reminders.plan import (
    CHANNEL,
    chosen_channels,
    no_reminder_yet,
    reminder_key_sql,
    unreachable_rules,
)
from db import Appointment, Location, Notification, db
from db.clinic_settings import ClinicSettings
from db.statuses import PROVIDERS_WITH_RECEIPTS

#: A slice of the ledger: (clinic-local date, location id, channel, kind).
Key = tuple[date, int, str, str]


def _local_date(timestamp, zone):
    return cast(func.timezone(zone, timestamp), Date)


def _settings() -> tuple[int, timedelta]:
    config = current_app.config
    return config["REMINDER_DAYS_BEFORE"], timedelta(hours=config["RECEIPT_TIMEOUT_HOURS"])


def _days_before_range() -> tuple[int, int]:
    """The fewest and most days before any clinic reminds on (the global one included)."""
    default = current_app.config["REMINDER_DAYS_BEFORE"]
    low, high = db.session.execute(select(
        func.min(ClinicSettings.reminder_days_before),
        func.max(ClinicSettings.reminder_days_before))).one()
    return min(default, low if low is not None else default), max(
        default, high if high is not None else default)


def count_notifications(first: date, last: date, now: datetime, *,
                        location_ids=None) -> dict[Key, Tally]:
    """Tallies of the notifications due on clinic-local days ``first``..``last``."""
    _, receipt_timeout = _settings()
    n, a, loc = Notification, Appointment, Location
    day = _local_date(n.due_at, loc.timezone).label("day")
    receipts = n.provider.in_(sorted(PROVIDERS_WITH_RECEIPTS))
    overdue = and_(n.sent_at.is_not(None), n.sent_at <= now - receipt_timeout)
    passed = and_(n.deadline_at.is_not(None), n.deadline_at <= now)
    # A day in any time zone lies within a day and a half of the same UTC date.
    since = datetime.combine(first - timedelta(days=1), datetime.min.time(), now.tzinfo)
    until = datetime.combine(last + timedelta(days=2), datetime.min.time(), now.tzinfo)
    query = (select(day, loc.id, n.channel, n.kind, n.status, receipts.label("receipts"),
                    overdue.label("overdue"), passed.label("passed"), func.count())
             .select_from(n).join(a, a.id == n.appointment_id).join(loc, loc.id == a.location_id)
             .where(n.due_at >= since, n.due_at < until)
             .group_by(day, loc.id, n.channel, n.kind, n.status, receipts, overdue, passed))
    if location_ids is not None:
        query = query.where(loc.id.in_(location_ids))
    tallies: dict[Key, Tally] = defaultdict(Tally)
    for row in db.session.execute(query):
        if not first <= row.day <= last:
            continue
        column = classify(row.status, receipts=bool(row.receipts),
                          receipt_overdue=bool(row.overdue), deadline_passed=bool(row.passed))
        if column is not None:
            tallies[(row.day, row[1], row.channel, row.kind)].count(column, row[-1])
    return tallies


def window_end_sql(sending_day, zone, location_id):
    """When the reminder window of ``sending_day`` (an SQL date) closes at the clinic
    ``location_id`` in ``zone``: its own window if it set one, else ``REMINDER_WINDOW``."""
    return func.timezone(zone, cast(sending_day, Date) + func.make_interval(
        0, 0, 0, 0, 0, window_end_minutes_sql(location_id)))


def never_planned(first: date, last: date, now: datetime, *, location_ids=None):
    """SELECT (day, location id, channel, appointment id) of reminders due on sending days
    ``first``..``last`` whose window closed without them.

    An appointment not cancelled, whose patient chose a channel and can be reached on it,
    on the day the clinic's days before (``REMINDER_DAYS_BEFORE`` unless its own) after the
    sending day, with no reminder record of
    any kind for that day and channel. Appointments first seen after the window closed and
    booked after it upstream too are left out: the next tick records them as skipped.
    """
    a, loc = Appointment, Location
    channel = CHANNEL
    days_before = days_before_sql(loc.id)
    # The clinics' days before bound the dates an index range can cover; each row is then
    # held to its own clinic's.
    fewest, most = _days_before_range()
    sending_day = (a.local_date - days_before).label("day")
    closed_at = window_end_sql(a.local_date - days_before, loc.timezone, loc.id)
    key = reminder_key_sql(a.local_date, channel)
    reachable = not_(or_(*(condition for condition, _ in unreachable_rules(channel))))
    query = (select(sending_day, loc.id.label("location_id"), channel.label("channel"),
                    a.id.label("appointment_id"))
             .select_from(chosen_channels().join(loc, loc.id == a.location_id))
             .where(a.local_date >= first + timedelta(days=fewest),
                    a.local_date <= last + timedelta(days=most),
                    a.local_date - days_before >= first, a.local_date - days_before <= last,
                    a.status != "cancelled", a.missing_from_source_at.is_(None), reachable,
                    closed_at <= now,
                    not_(and_(a.created_at >= closed_at, a.source_updated_at >= closed_at)),
                    no_reminder_yet(key)))
    if location_ids is not None:
        query = query.where(loc.id.in_(location_ids))
    return query


def count_never_planned(first: date, last: date, now: datetime, *,
                        location_ids=None) -> dict[Key, int]:
    """How many reminders ``never_planned`` finds, per slice."""
    found = never_planned(first, last, now, location_ids=location_ids).subquery()
    query = (select(found.c.day, found.c.location_id, found.c.channel, func.count())
             .group_by(found.c.day, found.c.location_id, found.c.channel))
    return {(row.day, row.location_id, row.channel, "reminder"): row[-1]
            for row in db.session.execute(query)}


def live_tallies(first: date, last: date, now: datetime, *, location_ids=None) -> dict:
    """Everything of the days ``first``..``last``: notifications and never planned."""
    tallies = count_notifications(first, last, now, location_ids=location_ids)
    for key, number in count_never_planned(first, last, now, location_ids=location_ids).items():
        tallies.setdefault(key, Tally()).count("never_planned", number)
    return dict(tallies)

