"""The daily delivery ledger: what happened to every due notification, per clinic day.

One row per clinic-local due date x location x channel x kind, written when the day
closes (its last receipts had time to arrive) and re-computable for any past day, so a
year of history reads in milliseconds and survives pruning of old notifications. The
counts' meaning is ``actors.accounting`` (docs/architecture.md, "Delivery accounting").
"""
from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import UTCDateTime, db, utcnow

#: The counted columns of a ledger row, in the order of the delivery report.
COUNTS = ("due", "delivered", "accepted", "unconfirmed", "failed", "undelivered", "expired",
          "never_planned", "pending")


class DeliveryDay(db.Model):
    __tablename__ = "delivery_ledger"

    local_date = mapped_column(Date, primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    due: Mapped[int] = mapped_column(Integer, default=0)
    delivered: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    unconfirmed: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    undelivered: Mapped[int] = mapped_column(Integer, default=0)
    expired: Mapped[int] = mapped_column(Integer, default=0)
    never_planned: Mapped[int] = mapped_column(Integer, default=0)
    pending: Mapped[int] = mapped_column(Integer, default=0)


class ClinicDay(db.Model):
    """A clinic's day as the checks saw it: its reminder window judged, its ledger closed."""

    __tablename__ = "clinic_days"

    local_date = mapped_column(Date, primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    # Nothing was planned PLAN_GRACE_MINUTES into the window: on-call was warned early.
    early_warning_at = mapped_column(UTCDateTime, nullable=True)
    # The reminder window closed and every due reminder was accounted for.
    window_checked_at = mapped_column(UTCDateTime, nullable=True)
    missed: Mapped[int | None] = mapped_column(Integer)
    # The ledger rows of the day were written (the day ended and its receipts had time).
    ledger_closed_at = mapped_column(UTCDateTime, nullable=True)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)
