"""An e-mail reminder instead of an SMS the provider refused for good.

Invalid number, landline, unsubscribed: the patient still hears, by e-mail, when they have
an address and have not opted out of e-mail, and no e-mail reminder for that appointment
and day exists already. Runs in the failing send's transaction; the caller enqueues.
"""
from sqlalchemy import select

from actors.recipients import why_unreachable
from actors.reminders.keys import reminder_day, reminder_key
from actors.upsert import insert_ignoring_conflict
from db import Notification, NotificationEvent, db, utcnow


def email_fallback(failed: Notification) -> Notification | None:
    day = reminder_day(failed.dedupe_key)
    if failed.kind != "reminder" or failed.channel != "sms" or day is None:
        return None
    if why_unreachable(failed.patient, "email"):
        return None
    key = reminder_key(failed.appointment_id, day, "email", "fallback")
    existing = db.session.execute(select(Notification.id).where(Notification.dedupe_key.in_(
        [reminder_key(failed.appointment_id, day, "email"), key]))).first()
    if existing is not None:
        return None
    now = utcnow()
    created = insert_ignoring_conflict(Notification, {
        "appointment_id": failed.appointment_id, "patient_id": failed.patient_id,
        "kind": "reminder", "channel": "email", "dedupe_key": key, "revision": failed.revision,
        "status": "queued", "queued_at": now, "due_at": now, "deadline_at": failed.deadline_at,
        "attempts": 0, "fallback_of_id": failed.id, "created_at": now, "updated_at": now,
    }, "dedupe_key")
    if not created:
        return None
    fallback = db.session.execute(select(Notification).where(Notification.dedupe_key == key)
                                  ).scalar_one()
    db.session.add(NotificationEvent(notification_id=fallback.id, from_status=None,
                                     to_status="queued", at=now, source="sms-fallback",
                                     detail=f"instead of SMS {failed.id} ({failed.error_code})"))
    return fallback
