"""A staff resend: a new notification for the same appointment, patient, kind and channel.

Domain logic, not the admin's: the view asks for a resend after its confirmation page, the
audit log records who asked. The new row is keyed to the old one and to the number of
resends the confirmation page saw, so a double submit creates one notification.
"""
from sqlalchemy import func, select

from actors.delivery import enqueue_send
from db import Notification, Status, create_notifications, db, utcnow

RESENDABLE = (Status.FAILED, Status.UNDELIVERED, Status.EXPIRED)


def _prefix(notification: Notification) -> str:
    # The old key plus a suffix: a reminder's key keeps its appointment day, which the send
    # actor checks (actors.reminders.keys), and the unique key stops a double submit.
    return f"{notification.dedupe_key}:resend-"


def resend_count(notification: Notification) -> int:
    """How many resends of ``notification`` exist (what a confirmation page shows)."""
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.appointment_id == notification.appointment_id,
        Notification.dedupe_key.like(_prefix(notification) + "%")))


def resend(old: Notification, seen: int, *, by: str = "staff") -> Notification | None:
    """Queue a resend of ``old`` (enqueued after commit); None when this one exists already."""
    now = utcnow()
    created = create_notifications([{
        "appointment_id": old.appointment_id, "patient_id": old.patient_id, "kind": old.kind,
        "channel": old.channel, "dedupe_key": f"{_prefix(old)}{seen + 1}",
        "revision": old.appointment.revision, "status": Status.QUEUED, "queued_at": now,
        "due_at": now, "deadline_at": None,
    }], source=by, now=now, detail=f"resend of notification {old.id}")
    if not created:
        return None
    new = db.session.get(Notification, created[0].id)
    enqueue_send(new)
    return new
