"""How a day's reminders stand, per location and channel (the CLI's ``reminders status``)."""
from collections import defaultdict
from datetime import date

from sqlalchemy import func, select

from db import Appointment, Location, Notification, db

COLUMNS = ("planned", "queued", "sending", "sent", "delivered", "failed", "expired",
           "suppressed", "cancelled", "skipped")
#: Statuses counted under another column of the report.
FOLDED = {"undelivered": "failed"}


def reminder_status(appointment_day: date) -> dict:
    """{(location external id, channel): {status: count}} for appointments on that day.

    Reminders of appointments since moved to another day are counted under the day they
    were planned for (the date in their key), which is what was sent.
    """
    n, a, loc = Notification, Appointment, Location
    rows = db.session.execute(
        select(loc.external_id, n.channel, n.status, func.count())
        .select_from(n).join(a, a.id == n.appointment_id).join(loc, loc.id == a.location_id)
        .where(n.kind == "reminder", n.dedupe_key.like(f"reminder:%:{appointment_day}:%"))
        .group_by(loc.external_id, n.channel, n.status)).all()
    report = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
    for location, channel, status, count in rows:
        report[(location, channel)][FOLDED.get(status, status)] += count
    return dict(sorted(report.items()))
