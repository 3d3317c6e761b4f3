"""An e-mail reminder instead of an SMS the provider refused for good.

Invalid number, landline, unsubscribed, or a receipt saying the SMS never arrived: the
patient still hears, by e-mail, when they have an address and have not opted out of
e-mail, the window is still open, and no e-mail reminder for that appointment and day
exists already. Runs in the failing send's (or receipt's) transaction; the caller enqueues.
"""
from sqlalchemy import select

from actors.recipients import why_unreachable
from actors.reminders.keys import reminder_day, reminder_key
from db import Kind, Notification, Status, create_notifications, db, utcnow


def email_fallback(failed: Notification) -> Notification | None:
    """The queued fallback e-mail of ``failed``, or None when there is none to send."""
    day = reminder_day(failed.dedupe_key)
    if failed.kind != Kind.REMINDER or failed.channel != "sms" or day is None:
        return None
    now = utcnow()
    if failed.deadline_at is not None and failed.deadline_at <= now:
        return None  # the window closed: the call list takes it from here
    if why_unreachable(failed.patient, "email"):
        return None
    key = reminder_key(failed.appointment_id, day, "email", "fallback")
    existing = db.session.execute(select(Notification.id).where(
        Notification.appointment_id == failed.appointment_id, Notification.dedupe_key.in_(
            [reminder_key(failed.appointment_id, day, "email"), key]))).first()
    if existing is not None:
        return None
    created = create_notifications([{
        "appointment_id": failed.appointment_id, "patient_id": failed.patient_id,
        "kind": Kind.REMINDER, "channel": "email", "dedupe_key": key,
        "revision": failed.revision, "status": Status.QUEUED, "queued_at": now, "due_at": now,
        "deadline_at": failed.deadline_at, "fallback_of_id": failed.id,
    }], source="sms-fallback", now=now,
        detail=f"instead of SMS {failed.id} ({failed.error_code})")
    return db.session.get(Notification, created[0].id) if created else None
