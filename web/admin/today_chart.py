"""Today's picture of a reminder window: reminders handed to the provider, cumulative, against
the plan (all of the day's reminders spread evenly over the window). Server-rendered SVG
points: no charting library, nothing from a CDN, and the refresher only moves the points."""
from datetime import datetime

from sqlalchemy import select

from db import Appointment, Location, Notification, db

WIDTH, HEIGHT, STEPS = 300, 80, 30


def _y(count: int, total: int) -> float:
    return round(HEIGHT - (HEIGHT - 4) * count / total, 1) if total else HEIGHT


def progress_chart(location: Location, day_start: datetime, day_end: datetime,
                   opens: datetime, closes: datetime, now: datetime) -> dict:
    rows = db.session.execute(
        select(Notification.sent_at)
        .join(Appointment, Appointment.id == Notification.appointment_id)
        .where(Appointment.location_id == location.id, Notification.kind == "reminder",
               Notification.due_at >= day_start, Notification.due_at < day_end,
               Notification.status.not_in(("cancelled", "suppressed", "skipped")))).all()
    total = len(rows)
    sent = sorted(row.sent_at for row in rows if row.sent_at is not None)
    span = (closes - opens).total_seconds()
    points = []
    until = min(max(now, opens), closes)
    for step in range(STEPS + 1):
        moment = opens + (closes - opens) * step / STEPS
        if moment > until:
            break
        # The window's end counts every send of the day: a resend after it is still sent.
        count = len(sent) if step == STEPS else sum(1 for at in sent if at <= moment)
        points.append(f"{round(WIDTH * step / STEPS, 1)},{_y(count, total)}")
    now_x = round(WIDTH * min(max((now - opens).total_seconds() / span, 0.0), 1.0), 1)
    return {"width": WIDTH, "height": HEIGHT, "total": total, "sent": len(sent),
            "plan": f"0,{HEIGHT} {WIDTH},{_y(total, total)}", "actual": " ".join(points),
            "now_x": now_x}
