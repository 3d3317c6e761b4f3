"""Planning: a clinic day's reminders become rows, set-based, idempotent, spread at the rate.

For every location whose local clock is inside ``REMINDER_WINDOW``, the appointments on
local date today + ``REMINDER_DAYS_BEFORE`` get one reminder per chosen channel, unless one
exists (the unique dedupe key makes a doubled tick or two schedulers harmless). Patients we
cannot reach on a channel, and cancelled appointments, are written down with the reason
instead. Appointments whose reminder day has already passed are recorded as ``skipped``.
Planning is a function of state and ``now``, never of which cron fired.
"""
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import (
    Float,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from actors.reminders.bulk import record_history
from actors.reminders.window import Window, local_today, open_window, window_on
from db import (
    Appointment,
    Location,
    Notification,
    NotificationEvent,
    Patient,
    UTCDateTime,
    db,
    raise_condition,
)

log = logging.getLogger(__name__)

SKIP_REASON = "booked after its reminder day had passed"
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
_CHANNELS = (select(literal("sms", String).label("channel"))
             .union_all(select(literal("email", String).label("channel"))).subquery("channels"))


@dataclass
class PlanResult:
    """What a plan did (or, dry, would do): counts per (location group, channel, status)."""

    counts: dict = field(default_factory=lambda: defaultdict(int))
    windows: dict = field(default_factory=dict)       # time zone -> Window planned
    closed: list = field(default_factory=list)        # time zones whose window had closed
    overflows: list = field(default_factory=list)     # alert keys raised
    rows: list = field(default_factory=list)          # dry run: what would be written

    def total(self, status: str = "planned") -> int:
        return sum(n for (_, _, s), n in self.counts.items() if s == status)


def _unreachable(channel):
    """(condition, reason) pairs in SQL, worded like actors.recipients.why_unreachable."""
    p = Patient
    blank_phone = or_(p.phone.is_(None), p.phone == "")
    blank_email = or_(p.email.is_(None), p.email == "")
    return [
        (and_(channel == "sms", p.sms_opted_out), "patient opted out of SMS"),
        (and_(channel == "sms", blank_phone), "no mobile number"),
        (and_(channel == "email", p.email_opted_out), "patient opted out of e-mail"),
        (and_(channel == "email", p.email_undeliverable),
         "e-mail address undeliverable (bounce or complaint)"),
        (and_(channel == "email", blank_email), "no e-mail address"),
    ]


def _candidates(location_ids, day: date, now: datetime, *, skipping: bool):
    """Appointment x chosen channel rows that have no reminder for ``day`` yet."""
    a, p, channel = Appointment, Patient, _CHANNELS.c.channel
    key = literal("reminder:") + cast(a.id, String) + literal(f":{day.isoformat()}:") + channel
    if skipping:
        status, reason, variant = literal("skipped"), literal(SKIP_REASON), key
        wanted = and_(a.status == "booked", a.starts_at > now)
    else:
        rules = _unreachable(channel)
        status = case((a.status != "booked", "cancelled"),
                      *[(condition, "suppressed") for condition, _ in rules], else_="planned")
        reason = case((a.status != "booked", "appointment " + a.status),
                      *[(condition, text) for condition, text in rules], else_=null())
        # A cancelled appointment may be booked again: its record must not take the key.
        variant = case((a.status != "booked", key + ":cancelled"), else_=key)
        wanted = a.status.in_(("booked", "cancelled"))
    taken = exists().where(Notification.dedupe_key.in_(
        [key, key + ":cancelled", key + ":fallback"]))
    order = func.row_number().over(partition_by=(channel, status), order_by=(a.starts_at, a.id))
    return (select(a.id.label("appointment_id"), a.patient_id, a.location_id, a.revision,
                   channel.label("channel"), variant.label("dedupe_key"),
                   status.label("status"), reason.label("reason"), order.label("slot"))
            .select_from(a).join(p, p.id == a.patient_id).join(_CHANNELS, or_(
                p.preferred_channel == channel, p.preferred_channel == "both"))
            .where(a.location_id.in_(location_ids), a.local_date == day, wanted, ~taken))


def _bases(window: Window, now: datetime, rates: dict) -> dict:
    """Where each channel's next free send slot is: the rate is shared by every clinic."""
    start = max(window.start, now)
    bases = {}
    for channel, rate in rates.items():
        # Backwards along ix_notifications_status_due_at: the first match is the latest.
        last = db.session.scalar(
            select(Notification.due_at)
            .where(Notification.status == "planned", Notification.kind == "reminder",
                   Notification.channel == channel)
            .order_by(Notification.status.desc(), Notification.due_at.desc()).limit(1))
        bases[channel] = max(start, last + timedelta(seconds=1 / rate)) if last else start
    return bases


def _write_postgresql(candidates, window, now, bases, rates, source) -> list:
    c = candidates.subquery("c")
    spacing = case((c.c.channel == "sms", 1 / rates["sms"]), else_=1 / rates["email"])
    base = case((c.c.channel == "sms", literal(bases["sms"], UTCDateTime)),
                else_=literal(bases["email"], UTCDateTime))
    due = case((c.c.status == "planned", base + func.make_interval(
        0, 0, 0, 0, 0, 0, cast((c.c.slot - 1) * spacing, Float))), else_=literal(now, UTCDateTime))
    stamp = literal(now, UTCDateTime)
    columns = ["appointment_id", "patient_id", "kind", "channel", "dedupe_key", "revision",
               "status", "reason", "due_at", "deadline_at", "attempts", "created_at", "updated_at"]
    rows = select(c.c.appointment_id, c.c.patient_id, literal("reminder"), c.c.channel,
                  c.c.dedupe_key, c.c.revision, c.c.status, c.c.reason, due,
                  literal(window.end, UTCDateTime), literal(0), stamp, stamp)
    inserted = (postgresql.insert(Notification).from_select(columns, rows)
                .on_conflict_do_nothing(index_elements=["dedupe_key"])
                .returning(Notification.id, Notification.channel, Notification.status,
                           Notification.reason, Notification.due_at).cte("inserted"))
    history = insert(NotificationEvent).from_select(
        ["notification_id", "from_status", "to_status", "at", "source", "detail"],
        select(inserted.c.id, null(), inserted.c.status, stamp, literal(source),
               inserted.c.reason)).cte("history")
    return db.session.execute(
        select(inserted.c.channel, inserted.c.status, func.count(), func.max(inserted.c.due_at))
        .group_by(inserted.c.channel, inserted.c.status).add_cte(history)).all()


def _spread(rows, window, now, bases, rates) -> list[dict]:
    return [{"appointment_id": r.appointment_id, "patient_id": r.patient_id, "kind": "reminder",
             "channel": r.channel, "dedupe_key": r.dedupe_key, "revision": r.revision,
             "status": r.status, "reason": r.reason, "attempts": 0, "deadline_at": window.end,
             "due_at": (bases[r.channel] + timedelta(seconds=(r.slot - 1) / rates[r.channel])
                        if r.status == "planned" else now),
             "created_at": now, "updated_at": now, "location_id": r.location_id} for r in rows]


def _write_portable(planned: list[dict], source: str, now: datetime) -> list:
    """SQLite (dev mode): the same rows through a batched insert of a list."""
    table = Notification.__table__
    statement = (_INSERTS[db.session.get_bind().dialect.name](table)
                 .on_conflict_do_nothing(index_elements=["dedupe_key"])
                 .returning(table.c.id, table.c.channel, table.c.status, table.c.reason,
                            table.c.due_at))
    written = []
    for start in range(0, len(planned), 500):
        chunk = [{k: v for k, v in row.items() if k != "location_id"}
                 for row in planned[start:start + 500]]
        written.extend(db.session.execute(statement, chunk).all())
    record_history([(r.id, None, r.status, r.reason) for r in written], source=source, now=now)
    summary = defaultdict(lambda: [0, None])
    for r in written:
        entry = summary[(r.channel, r.status)]
        entry[0] += 1
        entry[1] = r.due_at if entry[1] is None else max(entry[1], r.due_at)
    return [(ch, st, n, last) for (ch, st), (n, last) in summary.items()]


def _write(candidates, window, now, rates, *, dry_run: bool, source: str, result, tz: str):
    bases = _bases(window, now, rates)
    if dry_run or db.session.get_bind().dialect.name != "postgresql":
        planned = _spread(db.session.execute(candidates).all(), window, now, bases, rates)
        if dry_run:
            result.rows.extend(planned)
            return [(ch, st, sum(1 for r in planned if (r["channel"], r["status"]) == (ch, st)),
                     max((r["due_at"] for r in planned if (r["channel"], r["status"]) == (ch, st)),
                         default=None))
                    for ch, st in {(r["channel"], r["status"]) for r in planned}]
        return _write_portable(planned, source, now)
    return _write_postgresql(candidates, window, now, bases, rates, source)


def _check_fit(tz, window, summary, rates, headroom, result) -> None:
    """Alert now, not at noon, when a channel's planned sends run into the retry headroom."""
    usable_end = window.end - timedelta(seconds=window.seconds * headroom)
    for channel, status, count, last_due in summary:
        if status != "planned" or last_due is None or last_due <= usable_end:
            continue
        key = f"reminder-overflow:{window.day.isoformat()}:{tz}:{channel}"
        raise_condition(key, "reminder-overflow", (
            f"{count} {channel} reminders planned for {tz} clinics on {window.day} run until "
            f"{last_due:%H:%M:%S}Z at {rates[channel]:g}/s; sends must end by "
            f"{usable_end:%H:%M}Z to leave {headroom:.0%} of the window for retries"),
            count=count)
        result.overflows.append(key)


def plan(now: datetime, *, day: date | None = None, location_ids=None, dry_run: bool = False,
         source: str = "plan") -> PlanResult:
    """Plan reminders as of ``now``; ``day`` (the local sending day) plans it by hand.

    Without ``day`` only clinics whose window is open now are planned (the tick). The
    caller commits (the tick right away; a dry run rolls back).
    """
    config = current_app.config
    rates = {"sms": config["SMS_RATE_PER_SECOND"], "email": config["EMAIL_RATE_PER_SECOND"]}
    ahead = timedelta(days=config["REMINDER_DAYS_BEFORE"])
    query = select(Location.id, Location.timezone).order_by(Location.id)
    if location_ids:
        query = query.where(Location.id.in_(location_ids))
    zones = defaultdict(list)
    for location_id, tz in db.session.execute(query):
        zones[tz].append(location_id)
    result = PlanResult()
    for tz, ids in sorted(zones.items()):
        window = (open_window(now, tz, config["REMINDER_WINDOW"]) if day is None
                  else window_on(day, tz, config["REMINDER_WINDOW"]))
        if window is None:
            continue
        if now >= window.end:
            result.closed.append(tz)
            continue
        result.windows[tz] = window
        target = window.day + ahead
        summary = _write(_candidates(ids, target, now, skipping=False), window, now, rates,
                         dry_run=dry_run, source=source, result=result, tz=tz)
        for offset in range((target - window.day).days):
            passed = window.day + timedelta(days=offset)
            if passed - ahead >= local_today(now, tz):
                continue  # its own reminder day is still to come (a day planned ahead)
            summary += _write(_candidates(ids, passed, now, skipping=True), window, now, rates,
                              dry_run=dry_run, source=source, result=result, tz=tz)
        for channel, status, count, _ in summary:
            result.counts[(tz, channel, status)] += count
        if not dry_run:
            _check_fit(tz, window, summary, rates, config["RETRY_HEADROOM"], result)
    if result.counts and not dry_run:
        log.info("reminders planned", extra={"counts": {
            f"{tz}/{ch}/{st}": n for (tz, ch, st), n in result.counts.items()}})
    return result
