"""Notifications (one message to one patient on one channel) and their status history."""
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from db.base import BigId, UTCDateTime, db, utcnow
from db.clinic import Appointment, Patient
from db.statuses import CHANNELS, KINDS, PENDING, STATUSES, Kind, Status

__all__ = ["CHANNELS", "KINDS", "PENDING", "STATUSES", "Notification", "NotificationEvent",
           "status_check"]


#: Every dedupe key names its appointment: ``<kind>:<appointment>:...``, a broadcast's third.
NAMES_APPOINTMENT = (
    "CASE split_part(dedupe_key, ':', 1) WHEN 'reply' THEN true "
    "WHEN 'broadcast' THEN split_part(dedupe_key, ':', 3) = appointment_id::text "
    "ELSE split_part(dedupe_key, ':', 2) = appointment_id::text END")


def status_check(column: str, name: str) -> CheckConstraint:
    """The database refuses any status outside the vocabulary (db.statuses)."""
    values = ", ".join(f"'{status}'" for status in STATUSES)
    return CheckConstraint(f"{column} IN ({values})", name=name)


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_status_due_at", "status", "due_at"),
                      # Only sent rows have a provider's id: a planned row costs no entry.
                      Index("ix_notifications_provider_message_id", "provider_message_id",
                            postgresql_where=text("provider_message_id IS NOT NULL")),
                      status_check("status", "status"),
                      # What makes a notification unique: the same change, or the same day's
                      # reminder, is never notified twice, whichever source (webhook, ETL,
                      # tick) sees it first. Led by the appointment (migration 0015): one
                      # index serves readers by appointment and by key, and a plan's entries
                      # go in left to right. Unique per appointment is unique, because
                      # every key names its appointment (the check; a reply's names its
                      # answer, stored once). The key's own unique constraint went a
                      # release later (migration 0016).
                      UniqueConstraint("appointment_id", "dedupe_key",
                                       name="uq_notifications_appointment_dedupe_key"),
                      CheckConstraint(NAMES_APPOINTMENT, name="dedupe_key_names_appointment"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # No foreign keys on these two: checking one locks the appointment's (the patient's) row,
    # which at a million planned reminders rewrote both tables and was half of planning's
    # time and two thirds of its WAL. Every notification is created by db.creation from rows
    # that exist, and a trigger refuses to delete (or renumber) an appointment or patient
    # that has notifications, as the keys did (migration 0012). No index by patient either
    # (migration 0013): each planned reminder paid an entry for a lookup that goes through
    # the patient's appointments instead (Appointment.patient_id is indexed).
    appointment_id: Mapped[int] = mapped_column(Integer)
    patient_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(8))
    dedupe_key: Mapped[str] = mapped_column(String(160))
    revision: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default=Status.PLANNED)
    due_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    deadline_at = mapped_column(UTCDateTime, nullable=True)
    queued_at = mapped_column(UTCDateTime, nullable=True)
    sent_at = mapped_column(UTCDateTime, nullable=True)
    delivered_at = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Set while a send attempt is in flight, so a duplicate message waits instead of
    # sending twice; a crashed attempt's lease simply runs out.
    claimed_until = mapped_column(UTCDateTime, nullable=True)
    provider: Mapped[str | None] = mapped_column(String(16))
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    error_code: Mapped[str | None] = mapped_column(String(32))
    # Why a notification ended where it did, in words for staff; never patient data.
    reason: Mapped[str | None] = mapped_column(String(200))
    segments: Mapped[int | None] = mapped_column(Integer)
    # The SMS an e-mail fallback stands in for. Checked by a trigger, not a foreign key
    # (migration 0014): a key's check fired for every planned reminder, NULL or not.
    fallback_of_id: Mapped[int | None] = mapped_column(BigId)
    # The plan run (db.plans) that created this reminder planned: its first history line.
    # No foreign key and no index: each would cost a check or an entry per planned row, and
    # the run is written by the same statement and never removed (append-only).
    plan_run_id: Mapped[int | None] = mapped_column(BigId)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    appointment = relationship(Appointment, primaryjoin=lambda: foreign(
        Notification.appointment_id) == Appointment.id)
    patient = relationship(Patient, primaryjoin=lambda: foreign(
        Notification.patient_id) == Patient.id)
    # The whole history, its plan run's line included (db.plans.HistoryLine); read-only:
    # lines are written by db.creation and db.transitions.
    events = relationship("HistoryLine", viewonly=True,
                          primaryjoin="Notification.id == foreign(HistoryLine.notification_id)",
                          order_by=lambda: _history_order())

    @property
    def queue(self) -> str:
        """Reminders wait their turn per channel; changes and cancellations jump the line."""
        return self.channel if self.kind == Kind.REMINDER else "priority"


def _history_order():
    from db.plans import HISTORY_ORDER  # db.plans reads this module's tables
    return HISTORY_ORDER


class NotificationEvent(db.Model):
    """Append-only history of status changes (PostgreSQL refuses UPDATE and DELETE on it)."""

    __tablename__ = "notification_events"
    __table_args__ = (status_check("to_status", "to_status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    notification_id: Mapped[int] = mapped_column(BigId, ForeignKey("notifications.id"),
                                                 index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    source: Mapped[str] = mapped_column(String(32))
    error_code: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)

    notification = relationship(Notification)
