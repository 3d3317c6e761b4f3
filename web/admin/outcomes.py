"""The lists behind Today's numbers: one SQL clause per outcome, used both to count the
number on Today and to filter the notification list its link opens, so a number and the list
behind it cannot disagree. Outcomes follow ``actors.accounting.tally.classify``."""
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import and_, false, func, not_, or_, select

from db import Appointment, Location, Notification, db
from db.statuses import NOT_DUE, NOT_REACHED, PENDING, PROVIDERS_WITH_RECEIPTS, Status
from web.admin.clinic_time import zone_of

#: Today's columns, in the order staff read them.
OUTCOMES = {"due": "due", "sent": "sent", "reached": "delivered / accepted",
            "failed": "failed", "waiting": "not yet sent"}


def clause(outcome: str, now: datetime):
    n = Notification
    timeout = timedelta(hours=current_app.config["RECEIPT_TIMEOUT_HOURS"])
    receipts = n.provider.in_(sorted(PROVIDERS_WITH_RECEIPTS))
    passed = and_(n.deadline_at.is_not(None), n.deadline_at <= now)
    if outcome == "due":
        return not_(n.status.in_(NOT_DUE))
    if outcome == "sent":  # the provider took it, whatever came after
        return n.status.in_((Status.SENT, Status.DELIVERED, Status.UNDELIVERED))
    if outcome == "reached":
        return or_(n.status == Status.DELIVERED,
                   and_(n.status == Status.SENT, or_(n.provider.is_(None), not_(receipts))))
    if outcome == "failed":  # not reached: failed, undelivered, expired, unconfirmed
        return or_(n.status.in_(NOT_REACHED), and_(n.status.in_(PENDING), passed),
                   and_(n.status == Status.SENT, receipts, n.sent_at <= now - timeout))
    if outcome == "waiting":
        return and_(n.status.in_(PENDING), not_(passed))
    return false()


def day_bounds(day: date, zone_name: str) -> tuple[datetime, datetime]:
    zone = zone_of(zone_name)
    return (datetime.combine(day, time(0), zone),
            datetime.combine(day + timedelta(days=1), time(0), zone))


def day_clause(location: Location, day: date):
    start, end = day_bounds(day, location.timezone)
    return and_(Notification.due_at >= start, Notification.due_at < end)


def counts(location: Location, day: date, now: datetime) -> dict[tuple[str, str], int]:
    """{(channel, outcome): n} of the notifications due at ``location`` on its ``day``."""
    columns = [func.count().filter(clause(name, now)).label(name) for name in OUTCOMES]
    rows = db.session.execute(
        select(Notification.channel, *columns)
        .join(Appointment, Appointment.id == Notification.appointment_id)
        .where(Appointment.location_id == location.id, day_clause(location, day))
        .group_by(Notification.channel)).all()
    return {(row.channel, name): getattr(row, name) for row in rows for name in OUTCOMES}
