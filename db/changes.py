"""What changed in an appointment, before and after, as staff read it on the appointment
page: the move itself (old time and venue, new time and venue), not only that a notice went.
Written by ``actors.appointments`` in the same transaction as the change."""
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import BigId, UTCDateTime, db, utcnow
from db.clinic import Location


class AppointmentChange(db.Model):
    __tablename__ = "appointment_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), index=True)
    at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    source: Mapped[str] = mapped_column(String(32))
    revision: Mapped[int] = mapped_column(Integer)
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    from_starts_at = mapped_column(UTCDateTime, nullable=False)
    to_starts_at = mapped_column(UTCDateTime, nullable=False)
    from_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    to_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))

    from_location = relationship(Location, foreign_keys=[from_location_id], lazy="joined")
    to_location = relationship(Location, foreign_keys=[to_location_id], lazy="joined")


def record_change(appointment, *, source: str, status: str, starts_at, location_id: int) -> None:
    """Call before the new values are set on ``appointment``; nothing when nothing moved."""
    if (appointment.status, appointment.starts_at, appointment.location_id) == (
            status, starts_at, location_id):
        return
    db.session.add(AppointmentChange(
        appointment_id=appointment.id, source=source, revision=appointment.revision,
        from_status=appointment.status, to_status=status,
        from_starts_at=appointment.starts_at, to_starts_at=starts_at,
        from_location_id=appointment.location_id, to_location_id=location_id))
