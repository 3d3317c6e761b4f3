"""The stored daily ledger: days close into it, any past day can be rebuilt, ranges read fast.

A clinic day closes once it has ended locally and ``RECEIPT_TIMEOUT_HOURS`` have passed, so
every receipt that will ever come has come and "unconfirmed" is final. A report over a
range reads the closed days from the ledger and counts the open ones live, with the same
function (``counting.live_tallies``).
"""
import logging
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql

from actors.accounting.counting import Key, live_tallies
from actors.accounting.tally import Tally
from db import ClinicDay, DeliveryDay, Location, db, utcnow
from db.ledger import COUNTS

log = logging.getLogger(__name__)

#: How far back the minute check looks for days to close (a longer outage: rebuild by hand).
LOOKBACK_DAYS = 7


def _closes_at(day: date, zone: str) -> datetime:
    end = datetime.combine(day + timedelta(days=1), time(0), ZoneInfo(zone))
    return end + timedelta(hours=current_app.config["RECEIPT_TIMEOUT_HOURS"])


def write_days(days: list[tuple[date, int]], now: datetime) -> int:
    """(Re)write the ledger rows of (day, location id) pairs and mark them closed."""
    written = 0
    by_location: dict[int, list[date]] = {}
    for day, location_id in days:
        by_location.setdefault(location_id, []).append(day)
    for location_id, location_days in by_location.items():
        first, last = min(location_days), max(location_days)
        tallies = live_tallies(first, last, now, location_ids=[location_id])
        wanted = set(location_days)
        db.session.execute(delete(DeliveryDay).where(DeliveryDay.location_id == location_id,
                                                     DeliveryDay.local_date.in_(wanted)))
        rows = [{"local_date": d, "location_id": loc, "channel": ch, "kind": kind,
                 **{name: getattr(tally, name) for name in COUNTS}}
                for (d, loc, ch, kind), tally in tallies.items() if d in wanted]
        if rows:
            db.session.execute(postgresql.insert(DeliveryDay), rows)
        marks = [{"local_date": d, "location_id": location_id, "ledger_closed_at": now,
                  "updated_at": now} for d in wanted]
        statement = postgresql.insert(ClinicDay).values(marks)
        db.session.execute(statement.on_conflict_do_update(
            index_elements=["local_date", "location_id"],
            set_={"ledger_closed_at": statement.excluded.ledger_closed_at,
                  "updated_at": statement.excluded.updated_at}))
        written += len(rows)
    return written


def close_days(now: datetime | None = None) -> int:
    """Close every clinic day of the last ``LOOKBACK_DAYS`` that is ready; the minute check."""
    now = now or utcnow()
    closed = set(db.session.execute(
        select(ClinicDay.local_date, ClinicDay.location_id)
        .where(ClinicDay.ledger_closed_at.is_not(None),
               ClinicDay.local_date >= now.date() - timedelta(days=LOOKBACK_DAYS + 1))).all())
    ready = []
    for location_id, zone in db.session.execute(select(Location.id, Location.timezone)):
        today = now.astimezone(ZoneInfo(zone)).date()
        for back in range(1, LOOKBACK_DAYS + 1):
            day = today - timedelta(days=back)
            if (day, location_id) not in closed and _closes_at(day, zone) <= now:
                ready.append((day, location_id))
    if not ready:
        return 0
    written = write_days(ready, now)
    log.info("ledger days closed", extra={"days": len(ready), "rows": written})
    return len(ready)


def rebuild(first: date, last: date, *, location_ids=None, now: datetime | None = None) -> int:
    """Recompute the ledger of past days ``first``..``last`` (ops, after a fix or an outage)."""
    now = now or utcnow()
    query = select(Location.id)
    if location_ids is not None:
        query = query.where(Location.id.in_(location_ids))
    days = [(first + timedelta(days=offset), location_id)
            for location_id in db.session.scalars(query)
            for offset in range((last - first).days + 1)]
    return write_days(days, now)


def tallies_between(first: date, last: date, now: datetime | None = None, *,
                    location_ids=None) -> dict[Key, Tally]:
    """The days ``first``..``last``: closed ones from the ledger, the others counted live."""
    now = now or utcnow()
    # The driver's own rows, not ORM objects nor typed result rows: a year at 50 clinics is
    # 70,000 of them, and the columns need no conversion (dates, text and integers).
    sql = (f"SELECT local_date, location_id, channel, kind, {', '.join(COUNTS)} "
           f"FROM {DeliveryDay.__tablename__} WHERE local_date BETWEEN %(first)s AND %(last)s")
    params = {"first": first, "last": last}
    marks = select(ClinicDay.local_date, ClinicDay.location_id).where(
        ClinicDay.ledger_closed_at.is_not(None), ClinicDay.local_date >= first,
        ClinicDay.local_date <= last)
    if location_ids is not None:
        sql += " AND location_id = ANY(%(ids)s)"
        params["ids"] = list(location_ids)
        marks = marks.where(ClinicDay.location_id.in_(location_ids))
    closed = {tuple(row) for row in db.session.execute(marks)}  # plain tuples hash fast
    result: dict[Key, Tally] = {}
    with db.session.connection().connection.cursor() as cursor:  # in the session's transaction
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for row in rows:
        if row[:2] in closed:
            result[row[:4]] = Tally(*row[4:])
    total_days = (last - first).days + 1
    locations = (list(location_ids) if location_ids is not None
                 else list(db.session.scalars(select(Location.id))))
    open_days = [(first + timedelta(days=o), loc) for loc in locations
                 for o in range(total_days) if (first + timedelta(days=o), loc) not in closed]
    if open_days:
        lo, hi = min(d for d, _ in open_days), max(d for d, _ in open_days)
        open_locations = sorted({loc for _, loc in open_days})
        wanted = set(open_days)
        for key, tally in live_tallies(lo, hi, now, location_ids=open_locations).items():
            if (key[0], key[1]) in wanted:
                result[key] = tally
    return result


def clinic_channel_tallies(now) -> dict:
    """{(location id, channel): Tally} of each clinic's own today, every kind summed."""
    locations = db.session.execute(select(Location.id, Location.timezone)).all()
    days = {location_id: now.astimezone(ZoneInfo(zone)).date() for location_id, zone in locations}
    if not days:
        return {}
    first, last = min(days.values()), max(days.values())
    result: dict = defaultdict(Tally)
    for (day, location_id, channel, _), tally in tallies_between(first, last, now).items():
        if days.get(location_id) == day:
            result[(location_id, channel)] += tally
    return dict(result)
