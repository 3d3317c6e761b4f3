"""Broadcasts: one message from a clinic to every patient booked there on one local day.

A row is written at the preview, so the confirm step names it by id: the notifications it
creates are keyed ``broadcast:<id>:<appointment>:<channel>``, which makes a doubled confirm
or a confirm repeated after a crash create each patient's message once.
"""
from sqlalchemy import CheckConstraint, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import BigId, UTCDateTime, db, utcnow
from db.clinic import Location

#: The shipped wordings; "text" is the staff's own short text.
TEMPLATES = ("closure", "delay", "text")
#: Past this an SMS costs three segments or more; a broadcast is a short notice.
MAX_TEXT_CHARS = 300


class Broadcast(db.Model):
    __tablename__ = "broadcasts"
    __table_args__ = (
        CheckConstraint("template IN ('closure', 'delay', 'text')", name="template"),
        CheckConstraint("template <> 'text' OR text IS NOT NULL", name="text_given"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    local_date = mapped_column(Date, nullable=False)
    template: Mapped[str] = mapped_column(String(16))
    # Staff's words, no patient data: shown to every recipient alike.
    text: Mapped[str | None] = mapped_column(String(MAX_TEXT_CHARS))
    channels: Mapped[str] = mapped_column(String(16))  # "sms", "email" or "sms,email"
    created_by: Mapped[str] = mapped_column(String(255))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    confirmed_by: Mapped[str | None] = mapped_column(String(255))
    confirmed_at = mapped_column(UTCDateTime, nullable=True)

    location = relationship(Location, lazy="joined")

    @property
    def channel_list(self) -> list[str]:
        return [channel for channel in self.channels.split(",") if channel]

    def key(self, appointment_id: int, channel: str) -> str:
        return f"broadcast:{self.id}:{appointment_id}:{channel}"


def broadcast_id_of(dedupe_key: str) -> int | None:
    """The broadcast a notification belongs to, from its key."""
    parts = dedupe_key.split(":")
    if len(parts) == 4 and parts[0] == "broadcast" and parts[1].isdigit():
        return int(parts[1])
    return None
