"""Append-only history of a patient's consent per channel, with where it came from."""
from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import UTCDateTime, db, utcnow
from db.clinic import Patient

SOURCES = ("sms-keyword", "provider-error", "email-bounce", "email-complaint", "staff",
           "email-unsubscribe", "patient-page")


class ConsentChange(db.Model):
    __tablename__ = "consent_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    opted_out: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(200))
    recorded_by: Mapped[str | None] = mapped_column(String(200))
    at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


def record_consent(patient: Patient, channel: str, *, opted_out: bool, source: str,
                   reason: str | None = None, recorded_by: str | None = None) -> ConsentChange:
    """Set the patient's consent for ``channel`` and keep the change in the history."""
    setattr(patient, f"{channel}_opted_out", opted_out)
    change = ConsentChange(patient_id=patient.id, channel=channel, opted_out=opted_out,
                           source=source, reason=reason, recorded_by=recorded_by)
    db.session.add(change)
    return change
