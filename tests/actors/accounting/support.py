"""A clinic day with every outcome, written straight to the rows."""
from datetime import UTC, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from db import Notification, db, utcnow
from tests.actors.reminders.support import booking, clinic, patient

_keys = count(1)


def zone_at(hour: int, now: datetime | None = None) -> str:
    """A fixed-offset zone where it is about ``hour`` o'clock now."""
    now = now or utcnow()
    offset = hour - now.astimezone(UTC).hour
    offset = (offset + 12) % 24 - 12
    offset = max(-12, min(14, offset))
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc signs are inverted


def local_today(location) -> "datetime.date":
    return utcnow().astimezone(ZoneInfo(location.timezone)).date()


def add(appointment, *, status: str, channel: str = "sms", kind: str = "change",
        provider: str | None = None, sent_hours_ago: float | None = None,
        deadline_at=None) -> int:
    now = utcnow()
    row = {"appointment_id": appointment.id, "patient_id": appointment.patient_id,
           "kind": kind, "channel": channel, "status": status, "revision": 0,
           "dedupe_key": f"test:{appointment.id}:{next(_keys)}", "due_at": now,
           "provider": provider, "deadline_at": deadline_at,
           "sent_at": None if sent_hours_ago is None else now - timedelta(hours=sent_hours_ago)}
    return db.session.execute(insert(Notification).returning(Notification.id), row).scalar_one()


def mixed_day(external_id: str = "L-MIX"):
    """Today (15:00 at the clinic, its 09:00-12:00 window closed) with one of everything.

    SMS: 3 delivered, 1 unconfirmed (sent 7 h ago on Twilio), 1 pending (sent just now),
    1 failed, 1 expired reminder, 1 never planned; e-mail: 2 accepted by SMTP; not due:
    1 suppressed, 1 cancelled. SMS rate 3 / 7, e-mail 2 / 2.
    """
    location = clinic(external_id, zone_at(15))
    today = local_today(location)
    seen = booking(location, patient("both"), today + timedelta(days=5))
    for _ in range(3):
        add(seen, status="delivered", provider="twilio")
    add(seen, status="sent", provider="twilio", sent_hours_ago=7)
    add(seen, status="sent", provider="twilio", sent_hours_ago=0)
    add(seen, status="failed", provider="twilio")
    add(seen, status="expired", kind="reminder", deadline_at=utcnow() - timedelta(hours=3))
    for _ in range(2):
        add(seen, status="sent", channel="email", provider="smtp", sent_hours_ago=1)
    add(seen, status="suppressed")
    add(seen, status="cancelled", channel="email")
    # Due a reminder today (its day is three days on), known for weeks, never planned.
    booking(location, patient("sms"), today + timedelta(days=3))
    db.session.commit()
    return location
