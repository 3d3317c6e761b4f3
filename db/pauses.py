"""Sending paused for one clinic or one channel, set by ops (``flask --app web pause``).

One row per paused target; resuming deletes it. The history of who paused what, when and
why is the audit log's (append-only), written by the command in the same transaction.
Alert e-mails to on-call never consult this table: a pause must not silence them.
"""
from sqlalchemy import CheckConstraint, ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import UTCDateTime, db, utcnow
from db.clinic import Location
from db.statuses import Channel


class SendPause(db.Model):
    __tablename__ = "send_pauses"
    __table_args__ = (
        CheckConstraint("(location_id IS NULL) <> (channel IS NULL)", name="one_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Exactly one of the two: a clinic (all its channels) or a channel (every clinic).
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), unique=True)
    channel: Mapped[str | None] = mapped_column(String(8), unique=True)
    reason: Mapped[str] = mapped_column(String(200))
    paused_by: Mapped[str] = mapped_column(String(320))
    paused_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    location = relationship(Location)

    @property
    def target(self) -> str:
        return f"clinic {self.location.external_id}" if self.location_id else \
            f"channel {self.channel}"


def find_location(external_id: str) -> Location | None:
    return db.session.execute(select(Location).where(Location.external_id == external_id)
                              ).scalar_one_or_none()


def _existing(location: Location | None, channel: str | None) -> SendPause | None:
    column, value = ((SendPause.location_id, location.id) if location is not None
                     else (SendPause.channel, channel))
    return db.session.execute(select(SendPause).where(column == value).with_for_update()
                              ).scalar_one_or_none()


def pause(*, location: Location | None = None, channel: str | None = None, reason: str,
          by: str) -> SendPause | None:
    """Pause one target; None if it was paused already. The caller commits."""
    if (location is None) == (channel is None):
        raise ValueError("pause one clinic or one channel")
    if channel is not None and channel not in tuple(Channel):
        raise ValueError(f"unknown channel {channel!r}")
    if _existing(location, channel) is not None:
        return None
    row = SendPause(location_id=location.id if location is not None else None,
                    channel=channel, reason=reason, paused_by=by, paused_at=utcnow())
    db.session.add(row)
    db.session.flush()
    return row


def resume(*, location: Location | None = None, channel: str | None = None) -> SendPause | None:
    """Resume one target; returns the pause it ended, None if it was not paused."""
    row = _existing(location, channel)
    if row is not None:
        db.session.delete(row)
        db.session.flush()
    return row


def active() -> list[SendPause]:
    return list(db.session.execute(select(SendPause).order_by(SendPause.paused_at)).scalars())
