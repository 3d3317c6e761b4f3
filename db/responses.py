"""What patients answer (SMS replies, e-mail links), the staff inbox of unclear replies, and
the outbox of events the appointment system hears about (docs/architecture.md, "The
outgoing webhook").

A response and its outbox row are written in one transaction, so the appointment system
hears about every stored answer, and only about stored ones. The raw text of a reply lives
here and nowhere else: logs, broker messages and alerts carry the ids.
"""
from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import BigId, UTCDateTime, db, utcnow
from db.clinic import Appointment, Location, Patient

#: confirm and cancel are the patient's answers; unclear is anything staff must read.
RESPONSE_KINDS = ("confirm", "cancel", "unclear")
#: What the appointment system is told for each answer (its webhook's ``type``).
EVENT_TYPES = {"confirm": "appointment.confirmed", "cancel": "appointment.cancellation_requested"}
OUTBOX_STATUSES = ("pending", "delivered", "failed")


def _one_of(column: str, values, name: str) -> CheckConstraint:
    return CheckConstraint(f"{column} IN ({', '.join(repr(v) for v in values)})", name=name)


class PatientResponse(db.Model):
    __tablename__ = "patient_responses"
    __table_args__ = (_one_of("kind", RESPONSE_KINDS, "kind"),
                      _one_of("channel", ("sms", "email"), "channel"),
                      Index("ix_patient_responses_inbox", "location_id", "needs_staff",
                            "handled_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # What makes an answer count once: Twilio's MessageSid (it retries a slow webhook), or
    # the e-mail, notification and action of a link (a second click is the same answer).
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(8))
    # Null when no appointment (or no patient) could be matched: the reply is the inbox's.
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"),
                                                       index=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    # The clinic whose staff read it; null only for a number no patient has.
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    # The message the patient answered, and the acknowledgement we sent back.
    notification_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("notifications.id"))
    ack_notification_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("notifications.id"), index=True)
    raw_text: Mapped[str | None] = mapped_column(Text)
    received_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    needs_staff: Mapped[bool] = mapped_column(default=False)
    handled_at = mapped_column(UTCDateTime, nullable=True)
    handled_by: Mapped[str | None] = mapped_column(String(320))

    appointment = relationship(Appointment)
    patient = relationship(Patient)
    location = relationship(Location)


class OutboundWebhook(db.Model):
    """One event for the appointment system; retried until a 2xx or its time is up."""

    __tablename__ = "outbound_webhooks"
    __table_args__ = (_one_of("status", OUTBOX_STATUSES, "status"),
                      Index("ix_outbound_webhooks_status_next_attempt_at", "status",
                            "next_attempt_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    response_id: Mapped[int] = mapped_column(BigId, ForeignKey("patient_responses.id"),
                                             unique=True)
    # Standard Webhooks' webhook-id: the same on every attempt, so the receiver drops repeats.
    webhook_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    # The exact bytes signed and sent: external ids, a time and a channel, no patient data.
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    # Past this an unanswered event is failed (OUTBOUND_WEBHOOK_MAX_HOURS after it was
    # written, or after ops retried it).
    give_up_at = mapped_column(UTCDateTime, nullable=False)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    delivered_at = mapped_column(UTCDateTime, nullable=True)
    failed_at = mapped_column(UTCDateTime, nullable=True)

    response = relationship(PatientResponse)


class OutboundAttempt(db.Model):
    """Every try of an outbox event: when, what came back (status code or error class)."""

    __tablename__ = "outbound_webhook_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(BigId, ForeignKey("outbound_webhooks.id"),
                                           index=True)
    at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(200))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
