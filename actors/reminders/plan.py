"""Planning: a clinic day's reminders become rows, set-based, idempotent, spread at the rate.

For every location whose local clock is inside its reminder window, the appointments on
local date today + its days before get one reminder per chosen channel, unless one
exists: a planner holds its clinics' lock (``actors.reminders.lock``) and writes only keys
nobody holds, so a doubled tick or a manual plan beside the tick is harmless. The window
and the days are the clinic's own when it set them (``actors.clinic_settings``), else
``REMINDER_WINDOW`` and ``REMINDER_DAYS_BEFORE``. Patients we
cannot reach on a channel, and cancelled appointments, are written down with the reason
instead. Appointments whose reminder day has already passed are recorded as ``skipped``.
Planning is a function of state and ``now``, never of which cron fired.

Clinics that share a zone, window and days are one group, planned by one statement (a big
day's group in parts when too few groups are big, ``actors.reminders.parts``). When several
groups are planned at once, they are planned on parallel connections, each in a
transaction of its own (``actors.reminders.parallel``: why that is safe); a dry run, or a
caller whose transaction has written something, plans them one after the other in the
caller's transaction. Either way every row gets the same send time.
"""
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import BigInteger, case, cast, literal, null, select
from sqlalchemy.exc import IntegrityError

from actors.clinic_settings import rules_by_location
from actors.reminders import parallel, parts
from actors.reminders.candidates import (  # noqa: F401 - SKIP_REASON & co. are read from here
    CHANNEL,
    SKIP_REASON,
    candidates,
    chosen_channels,
    keys_sort_by_bytes,
    late_bookings,
    no_reminder_yet,
    reminder_key_sql,
    unreachable_rules,
)
from actors.reminders.lock import lock_clinics
from actors.reminders.send_clock import SendClock, due_at_slot
from actors.reminders.tuning import tune_transaction
from actors.reminders.window import Window, local_today, open_window, window_on
from db import (
    Location,
    Status,
    UTCDateTime,
    create_notifications_from,
    db,
    key_taken,
    mark_planned,
    new_plan_runs,
    raise_condition,
)

log = logging.getLogger(__name__)

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
    last_due: dict = field(default_factory=dict)      # channel -> its latest planned send

    def total(self, status: str = Status.PLANNED) -> int:
        return sum(n for (_, _, s), n in self.counts.items() if s == status)


@dataclass(frozen=True)
class Group:
    """Clinics planned by one statement: one zone, window and days before."""

    tz: str              # its name in counts and alerts: the zone, or the zone and its rules
    zone: str
    window_text: str
    ahead: timedelta
    ids: tuple
    window: Window
    part: str = ""       # of a big day's group in parts (actors.reminders.parts): "2 of 2"

    @property
    def target(self) -> date:
        return self.window.day + self.ahead


def _rows(candidates, window, now, bases, rates, runs):
    """The candidates as notification columns, each planned one at its slot of the rate and
    pointing at its clinic's plan run (``runs``; None: no run, each row its own history)."""
    c = candidates.subquery("c")
    spacing = case((c.c.channel == "sms", 1 / rates["sms"]), else_=1 / rates["email"])
    base = case((c.c.channel == "sms", literal(bases["sms"], UTCDateTime)),
                else_=literal(bases["email"], UTCDateTime))
    due = case((c.c.status == Status.PLANNED, due_at_slot(base, c.c.slot, spacing)),
               else_=literal(now, UTCDateTime))
    stamp = literal(now, UTCDateTime)
    run = cast(null(), BigInteger) if runs is None else case(
        (c.c.status == Status.PLANNED, runs.run_of(c.c.location_id)), else_=null())
    values = [c.c.appointment_id, c.c.patient_id, literal("reminder").label("kind"), c.c.channel,
              c.c.dedupe_key, c.c.revision, c.c.status, c.c.reason, due.label("due_at"),
              literal(window.end, UTCDateTime).label("deadline_at"), literal(0).label("attempts"),
              stamp.label("created_at"), stamp.label("updated_at"), run.label("plan_run_id")]
    return c, values


