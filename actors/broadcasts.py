"""Broadcasts: preview and confirm one clinic's message to everyone booked on a local day.

The preview counts the recipients per channel and renders the SMS as the first patient
would get it, with its segment count; the confirm creates one ``broadcast`` notification
per booked appointment and chosen channel through ``create_notifications`` (the key names
the broadcast, so a doubled confirm or one repeated after a crash adds nothing) and hands
the new ones to the ``priority`` queue after the caller's commit. A row whose enqueue was
lost (the process killed after the commit) stays ``queued`` and the sweep re-enqueues it.
"""
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from actors.delivery import enqueue_send
from actors.recipients import why_unreachable
from actors.rendering import context_for, language_for, render
from db import Appointment, Notification, create_notifications, db
from db.broadcasts import MAX_TEXT_CHARS, Broadcast, broadcast_id_of
from db.statuses import Kind, Status


@dataclass
class Preview:
    #: channel -> (booked appointments, patients reachable on it)
    recipients: dict[str, tuple[int, int]] = field(default_factory=dict)
    sms: str | None = None
    segments: int | None = None
    #: the most segments any recipient's SMS costs (names and times differ in length)
    max_segments: int | None = None


def booked(broadcast: Broadcast) -> list[Appointment]:
    """The appointments booked at the broadcast's clinic on its local day, in start order."""
    return list(db.session.scalars(
        select(Appointment).where(Appointment.location_id == broadcast.location_id,
                                  Appointment.local_date == broadcast.local_date,
                                  Appointment.status == "booked")
        .order_by(Appointment.starts_at, Appointment.id)))


def broadcast_context(broadcast: Broadcast) -> dict:
    """What the broadcast templates add to an appointment's context: which wording, and the
    staff's own text (no patient data: every recipient reads the same words)."""
    return {"broadcast": broadcast.template, "message": broadcast.text or ""}


def context_of(notification) -> dict:
    """The broadcast context of a notification being rendered (its key names the broadcast)."""
    broadcast = db.session.get(Broadcast, broadcast_id_of(notification.dedupe_key))
    return broadcast_context(broadcast) if broadcast is not None else {
        "broadcast": "text", "message": ""}


def _sms(broadcast: Broadcast, appointment: Appointment):
    context = {**context_for(appointment, appointment.patient, appointment.location),
               **broadcast_context(broadcast)}
    return render(Kind.BROADCAST, "sms", context,
                  language_for(appointment.patient, appointment.location))


def preview(broadcast: Broadcast) -> Preview:
    appointments = booked(broadcast)
    result = Preview()
    for channel in broadcast.channel_list:
        reachable = sum(1 for a in appointments if why_unreachable(a.patient, channel) is None)
        result.recipients[channel] = (len(appointments), reachable)
    if "sms" in broadcast.channel_list and appointments:
        rendered = [_sms(broadcast, a) for a in appointments]
        result.sms, result.segments = rendered[0].body, rendered[0].segments
        result.max_segments = max(r.segments for r in rendered)
    return result


def _deadline(broadcast: Broadcast) -> datetime:
    """A notice about a day is no use once that day is over at the clinic."""
    zone = ZoneInfo(broadcast.location.timezone)
    return datetime.combine(broadcast.local_date + timedelta(days=1), time.min, zone)


def confirm(broadcast: Broadcast, *, account: str, now: datetime) -> list:
    """Create the broadcast's notifications not created yet; the caller audits and commits.

    Returns the rows created (none on a repeated confirm). Whether a patient can be reached
    is decided at send time like any notification: one with no number is ``suppressed``
    with its reason, visible in the broadcast's progress.
    """
    if broadcast.confirmed_at is None:
        broadcast.confirmed_at, broadcast.confirmed_by = now, account
    deadline = _deadline(broadcast)
    rows = [{"appointment_id": a.id, "patient_id": a.patient_id, "kind": Kind.BROADCAST,
             "channel": channel, "dedupe_key": broadcast.key(a.id, channel),
             # Sent unless the appointment changes first: then its change notice says more.
             "revision": a.revision, "status": Status.QUEUED, "due_at": now,
             "queued_at": now, "deadline_at": deadline}
            for a in booked(broadcast) for channel in broadcast.channel_list]
    created = create_notifications(rows, source="broadcast", now=now,
                                   detail=f"broadcast {broadcast.id}")
    if created:
        for notification in db.session.scalars(
                select(Notification).where(Notification.id.in_([r.id for r in created]))):
            enqueue_send(notification)
    return created


def progress(broadcast: Broadcast) -> dict[tuple[str, str], int]:
    """{(channel, status): count} of the broadcast's notifications."""
    n = Notification
    prefix = f"broadcast:{broadcast.id}:"
    appointments = select(Appointment.id).where(
        Appointment.location_id == broadcast.location_id,
        Appointment.local_date == broadcast.local_date)
    # Narrowed by appointment first (the unique index it leads): a key prefix alone scans.
    query = (select(n.channel, n.status, func.count()).where(
        n.kind == Kind.BROADCAST, n.appointment_id.in_(appointments),
        n.dedupe_key.startswith(prefix)).group_by(n.channel, n.status))
    return {(channel, status): count for channel, status, count in db.session.execute(query)}


def draft(location, local_date, *, template: str | None, text: str | None,
          channels: list[str], account: str) -> Broadcast:
    """A broadcast ready to preview, added to the session; ``ValueError`` says what is wrong."""
    text = (text or "").strip() or None
    if (template is None) == (text is None):
        raise ValueError("choose a template or write a text, not both")
    if template is not None and template not in ("closure", "delay"):
        raise ValueError(f"unknown template {template!r}: closure or delay")
    if text is not None and (len(text) > MAX_TEXT_CHARS or not text.isprintable()):
        raise ValueError(f"the text must be one line of at most {MAX_TEXT_CHARS} characters")
    chosen = [channel for channel in ("sms", "email") if channel in channels]
    if not chosen:
        raise ValueError("choose at least one channel")
    broadcast = Broadcast(location_id=location.id, location=location, local_date=local_date,
                          template=template or "text", text=text, channels=",".join(chosen),
                          created_by=account)
    db.session.add(broadcast)
    return broadcast
