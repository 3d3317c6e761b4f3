"""Per-clinic settings: what a location sets for itself; a NULL column means the global one.

Edited by admins in the admin (audited). Read through ``actors.clinic_settings``, which
resolves each value against the global setting of the same name.
"""
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import UTCDateTime, db, utcnow


class ClinicSettings(db.Model):
    __tablename__ = "clinic_settings"

    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"),
                                             primary_key=True)
    # "HH:MM-HH:MM", local, same day, as REMINDER_WINDOW.
    reminder_window: Mapped[str | None] = mapped_column(String(11))
    reminder_days_before: Mapped[int | None] = mapped_column(Integer)
    # "HH:MM-HH:MM", may cross midnight; NULL: off (changes go out at once).
    quiet_hours: Mapped[str | None] = mapped_column(String(11))
    # Replaces the location's phone where messages say whom to ask.
    help_contact: Mapped[str | None] = mapped_column(String(64))
    # "en,es": the languages the clinic's messages are offered in, the first its default.
    languages: Mapped[str | None] = mapped_column(String(64))
    updated_by: Mapped[str | None] = mapped_column(String(255))
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)
