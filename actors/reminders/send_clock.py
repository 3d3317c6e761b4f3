"""Where each channel's next free send slot is, and a slot's send time in SQL.

The send rate is shared by every clinic: a group's sends start after the last one planned,
of an earlier tick or of the same plan (``actors.reminders.plan``, ``actors.reminders.parallel``).
"""
from datetime import datetime, timedelta

from sqlalchemy import Float, cast, func, literal, select

from actors.reminders.window import Window
from db import Notification, Status, UTCDateTime, db


class SendClock:
    """Where each channel's next free send slot is: the rate is shared by every clinic, so a
    group's sends start after the last planned one, of an earlier tick or of this plan.

    The database is asked once per channel and plan; after that the plan's own summaries
    (or, planning in parallel, the groups' counts) say where it left off (asking again per
    group cost a backward index scan over every row the plan had just written).
    """

    def __init__(self, rates: dict):
        self.rates = rates
        self.last: dict = {}

    def bases(self, window: Window, now: datetime) -> dict:
        start = max(window.start, now)
        bases = {}
        for channel, rate in self.rates.items():
            if channel not in self.last:
                # Backwards along ix_notifications_status_due_at: the first match is the latest.
                self.last[channel] = db.session.scalar(
                    select(Notification.due_at)
                    .where(Notification.status == Status.PLANNED,
                           Notification.kind == "reminder", Notification.channel == channel)
                    .order_by(Notification.status.desc(), Notification.due_at.desc()).limit(1))
            last = self.last[channel]
            bases[channel] = max(start, last + timedelta(seconds=1 / rate)) if last else start
        return bases

    def planned(self, summary) -> None:
        for channel, status, _, last_due in summary:
            if status == Status.PLANNED and last_due is not None:
                known = self.last.get(channel)
                self.last[channel] = last_due if known is None else max(known, last_due)

    def will_plan(self, bases: dict, counts: dict) -> None:
        """``counts`` (per channel and status) planned from ``bases``: their last send time
        computed by the database exactly as ``plan._rows`` computes it, so the next group's base is
        the one a plan one group after the other would give."""
        summary = []
        for (channel, status), count in counts.items():
            if status == Status.PLANNED and count:
                last = db.session.scalar(select(due_at_slot(literal(bases[channel], UTCDateTime),
                                                     literal(count), 1 / self.rates[channel])))
                summary.append((channel, Status.PLANNED, count, last))
        self.planned(summary)


def due_at_slot(base, slot, spacing):
    """The send time of ``slot`` (1, 2, ...) at ``spacing`` seconds from ``base``, in SQL."""
    return base + func.make_interval(0, 0, 0, 0, 0, 0, cast((slot - 1) * spacing, Float))