def _write(candidates, window, now, bases, rates, *, dry_run: bool, source: str, result,
           runs=None):
    c, values = _rows(candidates, window, now, bases, rates, None if dry_run else runs)
    if dry_run:
        planned = [dict(row._mapping) for row in db.session.execute(
            select(c.c.location_id, *values))]
        result.rows.extend(planned)
        summary = defaultdict(lambda: [0, None])
        for row in planned:
            entry = summary[(row["channel"], row["status"])]
            entry[0] += 1
            entry[1] = row["due_at"] if entry[1] is None else max(entry[1], row["due_at"])
        return [(ch, st, n, last) for (ch, st), (n, last) in summary.items()]
    # Written in appointment order, not in send order: the unique key, the appointment and
    # (mostly) the patient index then take their entries left to right instead of all over
    # their pages (~6% of a million-row plan). The send slots were numbered before.
    rows = select(*values).order_by(c.c.appointment_id, c.c.channel)
    return create_notifications_from(COLUMNS, rows, source=source, now=now, runs=runs,
                                     keys_held=True)  # plan_group holds the clinics' lock


def _check_fit(tz, window, summary, rates, headroom, result, part="") -> None:
    """Alert now, not at noon, when a channel's planned sends run into the retry headroom
    (one alert per zone and channel: a group in parts raises it from each part that does)."""
    usable_end = window.end - timedelta(seconds=window.seconds * headroom)
    clinics = f"{tz} clinics (part {part})" if part else f"{tz} clinics"
    for channel, status, count, last_due in summary:
        if status != "planned" or last_due is None or last_due <= usable_end:
            continue
        key = f"reminder-overflow:{window.day.isoformat()}:{tz}:{channel}"
        raise_condition(key, "reminder-overflow", (
            f"{count} {channel} reminders planned for {clinics} on {window.day} run until "
            f"{last_due:%H:%M:%S}Z at {rates[channel]:g}/s; sends must end by "
            f"{usable_end:%H:%M}Z to leave {headroom:.0%} of the window for retries"),
            count=count)
        result.overflows.append(key)


def plan_group(group: Group, now: datetime, bases: dict, *, dry_run: bool, source: str,
               byte_order: bool, counted: dict | None = None) -> PlanResult:
    """One group's day in the current transaction: its reminders from ``bases`` (a channel's
    first send slot), the skipped bookings of the days already passed, its overflow alert.

    ``counted`` (``candidates.candidate_counts`` of its day, just before): nothing to
    write skips the group's statement, which would select the same candidates again to find
    them all planned (a repeated tick: about half of a million-row doubled plan)."""
    config = current_app.config
    rates = {"sms": config["SMS_RATE_PER_SECOND"], "email": config["EMAIL_RATE_PER_SECOND"]}
    result = PlanResult()
    ids, window, target = list(group.ids), group.window, group.target
    summary = []
    if not dry_run:
        lock_clinics(ids)
    if counted is None or any(counted.values()):
        def write(existing: bool):
            return _write(candidates(ids, target, now, byte_order=byte_order, existing=existing),
                          window, now, bases, rates, dry_run=dry_run, source=source,
                          result=result, runs=None if dry_run else new_plan_runs(ids, target))
        if dry_run or parallel.planned_before(group):
            summary = write(existing=True)
        else:
            summary = _first_plan(group, write, now=now, source=source)
    closed = {}  # the days between, whose own reminder window has closed -> its end
    for offset in range((target - window.day).days):
        passed = window.day + timedelta(days=offset)
        if passed - group.ahead >= local_today(now, group.zone):
            continue  # its own reminder day is still to come (a day planned ahead)
        closed[passed] = window_on(passed - group.ahead, group.zone, group.window_text).end
    if closed:
        summary += _write(late_bookings(ids, closed, now, byte_order=byte_order),
                          window, now, bases, rates, dry_run=dry_run, source=source,
                          result=result)
    for channel, status, count, last_due in summary:
        result.counts[(group.tz, channel, status)] += count
        if status == Status.PLANNED and last_due is not None:
            known = result.last_due.get(channel)
            result.last_due[channel] = last_due if known is None else max(known, last_due)
    if not dry_run:
        _check_fit(group.tz, window, summary, rates, config["RETRY_HEADROOM"], result,
                   group.part)
    return result


