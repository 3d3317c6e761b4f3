"""What planning selects: appointment x chosen channel rows without a reminder yet, in SQL.

Shared by planning (``actors.reminders.plan``) and delivery accounting (``never planned``):
one reading of "which channels a patient chose", "why a patient cannot be reached" and
"this appointment's reminder exists already".
"""
from datetime import date, datetime

from sqlalchemy import (
    Integer,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    text,
)

from db import Appointment, Notification, Patient, Status, db
from db.transitions import MISSING_FROM_SOURCE

SKIP_REASON = "booked after its reminder day had passed"
_CHANNELS = (select(literal("sms", String).label("channel"))
             .union_all(select(literal("email", String).label("channel"))).subquery("channels"))
#: The channel of a row of ``chosen_channels()``.
CHANNEL = _CHANNELS.c.channel
#: The variants a reminder key may carry (actors.reminders.keys), the last in sort order.
_LAST_VARIANT = ":fallback"


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
    text_day = literal(day.isoformat()) if isinstance(day, date) else cast(day, String)
    return (literal("reminder:") + cast(Appointment.id, String) + literal(":") + text_day
            + literal(":") + channel)


def chosen_channels():
    """Appointment x channel the patient chose, as a FROM clause."""
    a, p, channel = Appointment, Patient, _CHANNELS.c.channel
    return (a.__table__.join(p, p.id == a.patient_id)
            .join(_CHANNELS, or_(p.preferred_channel == channel, p.preferred_channel == "both")))


def no_reminder_yet(key, *, byte_order: bool = False):
    """No reminder (nor its cancelled or fallback record) of the appointment holds ``key`` yet:
    the unique index (appointment, key) is read for the appointment's keys only.

    ``byte_order`` (the database sorts text by its bytes, ``keys_sort_by_bytes``): one range
    of the unique index instead of three lookups. In byte order a key's variants sort right
    after it (``key`` < ``key:cancelled`` < ``key:fallback``) and anything between them starts
    with ``key``, of which only the variants exist (actors.reminders.keys): one descent
    instead of three, ~10% of a plan's time. In another collation that does not hold.

    A subquery run per candidate with the candidate's appointment (``OFFSET 0`` keeps
    PostgreSQL from making it a join): as a join, planned while ``notifications`` looked
    nearly empty (a new deployment, another connection writing), the planner read the
    whole index for every candidate and compared keys in a join filter.
    """
    held, own = Notification.dedupe_key, Notification.appointment_id == Appointment.id
    if byte_order:
        found = and_(own, held >= key, held <= key + _LAST_VARIANT)
    else:
        found = and_(own, held.in_([key, key + ":cancelled", key + _LAST_VARIANT]))
    return ~select(literal(1)).where(found).offset(0).exists()


def keys_sort_by_bytes() -> bool:
    """Whether the database's collation (that of ``dedupe_key``) is byte order (C, POSIX)."""
    collation = db.session.scalar(text(
        "SELECT datcollate FROM pg_database WHERE datname = current_database()"))
    return collation in ("C", "POSIX") or collation.startswith("C.")


def _send_slot(channel, status):
    """A planned row's place among its channel's planned rows, in appointment order (1, 2, ...).

    Counted along one ordering of every row (appointment time, appointment, channel), one
    running count per channel: the same numbers as a row number per (channel, status), but
    the sort's first key is a timestamp instead of two texts (a third of the statement it
    was in, ~40% of a 200,000-row selection's time). Rows not planned get a number they
    never use."""
    a = Appointment
    window = {"order_by": (a.starts_at, a.id, channel), "rows": (None, 0)}

    def planned(name):
        return (func.count().filter(and_(channel == name, status == Status.PLANNED))
                .over(**window))
    return case((channel == "sms", planned("sms")), else_=planned("email"))


def _selected(dedupe_key, status, reason, slot):
    """The columns planning writes from, of every appointment x chosen channel."""
    a = Appointment
    return (select(a.id.label("appointment_id"), a.patient_id, a.location_id, a.revision,
                   CHANNEL.label("channel"), dedupe_key.label("dedupe_key"),
                   status.label("status"), reason.label("reason"), slot.label("slot"))
            .select_from(chosen_channels()))


def candidates(location_ids, day: date, now: datetime, *, byte_order: bool = False,
               slots: bool = True, existing: bool = True):
    """Appointment x chosen channel rows that have no reminder for ``day`` yet.

    ``slots``: number each channel's planned rows in appointment order, the order of their
    send slots (a sort: only planning needs it). ``existing``: leave out the rows whose
    reminder exists already (a lookup per row, a quarter of the selection); False selects
    every row, for a caller that knows none can exist or finds out by writing them
    (``plan.plan_group``, a day's first plan).
    """
    a, channel = Appointment, _CHANNELS.c.channel
    key = reminder_key_sql(day, channel)
    rules = [(a.missing_from_source_at.is_not(None), MISSING_FROM_SOURCE),
             *unreachable_rules(channel)]
    status = case((a.status != "booked", Status.CANCELLED),
                  *[(condition, Status.SUPPRESSED) for condition, _ in rules],
                  else_=Status.PLANNED)
    reason = case((a.status != "booked", "appointment " + a.status),
                  *[(condition, text) for condition, text in rules], else_=null())
    # A cancelled appointment may be booked again: its record must not take the key.
    variant = case((a.status != "booked", key + ":cancelled"), else_=key)
    order = _send_slot(channel, status) if slots else null()
    query = (_selected(variant, status, reason, order)
             .where(a.location_id.in_(location_ids), a.local_date == day,
                    a.status.in_(("booked", "cancelled"))))
    return query.where(no_reminder_yet(key, byte_order=byte_order)) if existing else query


def late_bookings(location_ids, closed: dict, now: datetime, *, byte_order: bool = False):
    """``candidates``' columns for the bookings too late for their reminder day: on each
    day of ``closed`` ({appointment day: the end of its own reminder window, already
    closed}), the appointments first seen after that window, and booked after it upstream
    too. Those are skipped. Anything older that has no reminder was missed, and stays
    without a row so that delivery accounting counts it as never planned.

    Every day in one statement, each found by the index of a day's appointments by clinic
    and first-seen time (migration 0017): the few seen late, not the whole day."""
    a, channel = Appointment, _CHANNELS.c.channel
    key = reminder_key_sql(a.local_date, channel)
    seen_late = or_(*(and_(a.local_date == day, a.created_at >= end, a.source_updated_at >= end)
                      for day, end in sorted(closed.items())))
    skipped = _selected(key, literal(Status.SKIPPED), literal(SKIP_REASON),
                        cast(null(), Integer))  # a skipped row takes no send slot
    return (skipped
            .where(a.location_id.in_(location_ids), seen_late, a.status == "booked",
                   a.starts_at > now)
            .where(no_reminder_yet(key, byte_order=byte_order)))


def candidate_counts(location_ids, day: date, now: datetime, *, byte_order: bool,
                     existing: bool = True) -> dict:
    """How many rows per (channel, status) ``candidates`` would create (no slots, no sort):
    what a parallel plan needs to know of its groups before their first send slots.
    ``existing=False``: as if none existed yet, an upper bound (``candidates``)."""
    c = candidates(location_ids, day, now, byte_order=byte_order, slots=False,
                   existing=existing).subquery()
    return {(channel, status): n for channel, status, n in db.session.execute(
        select(c.c.channel, c.c.status, func.count()).group_by(c.c.channel, c.c.status))}
