"""Locations, patients and appointments: the local copy of the booking system's data."""
from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import UTCDateTime, db, utcnow

APPOINTMENT_STATUSES = ("booked", "cancelled", "fulfilled", "noshow")
CHANNEL_PREFERENCES = ("sms", "email", "both")


class Location(db.Model):
    __tablename__ = "locations"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(32))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class Patient(db.Model):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    given_name: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    email: Mapped[str | None] = mapped_column(String(320))
    preferred_channel: Mapped[str] = mapped_column(String(8))
    language: Mapped[str] = mapped_column(String(16), default="en")
    # Consent and reachability, kept separately from upstream data because upstream never
    # tells us about a STOP reply or a hard bounce; the history lives in consent_changes.
    sms_opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    email_opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    email_undeliverable: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set when the patient picked their channels on the preferences page: from then on
    # upstream's preferred_channel no longer overwrites theirs (actors.appointments).
    channel_chosen_at = mapped_column(UTCDateTime, nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    def channels(self) -> list[str]:
        """The channels the patient chose, in the order they are notified."""
        return ["sms", "email"] if self.preferred_channel == "both" else [self.preferred_channel]


class Appointment(db.Model):
    __tablename__ = "appointments"
    # A day's appointments by clinic, and of those the ones first seen after a given time
    # (planning's bookings too late for their reminder day, migration 0017).
    __table_args__ = (Index("ix_appointments_local_date_location_created_at", "local_date",
                            "location_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    status: Mapped[str] = mapped_column(String(16))
    starts_at = mapped_column(UTCDateTime, nullable=False)
    # The calendar day at the clinic, stored so that planning a day is an indexed,
    # set-based query on any database (SQLite has no time zone arithmetic).
    local_date = mapped_column(Date, nullable=False)
    source_updated_at = mapped_column(UTCDateTime, nullable=False)
    # Bumped on every change a patient is told about; part of the notification key.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    missing_from_source_at = mapped_column(UTCDateTime, nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)

    patient = relationship(Patient, lazy="joined")
    location = relationship(Location, lazy="joined")