def _first_plan(group: Group, write, *, now: datetime, source: str) -> list:
    """The first plan of ``group``'s day (no plan run of it yet): its candidates written
    without looking each one's reminder up, since none can exist yet (the lookups were a
    quarter of the statement, and of the counts before it, ``parallel``).

    Except for an appointment moved in from a clinic whose day was planned before: its key
    fails the statement, which is then written again with the lookups, from a savepoint.
    A first plan that created rows with a reason only has no plan run to show for it: it is
    recorded as one that planned nothing, or every later tick would fail first the same way.
    """
    try:
        with db.session.begin_nested():
            summary = write(existing=False)
    except IntegrityError as error:
        if not key_taken(error):
            raise
        summary = write(existing=True)
    if summary and not any(status == Status.PLANNED and n for _, status, n, _ in summary):
        mark_planned(group.ids, group.target, source=source, now=now)
    return summary


def _groups(now, day, location_ids, result) -> list[Group]:
    """The groups to plan now, in the order their sends are spread; closed ones noted."""
    config = current_app.config
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
    groups = []
    for (zone, text, days), ids in sorted(zones.items()):
        tz = zone if (text, days) == (config["REMINDER_WINDOW"], config["REMINDER_DAYS_BEFORE"]) \
            else f"{zone} {text} -{days}d"
        window = open_window(now, zone, text) if day is None else window_on(day, zone, text)
        if window is None:
            continue
        if now >= window.end:
            result.closed.append(tz)
            continue
        result.windows[tz] = window
        groups.append(Group(tz, zone, text, timedelta(days=days), tuple(ids), window))
    return parts.in_parts(groups, parallel.CONNECTIONS)


def plan(now: datetime, *, day: date | None = None, location_ids=None, dry_run: bool = False,
         source: str = "plan", connections: int = parallel.CONNECTIONS) -> PlanResult:
    """Plan reminders as of ``now``; ``day`` (the local sending day) plans it by hand.

    Without ``day`` only clinics whose window is open now are planned (the tick). The
    caller commits (the tick right away; a dry run rolls back); groups planned in parallel
    (up to ``connections`` at once) have committed already when this returns.
    """
    config = current_app.config
    rates = {"sms": config["SMS_RATE_PER_SECOND"], "email": config["EMAIL_RATE_PER_SECOND"]}
    result = PlanResult()
    groups = _groups(now, day, location_ids, result)
    byte_order = keys_sort_by_bytes()
    clock = SendClock(rates)
    connections = 1 if dry_run else parallel.usable(groups, connections)
    if connections > 1:
        done = parallel.plan_groups(groups, now, clock, source=source, byte_order=byte_order,
                                     connections=connections)
    else:
        tune_transaction()
        done = []
        for group in groups:
            part = plan_group(group, now, clock.bases(group.window, now), dry_run=dry_run,
                              source=source, byte_order=byte_order)
            clock.planned([(ch, Status.PLANNED, 0, last) for ch, last in part.last_due.items()])
            done.append(part)
    for part in done:
        for key, count in part.counts.items():
            result.counts[key] += count
        result.overflows.extend(k for k in part.overflows if k not in result.overflows)
        result.rows.extend(part.rows)
    if result.counts and not dry_run:
        log.info("reminders planned", extra={"counts": {
            f"{tz}/{ch}/{st}": n for (tz, ch, st), n in result.counts.items()}})
    return result
