"""Planning: a clinic day's reminders become rows, set-based, idempotent, spread at the rate.

For every location whose local clock is inside its reminder window, the appointments on
local date today + its days before get one reminder per chosen channel, unless one
exists (the unique dedupe key makes a doubled tick or two schedulers harmless). The window
and the days are the clinic's own when it set them (``actors.clinic_settings``), else
``REMINDER_WINDOW`` and ``REMINDER_DAYS_BEFORE``. Patients we
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
    BigInteger,
    Float,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
)
from sqlalchemy import text as sql_text

from actors.clinic_settings import rules_by_location
from actors.reminders.window import Window, local_today, open_window, window_on
from db import (
    Appointment,
    Location,
    Notification,
    Patient,
    Status,
    UTCDateTime,
    create_notifications_from,
    db,
    new_plan_runs,
    raise_condition,
)
from db.transitions import MISSING_FROM_SOURCE

log = logging.getLogger(__name__)

SKIP_REASON = "booked after its reminder day had passed"
_CHANNELS = (select(literal("sms", String).label("channel"))
             .union_all(select(literal("email", String).label("channel"))).subquery("channels"))
#: The channel of a row of ``chosen_channels()``.
CHANNEL = _CHANNELS.c.channel
COLUMNS = ["appointment_id", "patient_id", "kind", "channel", "dedupe_key", "revision",
           "status", "reason", "due_at", "deadline_at", "attempts", "created_at", "updated_at",
           "plan_run_id"]


@dataclass
class PlanResult:
    """What a plan did (or, dry, would do): counts per (location group, channel, status)."""

    counts: dict = field(default_factory=lambda: defaultdict(int))
    windows: dict = field(default_factory=dict)       # time zone -> Window planned
    closed: list = field(default_factory=list)        # time zones whose window had closed
    overflows: list = field(default_factory=list)     # alert keys raised
    rows: list = field(default_factory=list)          # dry run: what would be written

    def total(self, status: str = Status.PLANNED) -> int:
        return sum(n for (_, _, s), n in self.counts.items() if s == status)


def unreachable_rules(channel):
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


def reminder_key_sql(day, channel):
    """``actors.reminders.keys.reminder_key`` in SQL; ``day`` a date or an SQL date."""
    text = literal(day.isoformat()) if isinstance(day, date) else cast(day, String)
    return (literal("reminder:") + cast(Appointment.id, String) + literal(":") + text
            + literal(":") + channel)


def chosen_channels():
    """Appointment x channel the patient chose, as a FROM clause."""
    a, p, channel = Appointment, Patient, _CHANNELS.c.channel
    return (a.__table__.join(p, p.id == a.patient_id)
            .join(_CHANNELS, or_(p.preferred_channel == channel, p.preferred_channel == "both")))


def no_reminder_yet(key):
    """No reminder (nor its cancelled or fallback record) holds ``key`` yet."""
    return ~exists().where(Notification.dedupe_key.in_(
        [key, key + ":cancelled", key + ":fallback"]))


def _candidates(location_ids, day: date, now: datetime, *, skip_before: datetime | None):
    """Appointment x chosen channel rows that have no reminder for ``day`` yet.

    ``skip_before`` (the end of the day's own reminder window, already closed) selects the
    appointments first seen after that window, and booked after it upstream too: those are
    skipped. Anything older that has no reminder was missed, and stays without a row so that
    delivery accounting counts it as never planned.
    """
    a, channel = Appointment, _CHANNELS.c.channel
    key = reminder_key_sql(day, channel)
    if skip_before is not None:
        status, reason, variant = literal(Status.SKIPPED), literal(SKIP_REASON), key
        wanted = and_(a.status == "booked", a.starts_at > now, a.created_at >= skip_before,
                      a.source_updated_at >= skip_before)
    else:
        rules = [(a.missing_from_source_at.is_not(None), MISSING_FROM_SOURCE),
                 *unreachable_rules(channel)]
        status = case((a.status != "booked", Status.CANCELLED),
                      *[(condition, Status.SUPPRESSED) for condition, _ in rules],
                      else_=Status.PLANNED)
        reason = case((a.status != "booked", "appointment " + a.status),
                      *[(condition, text) for condition, text in rules], else_=null())
        # A cancelled appointment may be booked again: its record must not take the key.
        variant = case((a.status != "booked", key + ":cancelled"), else_=key)
        wanted = a.status.in_(("booked", "cancelled"))
    order = func.row_number().over(partition_by=(channel, status), order_by=(a.starts_at, a.id))
    return (select(a.id.label("appointment_id"), a.patient_id, a.location_id, a.revision,
                   channel.label("channel"), variant.label("dedupe_key"),
                   status.label("status"), reason.label("reason"), order.label("slot"))
            .select_from(chosen_channels())
            .where(a.location_id.in_(location_ids), a.local_date == day, wanted,
                   no_reminder_yet(key)))


class _SendClock:
    """Where each channel's next free send slot is: the rate is shared by every clinic, so a
    group's sends start after the last planned one, of an earlier tick or of this plan.

    The database is asked once per channel and plan; after that the plan's own summaries
    say where it left off (asking again per group cost a backward index scan over every
    row the plan had just written).
    """

    def __init__(self, rates: dict):
        self.rates = rates
        self.last: dict = {}

    def bases(self, window: Window, now: datetime) -> dict:
        start = max(window.start, now)
        bases = {}
        for channel, rate in self.rates.items():
            if channel not in self.last:
                # Backwards along ix_notifications_status_due_at: the first match is the latest.
                self.last[channel] = db.session.scalar(
                    select(Notification.due_at)
                    .where(Notification.status == Status.PLANNED,
                           Notification.kind == "reminder", Notification.channel == channel)
                    .order_by(Notification.status.desc(), Notification.due_at.desc()).limit(1))
            last = self.last[channel]
            bases[channel] = max(start, last + timedelta(seconds=1 / rate)) if last else start
        return bases

    def planned(self, summary) -> None:
        for channel, status, _, last_due in summary:
            if status == Status.PLANNED and last_due is not None:
                known = self.last.get(channel)
                self.last[channel] = last_due if known is None else max(known, last_due)


def _rows(candidates, window, now, bases, rates, runs):
    """The candidates as notification columns, each planned one at its slot of the rate and
    pointing at its clinic's plan run (``runs``; None: no run, each row its own history)."""
    c = candidates.subquery("c")
    spacing = case((c.c.channel == "sms", 1 / rates["sms"]), else_=1 / rates["email"])
    base = case((c.c.channel == "sms", literal(bases["sms"], UTCDateTime)),
                else_=literal(bases["email"], UTCDateTime))
    due = case((c.c.status == Status.PLANNED, base + func.make_interval(
        0, 0, 0, 0, 0, 0, cast((c.c.slot - 1) * spacing, Float))), else_=literal(now, UTCDateTime))
    stamp = literal(now, UTCDateTime)
    run = cast(null(), BigInteger) if runs is None else case(
        (c.c.status == Status.PLANNED, runs.run_of(c.c.location_id)), else_=null())
    values = [c.c.appointment_id, c.c.patient_id, literal("reminder").label("kind"), c.c.channel,
              c.c.dedupe_key, c.c.revision, c.c.status, c.c.reason, due.label("due_at"),
              literal(window.end, UTCDateTime).label("deadline_at"), literal(0).label("attempts"),
              stamp.label("created_at"), stamp.label("updated_at"), run.label("plan_run_id")]
    return c, values


def _write(candidates, window, now, clock, *, dry_run: bool, source: str, result, runs=None):
    c, values = _rows(candidates, window, now, clock.bases(window, now), clock.rates,
                      None if dry_run else runs)
    if dry_run:
        planned = [dict(row._mapping) for row in db.session.execute(
            select(c.c.location_id, *values))]
        result.rows.extend(planned)
        summary = defaultdict(lambda: [0, None])
        for row in planned:
            entry = summary[(row["channel"], row["status"])]
            entry[0] += 1
            entry[1] = row["due_at"] if entry[1] is None else max(entry[1], row["due_at"])
        summary = [(ch, st, n, last) for (ch, st), (n, last) in summary.items()]
    else:
        summary = create_notifications_from(COLUMNS, select(*values), source=source, now=now,
                                            runs=runs)
    clock.planned(summary)
    return summary


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
    query = select(Location.id, Location.timezone).order_by(Location.id)
    if location_ids:
        query = query.where(Location.id.in_(location_ids))
    located = db.session.execute(query).all()
    rules = rules_by_location([location_id for location_id, _ in located])
    # Clinics plan together when they share a zone and their own window and days: one
    # set-based statement per group. A group on the global settings is named by its zone.
    zones = defaultdict(list)
    for location_id, tz in located:
        own = rules[location_id]
        zones[(tz, own.reminder_window, own.reminder_days_before)].append(location_id)
    # A zone's day is one statement of up to a few hundred thousand rows: its sort (the send
    # slots) and the rows it returns fit in memory instead of spilling to temporary files,
    # and it is not JIT-compiled (its cost estimate asks for it; compiling took ~10% of a
    # 200,000-row statement and bought nothing: the time is in writing rows, not in
    # expressions). For this transaction only; other queries keep the server's defaults.
    db.session.execute(sql_text("SET LOCAL work_mem = '64MB'"))
    db.session.execute(sql_text("SET LOCAL jit = off"))
    result = PlanResult()
    clock = _SendClock(rates)
    for (zone, text, days), ids in sorted(zones.items()):
        tz = zone if (text, days) == (config["REMINDER_WINDOW"], config["REMINDER_DAYS_BEFORE"]) \
            else f"{zone} {text} -{days}d"
        ahead = timedelta(days=days)
        window = open_window(now, zone, text) if day is None else window_on(day, zone, text)
        if window is None:
            continue
        if now >= window.end:
            result.closed.append(tz)
            continue
        result.windows[tz] = window
        target = window.day + ahead
        runs = None if dry_run else new_plan_runs(ids, target)
        summary = _write(_candidates(ids, target, now, skip_before=None), window, now, clock,
                         dry_run=dry_run, source=source, result=result, runs=runs)
        for offset in range((target - window.day).days):
            passed = window.day + timedelta(days=offset)
            if passed - ahead >= local_today(now, zone):
                continue  # its own reminder day is still to come (a day planned ahead)
            closed_at = window_on(passed - ahead, zone, text).end
            summary += _write(_candidates(ids, passed, now, skip_before=closed_at), window, now,
                              clock, dry_run=dry_run, source=source, result=result)
        for channel, status, count, _ in summary:
            result.counts[(tz, channel, status)] += count
        if not dry_run:
            _check_fit(tz, window, summary, rates, config["RETRY_HEADROOM"], result)
    if result.counts and not dry_run:
        log.info("reminders planned", extra={"counts": {
            f"{tz}/{ch}/{st}": n for (tz, ch, st), n in result.counts.items()}})
    return result
